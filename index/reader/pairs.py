"""The reader's input and output, pure: a question and a passage as one token sequence
(`<s> query: Q </s></s> P </s>`, XLM-RoBERTa's pair layout), and the best answer span back
from the start and end logits. Training and answering both build their inputs here, so the
model never sees at answer time a layout it was not trained on."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

QUESTION_PREFIX = "query: "  # e5's own prefix for questions
MAX_QUESTION_TOKENS = 48
MAX_ANSWER_TOKENS = 30
MAX_KIND_TOKENS = 10  # an answer of a kind (`kinds`): a year, a number, a percentage
NEGATIVE = -1e4  # a logit no real position reaches: positions that cannot start or end a span


_MONTH = (
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?|январ\w*|феврал\w*|"
    r"март\w*|апрел\w*|ма[йя]|июн\w*|июл\w*|август\w*|сентябр\w*|октябр\w*|ноябр\w*|"
    r"декабр\w*|yanvar|fevral|aprel|iyun|iyul|avqust|sentyabr|oktyabr|noyabr|dekabr|ocak|"
    r"şubat|nisan|mayıs|haziran|temmuz|ağustos|eylül|ekim|kasım|aralık|қаңтар\w*|ақпан\w*|"
    r"наурыз\w*|сәуір\w*|мамыр\w*|маусым\w*|шілде\w*|тамыз\w*|қыркүйек\w*|қазан\w*|"
    r"қараша\w*|желтоқсан\w*"
)
_PLACE = r"[^\W\d_]+(?:[ .'-]+[^\W\d_]+){0,2}"  # one to three words, no digits
# A news dateline that opens a passage: PLACE, [COUNTRY,] DATE, then "." or a dash ("BAKU,
# Azerbaijan, October 18.", "Москва, 18 октября —"), after an ISO date at most.
_DATELINE = re.compile(
    rf"^\W*(?:\w+\s+\d{{4}}-\d\d-\d\d\s+)?{_PLACE},\s+(?:{_PLACE},\s+)?"
    rf"(?:(?:{_MONTH})\s+\d{{1,2}}|\d{{1,2}}\s+(?:{_MONTH}))(?:,?\s+\d{{4}})?\s*(?:\.|[–—-])",
    re.IGNORECASE,
)


def dateline_end(passage: str) -> int:
    """Where a dateline that opens the passage ends (0: none). It says when the article was
    written, which the citation already shows, and never answers a question about the news:
    the reader points at it for "when" questions it cannot answer, so no span starts in it."""
    found = _DATELINE.match(passage)
    return found.end() if found else 0


@dataclass(frozen=True)
class Specials:
    bos: int
    eos: int
    pad: int


@dataclass(frozen=True)
class Pair:
    """One model input. Passage token i of the window sits at `first + i` in `ids` and covers
    characters `offsets[i]` of the passage."""

    ids: list[int]
    first: int
    offsets: list[tuple[int, int]]

    @property
    def last(self) -> int:  # one past the last passage token
        return self.first + len(self.offsets)


def passage_budget(question_tokens: int, max_length: int) -> int:
    return max_length - min(question_tokens, MAX_QUESTION_TOKENS) - 4


def make_pair(
    question_ids: Sequence[int],
    passage_ids: Sequence[int],
    passage_offsets: Sequence[tuple[int, int]],
    specials: Specials,
    max_length: int,
    window_start: int = 0,
) -> Pair:
    """The question (cut to MAX_QUESTION_TOKENS) and the passage's tokens from `window_start`,
    as many as fit in `max_length`."""
    question = list(question_ids[:MAX_QUESTION_TOKENS])
    end = window_start + passage_budget(len(question), max_length)
    ids = [specials.bos, *question, specials.eos, specials.eos]
    first = len(ids)
    ids += list(passage_ids[window_start:end])
    ids.append(specials.eos)
    return Pair(ids, first, list(passage_offsets[window_start:end]))


def token_span(offsets: Sequence[tuple[int, int]], start: int, end: int) -> tuple[int, int] | None:
    """The first and last token (window positions) covering characters [start, end), or None
    when the window does not hold all of it."""
    first = next((i for i, (s, e) in enumerate(offsets) if e > start), None)
    last = next((i for i in range(len(offsets) - 1, -1, -1) if offsets[i][0] < end), None)
    if first is None or last is None or last < first:
        return None
    if offsets[first][0] > start or offsets[last][1] < end:
        return None  # the answer runs past the window
    return first, last


def allowed_mask(length: int, first: int, last: int) -> np.ndarray:
    """Positions that may start or end a span: `<s>` (no answer) and the passage's tokens."""
    mask = np.zeros(length, dtype=bool)
    mask[0] = True
    mask[first:last] = True
    return mask


