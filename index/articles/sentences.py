"""Sentence boundaries for the region's languages, as character spans into the original text.

A rule-based splitter: end punctuation, optional closing quotes or brackets, whitespace, then
something that can start a sentence. Abbreviations (English, Russian, Kazakh, Azerbaijani,
Turkish), initials, acronyms and numbers do not end a sentence. Every line break ends one.
"""

from __future__ import annotations

import re

SPLITTER_VERSION = 1
"""Bump when the rules below change where sentences end: stored sentence vectors are pooled over
these spans, so an index built with another version is rebuilt in full (`pipeline.changes`)."""

_ABBREVIATIONS = frozenset(
    # English
    "mr mrs ms dr prof sr jr st vs etc inc ltd co corp gen col lt sgt capt rep sen gov pres "
    "jan feb mar apr jun jul aug sep sept oct nov dec no nos fig approx dept est mt ft vol "
    "ave blvd gov univ assn bros cf al pp"
    # Russian
    " г гг т е д др пр им ул стр см тыс млн млрд руб коп св проф акад доц ст рис табл напр "
    "зам пред гос обл кв в вв ок ср нач п пп ред изд тел эт"
    # Kazakh
    " ж жж ғ ғғ б з мыс тг көш"
    # Azerbaijani
    " s səh dos akad b e ə m küç"
    # Turkish
    " vb bkz sn doç yrd av örn mah cad sok apt yy hz çev haz".split()
)
_END = re.compile(r"[.!?…]+[\"'»”’)\]]*(?=\s)")
_STARTER = re.compile(r"[\"'«“‘(\[—–-]*[\w\d]", re.UNICODE)
_ACRONYM = re.compile(r"\A(?:\w\.)+\w\Z")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Spans `(start, end)` of the sentences in `text`, whitespace trimmed, in order."""
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        spans.extend(_split_line(text, line.start(), line.end()))
    return spans


def _split_line(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    cursor = start
    for match in _END.finditer(text, start, end):
        if _is_boundary(text, cursor, match.start(), match.end(), end):
            spans.append((cursor, match.end()))
            cursor = match.end()
    spans.append((cursor, end))
    return [trimmed for s, e in spans if (trimmed := _trim(text, s, e))]


def _is_boundary(text: str, sent_start: int, punct: int, after: int, line_end: int) -> bool:
    rest = text[after:line_end].lstrip()
    starter = _STARTER.match(rest)
    if not starter:
        return False
    first_letter = starter.group(0)[-1]
    if text[punct] == "." and not text[punct:after].startswith(".."):
        word = text[sent_start:punct].rsplit(None, 1)[-1] if text[sent_start:punct].strip() else ""
        word = word.lstrip("\"'«“‘([")
        if _is_abbreviation(word):
            return False
    # A lower-case continuation is not a new sentence (e.g. "… 5 p.m. and then"); digits are.
    return not first_letter.islower()


def _is_abbreviation(word: str) -> bool:
    if not word:
        return False
    if len(word) == 1 and word.isalpha() and word.isupper():
        return True  # an initial: "J. Smith"
    if _ACRONYM.match(word):
        return True  # "U.S", "e.g", "т.е"
    return word.lower() in _ABBREVIATIONS


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None
