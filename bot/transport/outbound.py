"""Outgoing calls: python-telegram-bot's AIORateLimiter (flood limits, 429 with retry_after),
plus retries of Telegram's 5xx answers, which it does not retry.

A 5xx means Telegram did not process the call, so repeating it cannot duplicate a message.
Timeouts are not retried: the message may have been sent, and a reader should not get it twice;
except a timeout waiting for a free connection, when the request was never sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)
Result = bool | dict[str, Any] | list[dict[str, Any]]


class RetryingRateLimiter(AIORateLimiter):
    def __init__(
        self,
        max_retries: int = 5,
        server_error_retries: int = 4,
        backoff: float = 0.5,
        overall_max_rate: float = 30,
    ) -> None:
        super().__init__(max_retries=max_retries, overall_max_rate=overall_max_rate)
        self._server_error_retries = server_error_retries
        self._backoff = backoff

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        attempt = 0
        while True:
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except BadRequest:
                raise
            except NetworkError as exc:
                # A timeout may have sent the message: repeated only when it came while waiting
                # for a free connection (every one busy, as in a flood), before sending.
                repeat = _not_sent(exc) if isinstance(exc, TimedOut) else endpoint != "getUpdates"
                if not repeat or attempt >= self._server_error_retries:
                    raise
                attempt += 1
                delay = self._backoff * 2 ** (attempt - 1)
                log.warning("%s failed (%s); retry %d in %.1f s", endpoint, exc, attempt, delay)
                await asyncio.sleep(delay)


def _not_sent(exc: TimedOut) -> bool:
    """Whether python-telegram-bot gave up waiting for a connection, before sending."""
    import httpx

    return isinstance(exc.__cause__, httpx.PoolTimeout)
