"""Turning a file's bytes into text: UTF-8 first, then detection (real archives mix encodings)."""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

from .errors import ArticleError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(data: bytes) -> str:
    """Decode article bytes; raise `ArticleError` for empty or binary files."""
    if not data.strip():
        raise ArticleError("the file is empty")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    if b"\x00" in data[:8192]:
        raise ArticleError("the file is binary, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        raise ArticleError("the file's text encoding could not be detected; save it as UTF-8")
    return str(best)
