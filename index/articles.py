"""Reading article files of every supported format into `Article` values.

Pure functions of bytes and a relative path, plus `iter_corpus_files` to walk a folder. A file
that cannot be read raises `ArticleError`; lesser problems (one bad line of a `.jsonl`) are
returned beside the articles that could be read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .encoding import decode_text
from .errors import ArticleError

READER_VERSION = 3
"""Bump when reading changes what an article's text or metadata is: every file is re-read by
the next build (only articles whose content actually changed are embedded again)."""
SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".jsonl")
_DATE_PREFIX = re.compile(r"\A\s*date[:\s]\s*(\d{4}-\d{2}-\d{2})\b[ \t]*\n?[ \t]*", re.IGNORECASE)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_MD_HEADING = re.compile(r"\A#\s+(.+?)\s*#*\s*(?:\n|\Z)")
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


def iter_corpus_files(corpus_dir: Path) -> Iterator[Path]:
    """Every article file under `corpus_dir`, subfolders included, hidden ones skipped, sorted."""
    found: list[tuple[list[str], str]] = []
    for folder, dirs, files in os.walk(corpus_dir):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        parts = Path(folder).relative_to(corpus_dir).parts
        for name in files:
            if name.startswith(".") or os.path.splitext(name)[1].lower() not in SUFFIXES:
                continue
            path = os.path.join(folder, name)
            if os.path.isfile(path):  # not a broken link or a socket
                found.append(([*parts, name], path))
    for _, path in sorted(found):  # by path components, as Path objects sort
        yield Path(path)


def read_article_bytes(rel_path: str, data: bytes) -> FileResult:
    """Parse one file's bytes. `rel_path` (posix, inside the corpus) becomes the article id."""
    suffix = Path(rel_path).suffix.lower()
    if suffix not in SUFFIXES:
        raise ArticleError(f"unsupported file type {suffix or '(none)'}; use {', '.join(SUFFIXES)}")
    text = decode_text(data)
    if suffix in (".html", ".htm"):
        from .html_reader import read_html  # trafilatura is slow to import: only when needed

        return FileResult([read_html(rel_path, text)])
    if suffix == ".jsonl":
        return _read_jsonl(rel_path, text)
    return FileResult([_read_text(rel_path, text)])


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


def _read_text(rel_path: str, raw: str) -> Article:
    raw = raw.lstrip("\ufeff")
    meta: dict[str, Any] = {}
    match = _FRONT_MATTER.match(raw)
    if match:
        meta = _parse_front_matter(match.group(1))
        raw = raw[match.end() :]
    text = clean_text(raw)
    date = _as_date(meta.get("date"))
    prefix = _DATE_PREFIX.match(text)
    if prefix:
        date = date or prefix.group(1)
        text = text[prefix.end() :]
    title = _as_str(meta.get("title"))
    if not title:
        title, text = _title_from_body(
            text, markdown=rel_path.lower().endswith((".md", ".markdown"))
        )
    if not text.strip():
        raise ArticleError("the article has no text")
    return Article(
        id=rel_path,
        text=text,
        title=title or derive_title(text),
        date=date,
        source=_as_str(meta.get("source")),
        url=_as_url(meta.get("url")),
        lang=_as_str(meta.get("lang") or meta.get("language")),
        author=_as_str(meta.get("author")),
    )


def _title_from_body(text: str, markdown: bool) -> tuple[str, str]:
    """Take a leading `# Heading` or a short first line followed by a blank line as the title."""
    heading = _MD_HEADING.match(text) if markdown else None
    if heading:
        return heading.group(1).strip(), text[heading.end() :].lstrip("\n")
    first, sep, rest = text.partition("\n\n")
    # A headline is short and does not end like a sentence ("Ad sales boost Time Warner profit").
    if (
        sep
        and rest.strip()
        and 0 < len(first) <= 200
        and not first.rstrip().endswith((".", ",", ";", ":"))
    ):
        return first.strip(), rest
    return "", text


def _parse_front_matter(block: str) -> dict[str, Any]:
    try:
        meta = yaml.safe_load(block)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        raise ArticleError(f"front matter is not valid YAML{where}: fix or remove it") from None
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise ArticleError("front matter must be 'key: value' lines (title, date, source, url…)")
    return {str(k).lower(): v for k, v in meta.items()}


def _read_jsonl(rel_path: str, text: str) -> FileResult:
    result = FileResult()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            body = clean_text(str(record.get("text") or ""))
            if not body:
                raise ValueError('no "text"')
            title = _as_str(record.get("title")) or derive_title(body)
            result.articles.append(
                Article(
                    id=f"{rel_path}#{number}",
                    text=body,
                    title=clean_text(title),
                    date=_as_date(record.get("date")),
                    source=_as_str(record.get("source")),
                    url=_as_url(record.get("url")),
                    lang=_as_str(record.get("lang")),
                    author=_as_str(record.get("author")),
                )
            )
        except (ValueError, ArticleError) as exc:
            result.problems.append(f"{rel_path} line {number}: skipped ({exc})")
    if not result.articles and not result.problems:
        raise ArticleError("the file has no articles")
    return result


def _as_str(value: object) -> str | None:
    if value is None:
        return None
    text = clean_text(str(value))
    return text or None


def _as_url(value: object) -> str | None:
    """Only http(s) links are kept: anything else (javascript:, data:) is dropped."""
    text = _as_str(value)
    if text and re.match(r"https?://[^\s<>\"']+\Z", text, re.IGNORECASE):
        return text
    return None


def _as_date(value: object) -> str | None:
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
