"""Reading article files of every supported format into `Article` values.

Pure functions of bytes and a relative path, plus `iter_corpus_files` to walk a folder. A file
that cannot be read raises `ArticleError`; lesser problems (one bad line of a `.jsonl`) are
returned beside the articles that could be read.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from ..errors import ArticleError
from .article import Article, FileResult, as_date, as_str, as_url, clean_text, derive_title
from .encoding import decode_text

READER_VERSION = 3
"""Bump when reading changes what an article's text or metadata is: every file is re-read by
the next build (only articles whose content actually changed are embedded again)."""
SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".jsonl")
_DATE_PREFIX = re.compile(r"\A\s*date[:\s]\s*(\d{4}-\d{2}-\d{2})\b[ \t]*\n?[ \t]*", re.IGNORECASE)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_MD_HEADING = re.compile(r"\A#\s+(.+?)\s*#*\s*(?:\n|\Z)")


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
        from .html import read_html  # trafilatura is slow to import: only when needed

        return FileResult([read_html(rel_path, text)])
    if suffix == ".jsonl":
        return _read_jsonl(rel_path, text)
    return FileResult([_read_text(rel_path, text)])


def _read_text(rel_path: str, raw: str) -> Article:
    raw = raw.lstrip("\ufeff")
    meta: dict[str, Any] = {}
    match = _FRONT_MATTER.match(raw)
    if match:
        meta = _parse_front_matter(match.group(1))
        raw = raw[match.end() :]
    text = clean_text(raw)
    date = as_date(meta.get("date"))
    prefix = _DATE_PREFIX.match(text)
    if prefix:
        date = date or prefix.group(1)
        text = text[prefix.end() :]
    title = as_str(meta.get("title"))
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
        source=as_str(meta.get("source")),
        url=as_url(meta.get("url")),
        lang=as_str(meta.get("lang") or meta.get("language")),
        author=as_str(meta.get("author")),
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
            title = as_str(record.get("title")) or derive_title(body)
            result.articles.append(
                Article(
                    id=f"{rel_path}#{number}",
                    text=body,
                    title=clean_text(title),
                    date=as_date(record.get("date")),
                    source=as_str(record.get("source")),
                    url=as_url(record.get("url")),
                    lang=as_str(record.get("lang")),
                    author=as_str(record.get("author")),
                )
            )
        except (ValueError, ArticleError) as exc:
            result.problems.append(f"{rel_path} line {number}: skipped ({exc})")
    if not result.articles and not result.problems:
        raise ArticleError("the file has no articles")
    return result
