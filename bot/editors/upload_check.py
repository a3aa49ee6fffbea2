"""Checking a document an admin sends before it goes into the corpus. Pure but for `save`."""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from pathlib import Path

from index.articles import SUFFIXES, read_article_bytes
from index.errors import ArticleError, KhabarError

UPLOAD_FOLDER = "uploads"


class UploadRefused(KhabarError):
    """The document cannot go into the corpus; the message says why."""


def printable(text: str) -> str:
    """`text` with control and format characters (NUL, RTL overrides, …) shown as "?"."""
    return "".join("?" if unicodedata.category(c) in ("Cc", "Cf") else c for c in text)


def safe_name(name: str | None) -> str:
    """A plain file name: no folders, no dots in front, no control characters, a known type."""
    raw = unicodedata.normalize("NFC", name or "")
    raw = raw.replace("\\", "/").split("/")[-1]
    cleaned = re.sub(r"[^\w.\- ]", "_", raw, flags=re.UNICODE).strip(" .")
    cleaned = re.sub(r"_+", "_", cleaned)[:120]
    stem, dot, suffix = cleaned.rpartition(".")
    if not dot or not stem.strip("_ ") or f".{suffix.lower()}" not in SUFFIXES:
        raise UploadRefused(f"send a {', '.join(SUFFIXES)} file with a plain name")
    return f"{stem}.{suffix.lower()}"


def check(name: str, data: bytes, max_bytes: int) -> None:
    if not data:
        raise UploadRefused("the file is empty")
    if len(data) > max_bytes:
        raise UploadRefused(f"the file is larger than {max_bytes // 1000} kB")
    try:
        result = read_article_bytes(name, data)
    except ArticleError as exc:
        raise UploadRefused(str(exc)) from None
    if not result.articles:
        raise UploadRefused("no article could be read from it")


def target(corpus: Path, name: str) -> Path:
    path = (corpus / UPLOAD_FOLDER / name).resolve()
    if corpus.resolve() not in path.parents:
        raise UploadRefused("the file name points outside the corpus")
    return path


def save(path: Path, data: bytes, replace: bool) -> None:
    """Write atomically (temporary file + rename), refusing to overwrite unless asked."""
    if path.exists() and not replace:
        raise FileExistsError(path.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
