"""The reader's step in answering: read the question with the top passages, give each its
reader score (which `decision.decide` uses to answer or decline, and to choose the passage shown
first), choose each excerpt with the reader's belief of where the answer lies added to
search's sentence scores, and show the answer span in bold when the excerpt holds it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..articles import lexical
from ..reader import contrast
from ..reader import model as reader_model
from ..reader.pairs import NEGATIVE
from ..reader.routing import ByLanguage
from ..reader.runtime import OnnxReader, Reading, ensure_onnx
from . import decision
from .excerpt import choose_excerpt

if TYPE_CHECKING:
    from ..settings import Settings
    from .decision import Rule
    from .hits import Hit


# The reader's per-sentence span scores become beliefs (a softmax at this temperature, in
# logits) that join the sentence scores search uses (words and the model's similarity, each
# 0-1) when the excerpt is chosen, times `reader_excerpt_weight` (docs/reader.md).
READER_TEMPERATURE = 4.0
# The reader's span is shown in bold from this far under its threshold (else the sentence is):
# on xquad-en's passages scored 2 logits under it, its span held half the answer's words (token
# F1 0.51), the sentence 0.14; further under, 0.2-0.24 (docs/reader.md).
BOLD_MARGIN = 2.0


class ReaderStage:
    """Reads the first hit, and the next ones up to `passages` only where they may change the
    passage shown first: when the first answers, but not by `confident` over the threshold."""

    def __init__(
        self,
        reader: OnnxReader | ByLanguage,
        passages: int,
        threshold: float,
        floor: float | None = None,
        confident: float | None = None,
        cross_floor: float | None = None,
        max_sentences: int = 3,
        max_words: int = 72,
        excerpt_weight: float = 1.0,
        contrast_margin: float = float("inf"),
        cross_threshold: float | None = None,
    ) -> None:
        self.reader = reader
        # Across languages, the threshold of the reader that reads such pairs (None: `threshold`)
        self.cross_threshold = cross_threshold
        self.passages = passages
        self.threshold = threshold
        self.floor = floor
        self.cross_floor = cross_floor
        self.confident = confident
        self.max_sentences = max_sentences
        self.max_words = max_words
        self.excerpt_weight = excerpt_weight
        self.contrast_margin = contrast_margin

    @classmethod
    def from_settings(cls, settings: Settings) -> ReaderStage:
        def onnx_reader(configured: Path | None, shipped: Path, setting: str) -> OnnxReader:
            """The reader in `configured` (a setting's folder), else the shipped one; a
            damaged folder a setting names is refused naming the setting."""
            weights = configured or shipped
            try:
                return OnnxReader(
                    ensure_onnx(settings.model_cache, weights),
                    precision=settings.reader_precision,
                    weights_dir=weights,
                    kind_margin=settings.reader_kind_margin
                    if settings.reader_kinds == "on"
                    else None,
                    match_weight=settings.reader_match_weight,
                )
            except reader_model.ReaderUnavailable as exc:
                if configured is None:
                    raise
                raise reader_model.ReaderUnavailable(
                    f"{exc} ({setting} names this folder: unset it for the shipped one)"
                ) from None

        within = onnx_reader(
            settings.reader_weights, reader_model.WEIGHTS_DIR, "KHABAR_READER_WEIGHTS"
        )
        reader: OnnxReader | ByLanguage = within
        cross = within.recipe
        if settings.reader_across == "on":
            try:
                across = onnx_reader(
                    settings.reader_across_weights,
                    reader_model.ACROSS_WEIGHTS_DIR,
                    "KHABAR_READER_ACROSS_WEIGHTS",
                )
            except reader_model.ReaderUnavailable as exc:
                raise reader_model.ReaderUnavailable(
                    f"{exc} (this is the reader across languages: KHABAR_READER_ACROSS=off "
                    "reads every pair with the first)"
                ) from None
            reader, cross = ByLanguage(within, across), across.recipe
        threshold = settings.reader_threshold
        return cls(
            reader,
            settings.reader_passages,
            within.recipe.threshold if threshold is None else threshold,
            within.recipe.floor if settings.reader_floor is None else settings.reader_floor,
            settings.reader_confident,
            cross.cross_floor
            if settings.reader_cross_floor is None
            else settings.reader_cross_floor,
            settings.excerpt_max_sentences,
            settings.excerpt_max_words,
            settings.reader_excerpt_weight,
            settings.reader_contrast_margin,
            cross.threshold
            if settings.reader_cross_threshold is None
            else settings.reader_cross_threshold,
        )

    def warm_up(self) -> None:
        """Load the sessions and run them once, so the first question does not wait for them:
        a pair in one language, and one across languages (the second reader's, where used)."""
        self.reader.read_pairs([("warm-up", "warm-up"), ("разминка", "warm-up")])

    def read(self, question: str, hits: Sequence[Hit], rule: Rule) -> list[Hit]:
        """The hits in search's order, the first read, and the next ones up to `passages` where
        they may change what is shown (`decision.reads_on`): each with its reader score, its
        excerpt chosen again, and the answer span in bold where it is sure enough."""
        return self.read_many([(question, hits)], rule)[0]

    def read_many(self, asked: Sequence[tuple[str, Sequence[Hit]]], rule: Rule) -> list[list[Hit]]:
        """`read` for several questions, their passages read together (the bot's batch of
        waiting questions): the same scores and spans as one by one, for less of the cores.
        In two steps: every question's first passage; then the next ones of the questions
        whose first answers by `rule`, but not by `confident` over the threshold. Between them,
        a first passage that answers a question naming a country is checked against the other
        countries it names (`_contrasted`)."""
        read_first = iter(
            self.reader.read_pairs(
                [(q, h[0].passage) for q, h in asked if h], [h[0].lang for _, h in asked if h]
            )
        )
        firsts = [next(read_first) if hits else None for _, hits in asked]
        read = [
            [self._with(q, hits[0], first)] if hits else []
            for (q, hits), first in zip(asked, firsts, strict=True)
        ]
        self._contrasted(asked, read, firsts, rule)
        reads_on: list[bool] = []
        more: list[tuple[str, str]] = []
        langs: list[str | None] = []
        for (question, hits), mine in zip(asked, read, strict=True):
            reads_on.append(self._reads_on(question, mine, rule, hits))
            if reads_on[-1]:
                more += [(question, h.passage) for h in hits[1 : self.passages]]
                langs += [h.lang for h in hits[1 : self.passages]]
        rest = iter(self.reader.read_pairs(more, langs))
        out = []
        for (question, hits), mine, on in zip(asked, read, reads_on, strict=True):
            if on:
                mine += [self._with(question, h, next(rest)) for h in hits[1 : self.passages]]
            out.append(mine + list(hits[len(mine) :]))
        return out

    def _contrasted(
        self,
        asked: Sequence[tuple[str, Sequence[Hit]]],
        read: list[list[Hit]],
        firsts: Sequence[Reading | None],  # each question's first reading, None without hits
        rule: Rule,
    ) -> None:
        """Mark the first passages whose answer is another country's (`Hit.contrast`): where
        the reader's rule answers a question that names a country, the question asked about each
        other country the passage names is read with it (all in one batch), and one that takes
        the answer's words by `contrast_margin` logits more refutes it (`contrast.refuted`)."""
        if self.contrast_margin == float("inf"):
            return
        checks: list[tuple[int, Reading, list[str]]] = []
        for i, ((question, hits), mine, reading) in enumerate(
            zip(asked, read, firsts, strict=True)
        ):
            if reading is None:
                continue
            if decision.reader_verdict(question, mine[0], rule, decision.lead(hits)) is not True:
                continue
            hit = mine[0]
            others = contrast.contrasts(
                question,
                lexical.guess_language(question),
                hit.passage,
                lexical.guess_language(hit.passage, hit.lang),
            )
            if others:
                checks.append((i, reading, others))
        pairs = [(q, read[i][0].passage) for i, _, others in checks for q in others]
        langs = [read[i][0].lang for i, _, others in checks for _ in others]
        results = iter(self.reader.read_pairs(pairs, langs))
        for i, reading, others in checks:
            theirs = [next(results) for _ in others]
            for other, its in zip(others, theirs, strict=True):
                if contrast.refuted(reading, [its], self.contrast_margin, read[i][0].passage):
                    read[i][0] = dataclasses.replace(read[i][0], contrast=other)
                    break

    def _reads_on(
        self, question: str, read: Sequence[Hit], rule: Rule, hits: Sequence[Hit]
    ) -> bool:
        if self.passages < 2 or not read:
            return False
        return decision.reads_on(question, read[0], rule, self.confident, decision.lead(hits))

    def _with(self, question: str, hit: Hit, reading: Reading | None) -> Hit:
        if reading is None:
            return dataclasses.replace(hit, reader_score=-1e9)
        ex = choose_excerpt(
            hit.passage,
            question,
            self.max_sentences,
            self.max_words,
            dense=hit.sentence_similarity or None,
            reader=sentence_weights(reading, self.excerpt_weight),
        )
        start, end = ex.best_start, ex.best_end  # in bold: the best sentence, or the answer
        bar = self.threshold - BOLD_MARGIN
        if reading.score >= bar:
            inside = reading.sentences[ex.best] if ex.best < len(reading.sentences) else None
            for span in (reading, inside):
                if span is None or span.span < bar:
                    continue
                if ex.start <= span.start and span.end <= ex.end:
                    start, end = span.start, span.end
                    break
        base = hit.passage_start
        return dataclasses.replace(
            hit,
            reader_score=reading.score,
            excerpt=hit.passage[ex.start : ex.end],
            excerpt_start=base + ex.start,
            excerpt_end=base + ex.end,
            answer_start=base + start,
            answer_end=base + end,
        )


def sentence_weights(reading: Reading, weight: float) -> list[float] | None:
    """What the reader adds to each sentence's score when the excerpt is chosen: `weight` times
    its belief that the answer lies in that sentence (a softmax of each sentence's best span
    score, plus its match with the question where used (`Reading.lean`), at
    READER_TEMPERATURE); None with the weight at 0 or no sentences read."""
    if weight <= 0 or not reading.sentences:
        return None
    lean = reading.lean or (0.0,) * len(reading.sentences)
    scores = np.array(
        [
            NEGATIVE if r is None else r.score + x
            for r, x in zip(reading.sentences, lean, strict=True)
        ],
        dtype=np.float64,
    )
    scaled = np.exp((scores - scores.max()) / READER_TEMPERATURE)
    return [float(x) for x in weight * scaled / scaled.sum()]
