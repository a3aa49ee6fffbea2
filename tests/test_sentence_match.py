"""Which sentence matches the question (`runtime.sentence_match`), and how that leans the
reader's choice of span and excerpt: pure checks on made-up states, then the real reader."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from index.answer.reading import sentence_weights
from index.articles.sentences import sentence_spans
from index.reader.pairs import Pair, Specials, make_pair
from index.reader.runtime import OnnxReader, Reading, ensure_onnx, sentence_match
from tests.test_reader import FOUNDED_6

SPECIALS = Specials(bos=0, eos=2, pad=1)
PASSAGE = "Ankara is big. It was founded in 1923 by the assembly. Rain fell."


def _pair_and_states(question_tokens: int) -> tuple[Pair, np.ndarray, list[tuple[int, int]]]:
    offsets = [(m.start(), m.end()) for m in re.finditer(r"\S+", PASSAGE)]
    pair = make_pair(
        list(range(10, 10 + question_tokens)),
        list(range(100, 100 + len(offsets))),
        offsets,
        SPECIALS,
        64,
    )
    rng = np.random.default_rng(7)
    states = rng.normal(size=(len(pair.ids), 16))
    return pair, states, sentence_spans(PASSAGE)


def test_a_sentence_holding_the_questions_tokens_matches_best() -> None:
    pair, states, sentences = _pair_and_states(3)
    # The question's tokens (after <s>) are copies of three tokens of the second sentence,
    # scaled: the cosine ignores length.
    second = [i for i, (a, _) in enumerate(pair.offsets) if sentences[1][0] <= a < sentences[1][1]]
    for q, p in zip(range(1, 4), second[:3], strict=True):
        states[q] = 3.0 * states[pair.first + p]
    match = sentence_match(pair, states, sentences)
    assert len(match) == 3
    assert match[1] == pytest.approx(1.0)
    assert max(match[0], match[2]) < 0.9
    # a sentence the window does not reach matches 0
    short = make_pair(list(range(10, 13)), list(range(100, 111)), pair.offsets, SPECIALS, 8)
    assert sentence_match(short, states[: len(short.ids)], sentences)[1:] == [0.0, 0.0]


def test_the_lean_moves_the_span_but_not_the_score() -> None:
    pair, _, sentences = _pair_and_states(1)
    n = len(pair.ids)
    start, end = np.full(n, -5.0), np.full(n, -5.0)
    start[0] = end[0] = 0.0
    ankara = pair.first  # "Ankara": 3 + 2 = 5, the best span
    year = next(i for i, (s, _) in enumerate(pair.offsets) if PASSAGE[s:].startswith("1923"))
    start[ankara] = end[ankara] = 2.5
    start[pair.first + year] = end[pair.first + year] = 1.0  # "1923": 2
    plain = OnnxReader._reading(pair, start, end, sentences)
    assert plain is not None and PASSAGE[plain.start : plain.end] == "Ankara"
    leaned = OnnxReader._reading(pair, start, end, sentences, lean=(0.0, 4.0, 0.0))
    assert leaned is not None and PASSAGE[leaned.start : leaned.end] == "1923"
    assert leaned.score == plain.score == pytest.approx(5.0)  # whether it answers: the same
    assert leaned.span == pytest.approx(2.0) and leaned.lean == (0.0, 4.0, 0.0)
    # a lean too small to make up the span's 3 logits changes nothing
    small = OnnxReader._reading(pair, start, end, sentences, lean=(0.0, 2.0, 0.0))
    assert small is not None and (small.start, small.end, small.span_score) == (
        plain.start,
        plain.end,
        None,
    )
    # the excerpt's weights lean the same way
    with_lean = sentence_weights(leaned, 1.0)
    without = sentence_weights(plain, 1.0)
    assert with_lean is not None and without is not None
    assert with_lean[1] > without[1] and np.argmax(with_lean) == 1


def test_the_lean_of_a_reading_without_it_is_nothing() -> None:
    reads = (Reading(-9.0, 0, 0), Reading(6.0, 0, 0))
    assert sentence_weights(Reading(6.0, 0, 0, reads), 1.0) == sentence_weights(
        Reading(6.0, 0, 0, reads, lean=(0.0, 0.0)), 1.0
    )


# The seed article's founding sentence and its 1926 one in one passage: asked "when was it
# founded?" in six languages, the reader alone points at 1926 in four; the sentences' match
# with the question turns Kazakh and Uzbek to 2009 and changes no score (docs/reader.md).
BOTH_YEARS = (
    '"Founded in 2009 on the ancient Azerbaijani land of Nakhchivan, the Organization of '
    "Turkic States has made a great contribution to strengthening cooperation and enhancing "
    "solidarity among Turkic peoples and countries. Within the framework of the OTS, the "
    "International Turkic Academy operates successfully. I would like to especially emphasize "
    "the historical significance of the First Turkological Congress, held in Baku in 1926. "
    "This event became an important milestone in the development of Turkic science, culture, "
    'and unity."'
)


def test_the_sentence_that_matches_the_question_gets_the_span(models_dir: Path) -> None:
    folder = ensure_onnx(models_dir)
    alone = OnnxReader(folder, match_weight=0.0)
    matched = OnnxReader(folder)
    years: dict[str, list[str]] = {}
    scores: dict[str, list[float]] = {}
    for name, reader in (("alone", alone), ("matched", matched)):
        readings = [reader.read(q, [BOTH_YEARS])[0] for q in FOUNDED_6]
        assert all(r is not None for r in readings)
        years[name] = [BOTH_YEARS[r.start : r.end] for r in readings if r is not None]
        scores[name] = [r.score for r in readings if r is not None]
    assert years["alone"] == ["2009", "2009", "1926", "1926", "1926", "1926"]
    assert years["matched"] == ["2009", "2009", "1926", "2009", "1926", "2009"]
    assert scores["alone"] == pytest.approx(scores["matched"])
