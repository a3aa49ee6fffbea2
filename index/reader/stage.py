"""The reader's step in answering: read the question with the top passages, put the ones that
answer first, and show the answer span in bold: inside the excerpt search chose when that
excerpt holds it, else in an excerpt built around it when the reader is sure enough."""

from __future__ import annotations

import bisect
import dataclasses
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..excerpt import choose_excerpt
from ..sentences import sentence_spans
from .runtime import OnnxReader, Reading, ensure_onnx

if TYPE_CHECKING:
    from ..retriever import Hit
    from ..settings import Settings


# How much surer than its threshold the reader must be to replace the excerpt search chose by
# one around its own answer (when its answer lies outside that excerpt). With the excerpt always
# replaced, answer@1 fell 1.3 (xquad-en) and 2.7 points (xquad-ru): docs/reader.md.
OVERRULE_MARGIN = 3.0


class ReaderStage:
    """Reads the first `passages` hits (all of them at once); with `confident` set, reads the
    first alone and the rest only when it does not answer by that margin over the threshold."""

    def __init__(
        self,
        reader: OnnxReader,
        passages: int,
        threshold: float,
        floor: float | None = None,
        confident: float | None = None,
        max_sentences: int = 3,
        max_words: int = 72,
    ) -> None:
        self.reader = reader
        self.passages = passages
        self.threshold = threshold
        self.floor = floor
        self.confident = confident
        self.max_sentences = max_sentences
        self.max_words = max_words

    @classmethod
    def from_settings(cls, settings: Settings) -> ReaderStage:
        reader = OnnxReader(ensure_onnx(settings.model_cache), precision=settings.reader_precision)
        threshold = settings.reader_threshold
        return cls(
            reader,
            settings.reader_passages,
            reader.recipe.threshold if threshold is None else threshold,
            reader.recipe.floor if settings.reader_floor is None else settings.reader_floor,
            settings.reader_confident,
            settings.excerpt_max_sentences,
            settings.excerpt_max_words,
        )

    def warm_up(self) -> None:
        """Load the session and run it once, so the first question does not wait for it."""
        self.reader.read("warm-up", ["warm-up"])

    def rerank(self, question: str, hits: Sequence[Hit]) -> list[Hit]:
        """The hits the reader found an answer in first (best first), then the others in the
        order search gave them."""
        n = min(self.passages, len(hits))
        readings = self.reader.read(question, [h.passage for h in hits[: min(n, 1)]])
        first = readings[0] if readings else None
        if n > 1 and not (
            self.confident is not None
            and first is not None
            and first.score >= self.threshold + self.confident
        ):
            readings += self.reader.read(question, [h.passage for h in hits[1:n]])
        return self._ranked(question, hits, readings)

    def rerank_many(self, asked: Sequence[tuple[str, Sequence[Hit]]]) -> list[list[Hit]]:
        """`rerank` for several questions, their passages read together (the bot's batch of
        waiting questions): the same order and spans, for less of the cores."""
        if self.confident is not None:  # reads in two steps: question by question
            return [self.rerank(question, hits) for question, hits in asked]
        wanted = [
            (question, hit.passage)
            for question, hits in asked
            for hit in hits[: min(self.passages, len(hits))]
        ]
        readings = iter(self.reader.read_pairs(wanted))
        out = []
        for question, hits in asked:
            mine = [next(readings) for _ in range(min(self.passages, len(hits)))]
            out.append(self._ranked(question, hits, mine))
        return out

    def _ranked(
        self, question: str, hits: Sequence[Hit], readings: Sequence[Reading | None]
    ) -> list[Hit]:
        read = [self._with(question, h, r) for h, r in zip(hits, readings, strict=False)]
        answering = sorted(
            (h for h in read if h.reader_score is not None and h.reader_score >= self.threshold),
            key=lambda h: -(h.reader_score or 0.0),
        )
        ranked = answering + [h for h in read if h not in answering] + list(hits[len(read) :])
        return [dataclasses.replace(h, rank=i) for i, h in enumerate(ranked, start=1)]

    def _with(self, question: str, hit: Hit, reading: Reading | None) -> Hit:
        if reading is None:
            return dataclasses.replace(hit, reader_score=-1e9)
        if reading.score < self.threshold:
            return dataclasses.replace(hit, reader_score=reading.score)
        base = hit.passage_start
        span = dataclasses.replace(
            hit,
            reader_score=reading.score,
            answer_start=base + reading.start,
            answer_end=base + reading.end,
        )
        if hit.excerpt_start <= base + reading.start and base + reading.end <= hit.excerpt_end:
            return span  # the excerpt search chose holds the answer: keep it, the answer in bold
        if reading.score < self.threshold + OVERRULE_MARGIN:
            return dataclasses.replace(hit, reader_score=reading.score)
        start, end = excerpt_around(
            hit.passage, question, reading, self.max_sentences, self.max_words
        )
        return dataclasses.replace(
            span, excerpt=hit.passage[start:end], excerpt_start=base + start, excerpt_end=base + end
        )


def excerpt_around(
    passage: str, question: str, reading: Reading, max_sentences: int, max_words: int
) -> tuple[int, int]:
    """The excerpt (passage characters) built around the sentence that holds the answer span,
    widened with its neighbours as `choose_excerpt` does; cut around the span when that
    sentence alone is too long."""
    spans = sentence_spans(passage)
    best = max(bisect.bisect_right([s for s, _ in spans], reading.start) - 1, 0)
    ex = choose_excerpt(passage, question, max_sentences, max_words, best=best)
    if ex.start <= reading.start and reading.end <= ex.end:
        return ex.start, ex.end
    words = [m.span() for m in re.finditer(r"\S+", passage)]
    inside = [i for i, (s, e) in enumerate(words) if e > reading.start and s < reading.end]
    if not inside:
        return ex.start, ex.end
    half = max((max_words - len(inside)) // 2, 0)
    lo = max(inside[0] - half, 0)
    hi = min(inside[-1] + half, len(words) - 1)
    return words[lo][0], words[hi][1]
