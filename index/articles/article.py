"""An article as Khabar keeps it, and how its text and metadata are normalised, whatever the
file it came from (`formats.py` reads the files, `html.py` news pages)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\ufeff]")
_TITLE_WORDS = 12


@dataclass(frozen=True)
class Article:
    """One article: its text and where it came from. `id` is stable across builds."""

    id: str
    text: str
    title: str
    date: str | None = None
    source: str | None = None
    url: str | None = None
    lang: str | None = None
    author: str | None = None

    @property
    def content_hash(self) -> str:
        payload = json.dumps(
            [self.title, self.text, self.date, self.source, self.url, self.lang, self.author],
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass
class FileResult:
    articles: list[Article] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def titled(title: str, passage: str) -> str:
    """A passage as every model and ranking reads it: its article's title gives it context."""
    return f"{title}\n{passage}"


def clean_text(text: str) -> str:
    """Normalise newlines and drop control and zero-width characters; keep everything else."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub("", text)
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def derive_title(text: str) -> str:
    """A title for an article that has none: its first words."""
    first = text.strip().split("\n", 1)[0]
    words = first.split()
    if len(words) <= _TITLE_WORDS:
        return " ".join(words).rstrip(".") or "Untitled"
    return " ".join(words[:_TITLE_WORDS]).rstrip(",;:.") + "…"


def as_str(value: object) -> str | None:
    if value is None:
        return None
    text = clean_text(str(value))
    return text or None


def as_url(value: object) -> str | None:
    """Only http(s) links are kept: anything else (javascript:, data:) is dropped."""
    text = as_str(value)
    if text and re.match(r"https?://[^\s<>\"']+\Z", text, re.IGNORECASE):
        return text
    return None


def as_date(value: object) -> str | None:
    """An ISO date (YYYY-MM-DD) from a YAML date, a datetime or a string starting with one."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        match = re.match(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})", value)
        if match:
            try:
                return dt.date(*(int(g) for g in match.groups())).isoformat()
            except ValueError:
                return None
    return None
