"""Secrets never reach the logs: every log record is scrubbed of them when it is created.

Installed through the log-record factory, so it covers every logger and every handler
(python-telegram-bot's and httpx's request lines carry the bot token in their URLs),
including tracebacks attached to a record.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from urllib.parse import urlsplit

MASK = "[redacted]"
MIN_SECRET = 6  # shorter strings would mask ordinary words

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def redact_secrets(secrets: Iterable[str | None]) -> None:
    """From now on, these strings (and a bot token's part after the colon) are masked in logs."""
    global _installed
    found: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        found.add(secret)
        if ":" in secret:  # a bot token: "<bot id>:<secret part>"
            found.add(secret.split(":", 1)[1])
    with _lock:
        _secrets.update(s for s in found if len(s) >= MIN_SECRET)
        if not _installed:
            _install()
            _installed = True


def url_password(url: str) -> str | None:
    """The password in a URL like postgresql://user:password@host/db, if it has one."""
    if "://" not in url:
        return None
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def scrub(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _install() -> None:
    make = logging.getLogRecordFactory()
    formatter = logging.Formatter()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make(*args, **kwargs)
        if not _secrets:
            return record
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error report
            return record
        # Frozen now: arguments are often live objects that may later hold a secret (a File's
        # download URL carries the token) by the time a queued handler formats them.
        record.msg, record.args = scrub(message), None
        if record.exc_info:
            record.exc_text = scrub(formatter.formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return record

    logging.setLogRecordFactory(factory)
