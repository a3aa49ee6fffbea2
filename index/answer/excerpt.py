"""Choosing the excerpt a reader sees: the sentences of a passage that answer the question.

Pure functions on strings. Sentences are scored by the question's words they contain (stemmed,
stop words dropped, as the lexical index reads them: `lexical.terms`), with a nudge toward dates
for "when" and year questions, and toward an answer of the kind asked for number and percentage
questions (the reader's `kinds`, in six languages); the best sentence is widened with its
neighbours while they help and the excerpt stays short enough to read on a phone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..articles import lexical
from ..articles.sentences import sentence_spans
from ..reader import kinds

_YEAR_OR_DATE = re.compile(
    r"\b(1[5-9]\d\d|20\d\d)\b|\b(january|february|march|april|may|june|july|august|september|"
    r"october|november|december|январ|феврал|март|апрел|ма[йя]|июн|июл|август|сентябр|октябр|"
    r"ноябр|декабр)",
    re.IGNORECASE,
)
# "When" in every language a question may come in; questions for a year, a percentage or a
# number are told by `kinds.expected`, the reader's own words for them.
_WHEN = re.compile(r"\b(when|когда|ne zaman|nə vaxt|қашан|qachon)", re.I)
# Added to a sentence's words score: a date for a "when" or year question, an answer of the
# kind asked for a number or a percentage.
DATE_NUDGE = 1.0
KIND_NUDGE = 0.5


@dataclass(frozen=True)
class Excerpt:
    """Character spans relative to the passage: the whole excerpt and its best sentence."""

    start: int
    end: int
    best_start: int
    best_end: int
    best: int = 0  # which of `sentence_spans(passage)` the best sentence is


def question_terms(question: str) -> tuple[set[str], str]:
    """The question's stems and language, as the lexical index (`lexical.terms`) sees them."""
    lang = lexical.guess_language(question)
    return set(lexical.terms(question, lang)), lang


def score_sentence(
    sentence: str,
    terms: set[str],
    question: str,
    lang: str,
    kind: kinds.Kind | None = None,
    holds_kind: bool = False,
) -> float:
    """The question's stems in the sentence (longer stems count more), and a nudge toward
    dates for "when" and year questions, and toward an answer of the kind asked
    (`holds_kind`) for number and percentage questions."""
    stems = set(lexical.terms(sentence, lang))
    score = sum(1.0 + min(len(t), 5) / 5 for t in terms & stems)
    if (kind is kinds.Kind.YEAR or _WHEN.search(question)) and _YEAR_OR_DATE.search(sentence):
        score += DATE_NUDGE
    if kind in (kinds.Kind.NUMBER, kinds.Kind.PERCENT) and holds_kind:
        score += KIND_NUDGE
    return score


def sentence_scores(
    passage: str,
    spans: Sequence[tuple[int, int]],
    question: str,
    dense: Sequence[float] | None = None,
    lexical_weight: float = 1.0,
) -> list[float]:
    """How well each sentence answers: shared words, plus the model's similarity when given.

    Both are scaled to 0–1 within the passage, so neither depends on the model's score range.
    """
    terms, lang = question_terms(question)
    kind = kinds.expected(question)
    found = kinds.answers(kind, passage) if kind is not None else []
    words = [
        score_sentence(
            passage[s:e], terms, question, lang, kind, any(s <= a and b <= e for a, b in found)
        )
        for s, e in spans
    ]
    top = max(words, default=0.0)
    words = [x / top for x in words] if top > 0 else [0.0] * len(spans)
    if not dense:
        return words
    low, high = min(dense), max(dense)
    scaled = [(d - low) / (high - low) if high > low else 1.0 for d in dense]
    return [d + lexical_weight * x for d, x in zip(scaled, words, strict=True)]


def choose_excerpt(
    passage: str,
    question: str,
    max_sentences: int = 3,
    max_words: int = 60,
    min_words: int = 25,
    dense: Sequence[float] | None = None,
    reader: Sequence[float] | None = None,
) -> Excerpt:
    """The excerpt of `passage` that best answers `question`.

    `dense`, when given, is the model's similarity of the question to each sentence of
    `sentence_spans(passage)`, in order; `reader`, when given, is added to each sentence's
    score (the reader's belief that the answer lies in it).
    """
    spans = sentence_spans(passage)
    if not spans:
        return Excerpt(0, len(passage), 0, len(passage))
    if dense is not None and len(dense) != len(spans):
        dense = None  # not this passage's sentences: words alone decide
    scores = sentence_scores(passage, spans, question, dense)
    if reader is not None and len(reader) == len(spans):
        scores = [s + r for s, r in zip(scores, reader, strict=True)]
    best = max(range(len(spans)), key=lambda i: (scores[i], -i))
    words = [len(passage[s:e].split()) for s, e in spans]
    lo = hi = best
    while hi - lo + 1 < max_sentences:
        candidates = [i for i in (hi + 1, lo - 1) if 0 <= i < len(spans)]
        if not candidates:
            break
        total = sum(words[lo : hi + 1])
        helpful = [
            i
            for i in candidates
            if scores[i] > 0 and scores[i] >= 0.3 * scores[best] and total + words[i] <= max_words
        ]
        if helpful:
            pick = max(helpful, key=lambda i: scores[i])
        elif total < min_words and total + words[candidates[0]] <= max_words:
            pick = candidates[0]
        else:
            break
        lo, hi = min(lo, pick), max(hi, pick)
    start, end = spans[lo][0], spans[hi][1]
    best_start, best_end = spans[best]
    if sum(words[lo : hi + 1]) > max_words:
        start, end = _shorten(passage, best_start, best_end, max_words)
        best_start, best_end = start, end
    return Excerpt(start, end, best_start, best_end, best)


def _shorten(passage: str, start: int, end: int, max_words: int) -> tuple[int, int]:
    """Cut an over-long sentence at a word boundary (the renderer adds the ellipsis)."""
    words = list(re.finditer(r"\S+", passage[start:end]))
    if len(words) <= max_words:
        return start, end
    return start, start + words[max_words - 1].end()
