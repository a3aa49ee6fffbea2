"""Turning a file's bytes into text: UTF-8 first, then detection (real archives mix encodings).

Detection is charset-normalizer's, narrowed to the encodings news archives of the region
actually use (Windows and ISO code pages for Western, Cyrillic and Turkish text, KOI8, UTF-16):
on short texts it otherwise ranks far-fetched code pages first (a single "£" reads as Japanese).
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from ..errors import ArticleError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# In order of preference when the evidence is even.
_PLAUSIBLE = (
    "cp1252",
    "latin_1",
    "cp1251",
    "cp1254",
    "iso8859_9",
    "koi8_r",
    "koi8_u",
    "cp866",
    "iso8859_5",
    "mac_cyrillic",
    "iso8859_15",
    "utf_16",
)
# Letters that real text of the region almost never has, but mis-decoded Turkish or
# Cyrillic text is full of (þ, ý, ð from cp1254/cp1251 bytes read as cp1252), and C1 controls.
_UNLIKELY = re.compile(r"[ÐðÞþÝý\x80-\x9f]")


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
    return _detect(data)


def _detect(data: bytes) -> str:
    best: tuple[float, int, str] | None = None
    for match in from_bytes(data):
        if match.encoding not in _PLAUSIBLE:
            continue
        text = str(match)
        non_ascii = sum(1 for ch in text if ord(ch) > 127) or 1
        unlikely = len(_UNLIKELY.findall(text)) / non_ascii
        score = match.coherence - match.chaos - unlikely
        candidate = (score, -_PLAUSIBLE.index(match.encoding), text)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    if best is None:
        raise ArticleError("the file's text encoding could not be detected; save it as UTF-8")
    return best[2]