@dataclass(frozen=True)
class Span:
    """The best span in window positions (`start`..`end` inclusive) and how sure: `score` is
    its logit sum minus the no-answer logit sum (above 0: the model thinks it answers)."""

    start: int
    end: int
    score: float


def best_span(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    first: int,
    last: int,
    must: np.ndarray | None = None,
) -> Span | None:
    """The highest-scoring span of at most MAX_ANSWER_TOKENS passage tokens, as window
    positions (0 = the passage's first token); None for an empty passage. With `must` (a
    flag per window position), only spans of at most MAX_KIND_TOKENS that start and end at
    flagged tokens ("14%", "5 million"; not a sentence around one): None where there is none."""
    if last <= first:
        return None
    null = float(start_logits[0] + end_logits[0])
    if must is not None:
        return _flagged_span(start_logits, end_logits, first, last, must, null)
    s = np.asarray(start_logits[first:last], dtype=np.float64)
    e = np.asarray(end_logits[first:last], dtype=np.float64)
    n = len(s)
    grid = s[:, None] + e[None, :]
    i, j = np.indices((n, n))
    grid[(j < i) | (j - i >= MAX_ANSWER_TOKENS)] = -np.inf
    start, end = divmod(int(np.argmax(grid)), n)
    return Span(start, end, float(grid[start, end]) - null)


def _flagged_span(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    first: int,
    last: int,
    must: np.ndarray,
    null: float,
) -> Span | None:
    """`best_span` among spans that start and end at flagged positions (a few of a passage's
    hundreds: only those pairs are scored)."""
    at = np.flatnonzero(np.asarray(must[first:last], dtype=bool))
    if not len(at):
        return None
    s = np.asarray(start_logits, dtype=np.float64)[first + at]
    e = np.asarray(end_logits, dtype=np.float64)[first + at]
    grid = s[:, None] + e[None, :]
    gap = at[None, :] - at[:, None]
    grid[(gap < 0) | (gap >= MAX_KIND_TOKENS)] = -np.inf
    a, b = divmod(int(np.argmax(grid)), len(at))
    if not np.isfinite(grid[a, b]):
        return None
    return Span(int(at[a]), int(at[b]), float(grid[a, b]) - null)


def sentence_best(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    pair: Pair,
    sentences: Sequence[tuple[int, int]],
    must: np.ndarray | None = None,
) -> list[Span | None]:
    """For each sentence (character spans of the passage), the best span that lies inside it,
    in window positions, scored as `best_span` scores; None for a sentence the window does not
    reach (or, with `must`, without such a span). A token belongs to the sentence its
    first character falls in."""
    out: list[Span | None] = [None] * len(sentences)
    if not sentences or not pair.offsets:
        return out
    starts = [s for s, _ in sentences]
    owner = [max(bisect.bisect_right(starts, s) - 1, 0) for s, _ in pair.offsets]
    first = 0
    while first < len(owner):
        last = first
        while last < len(owner) and owner[last] == owner[first]:
            last += 1
        span = best_span(start_logits, end_logits, pair.first + first, pair.first + last, must)
        if span is not None:
            # best_span counts from its `first`; back to window positions of the whole passage
            out[owner[first]] = Span(span.start + first, span.end + first, span.score)
        first = last
    return out
