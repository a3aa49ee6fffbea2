"""The reader's cross-language and entity-swapped training rows (`index/reader/cross.py`,
`index/reader/swaps.py`): pure, no model."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from index.reader import cross, swaps
from index.reader.examples import held_back

TSUNAMI = {
    "en": "The 2004 tsunami struck 14 countries.",
    "ru": "Цунами 2004 года обрушилось на 14 стран.",
    "az": "2004-cü ilin sunamisi 14 ölkəni vurdu.",
    "kk": "2004 жылғы цунами 14 елге соқты.",
    "tr": "2004 tsunamisi 14 ülkeyi vurdu.",
    "uz": "2004 yilgi tsunami 14 ta davlatga zarba berdi.",
}


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "The 2004 tsunami struck how many countries?"),
        ("ru", "Цунами 2004 года обрушилось на сколько стран?"),
        ("kk", "2004 жылғы цунами қанша елге соқты?"),
        ("tr", "2004 tsunamisi kaç ülkeyi vurdu?"),
    ],
)
def test_a_number_becomes_the_question_word(lang: str, expected: str) -> None:
    assert cross.number_question(TSUNAMI[lang], "14", lang) == expected


def test_a_year_asks_which_year_and_its_suffix_goes() -> None:
    question = cross.number_question(TSUNAMI["az"], "2004", "az")
    assert question == "Hansı ilin sunamisi 14 ölkəni vurdu?"
    assert cross.number_question(TSUNAMI["en"], "2004", "en") == (
        "The what year tsunami struck 14 countries?"
    )
    assert cross.number_question("Rates rose by 14% in May.", "14", "en") == (
        "Rates rose by what percentage in May?"
    )
    assert cross.number_question("14 and 14 again.", "14", "en") is None  # which one?


def test_a_country_the_passage_names_is_swapped_for_one_it_does_not() -> None:
    passage = "Kassym-Jomart Tokayev, the President of Kazakhstan, met the press in Astana."
    for seed in range(20):
        out = swaps.swap_country(
            "Who is the president of Kazakhstan?", "en", passage, "en", random.Random(seed)
        )
        assert out is not None and "Kazakhstan" not in out
        new = out.removeprefix("Who is the president of ").removesuffix("?")
        assert new in [row[0] for row in swaps.COUNTRIES] and new not in passage
    # Not named by the passage: nothing to swap (that question is not about this passage).
    assert swaps.swap_country("Who leads Japan?", "en", passage, "en", random.Random(1)) is None


def test_a_country_may_be_swapped_for_another_the_passage_names() -> None:
    """Two countries in one passage: asked about the other one's president, no answer."""
    passage = (
        "President of the Republic of Azerbaijan Ilham Aliyev gave an interview ahead of his "
        "state visit to Kazakhstan."
    )
    seen = set()
    for seed in range(40):
        out = swaps.swap_country(
            "Who is the president of Azerbaijan?", "en", passage, "en", random.Random(seed)
        )
        assert out is not None and "Azerbaijan" not in out
        seen.add(out.removeprefix("Who is the president of ").removesuffix("?"))
    assert "Kazakhstan" in seen  # the other country the passage names, about half the time
    assert len(seen) > 2  # and countries it does not name, the other half


def test_an_inflected_country_keeps_its_ending_across_languages() -> None:
    passage = "Президент Казахстана Касым-Жомарт Токаев провёл встречу."
    out = swaps.swap_country("Кто президент Казахстана?", "ru", passage, "ru", random.Random(3))
    assert out is not None and out.startswith("Кто президент ") and out.endswith("а?")
    assert "Казахстан" not in out
    # A Kazakh question about an English passage: matched in each one's language.
    english = "The President of Kazakhstan spoke in Astana."
    out = swaps.swap_country("Қазақстанның президенті кім?", "kk", english, "en", random.Random(5))
    assert out is not None and "Қазақстан" not in out and out.endswith("ның президенті кім?")


def test_a_year_is_swapped_and_the_answer_kept() -> None:
    passage = "The 2004 tsunami struck 14 countries around the Indian Ocean."
    question = "How many countries did the 2004 tsunami strike?"
    for seed in range(20):
        out = swaps.swap_number(question, passage, random.Random(seed), keep="14")
        assert out is not None and "2004" not in out
        year = int(out.split("the ")[1].split(" ")[0])
        assert 1990 <= year <= 2016 and str(year) not in passage
    assert swaps.swap_number("How many countries?", passage, random.Random(1)) is None


def test_a_name_is_swapped_for_one_of_the_same_script() -> None:
    passage = "In 1974 Mxenge was admitted as an attorney in Durban."
    pool = ["Johannesburg", "Москва", "Pretoria"]
    for seed in range(10):
        out = swaps.swap_name(
            "When did Mxenge open a practice in Durban?", passage, pool, random.Random(seed)
        )
        assert out is not None
        assert "Москва" not in out and ("Johannesburg" in out or "Pretoria" in out)


def _ntrex(folder: Path) -> Path:
    """Two small NTREX documents in six languages, numbers in some sentences."""
    rows = []
    for doc in ("a", "b"):
        lines = [{lang: f"Headline {doc}" for lang in swaps.LANGS}]
        lines += [
            {lang: f"Filler sentence {i} of {doc} in {lang}." for lang in swaps.LANGS}
            for i in range(2)
        ]
        lines.append(TSUNAMI)
        lines += [
            {lang: f"Closing words of {doc} in {lang}." for lang in swaps.LANGS} for _ in range(3)
        ]
        rows += [{"doc": doc, "line": i, **line} for i, line in enumerate(lines)]
    path = folder / "ntrex.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_number_rows_pair_languages_and_their_answers_check_out(tmp_path: Path) -> None:
    docs = cross.ntrex_documents(_ntrex(tmp_path))
    rows = list(cross.number_rows(docs, random.Random(7), pairings=36))
    positives = [r for r in rows if r.kind == "number"]
    assert {(r.q_lang, r.p_lang) for r in positives} >= {("kk", "en"), ("en", "ru"), ("uz", "tr")}
    for r in positives:
        ((text, start),) = r.answers
        assert r.context[start : start + len(text)] == text
        assert r.question.endswith("?") and text not in r.question.replace("2004", "")
        assert TSUNAMI[r.p_lang] in r.context  # the paragraph that holds the sentence
    for r in rows:
        if r.kind == "other":
            assert r.answers == () and "14" not in r.context
        if r.kind == "swap":
            assert r.answers == () and "2004" not in r.question


def test_held_back_documents_are_chosen_by_hash() -> None:
    groups = [f"doc-{i}" for i in range(2000)]
    share = sum(held_back(g) for g in groups) / len(groups)
    assert 0.03 < share < 0.07
    assert held_back("doc-1") == held_back("doc-1")


COAST = {
    "en": "The tsunami struck the coast of many countries.",
    "ru": "Цунами обрушилось на побережье многих стран.",
    "az": "Sunami bir çox ölkənin sahilini vurdu.",
    "kk": "Цунами көптеген елдің жағалауына соқты.",
    "tr": "Tsunami birçok ülkenin kıyısını vurdu.",
    "uz": "Tsunami ko'plab davlatlarning qirg'og'iga zarba berdi.",
}
NEWS = ["A paragraph of English news about a football match and its fans, none of it a number."]


def _two_documents() -> dict[str, list[dict[str, str]]]:
    """Document "a" states the tsunami's number; "c" speaks of a tsunami without it."""
    docs: dict[str, list[dict[str, str]]] = {}
    for doc, said in (("a", TSUNAMI), ("c", COAST)):
        lines = [{lang: f"Headline {doc}" for lang in swaps.LANGS}, said]
        lines += [{lang: f"Filler {i} of {doc} in {lang}." for lang in swaps.LANGS} for i in (1, 2)]
        docs[doc] = [{"doc": doc, "line": str(i), **line} for i, line in enumerate(lines)]
    return docs


def test_near_passages_are_another_documents_in_the_passages_language() -> None:
    """A number question against the nearest paragraph of another document (taken in the
    passage's language), and against random news: "no answer"; off, nothing changes."""
    docs = _two_documents()
    rows = list(cross.number_rows(docs, random.Random(7), pairings=36, near=1.0, news=NEWS))
    asked = {r.question for r in rows if r.kind == "number"}
    near = [r for r in rows if r.kind == "near"]
    assert {r.q_lang for r in near} >= {"kk", "uz", "en"}
    for r in near:
        assert r.answers == () and r.question in asked
        assert COAST[r.p_lang] in r.context and "14" not in r.context
    far = [r for r in rows if r.kind == "far"]
    assert far and all(r.context == NEWS[0] and r.q_lang != "en" for r in far)
    off = list(cross.number_rows(docs, random.Random(7), pairings=36, near=0.0, news=NEWS))
    assert off == list(cross.number_rows(docs, random.Random(7), pairings=36))
    assert not {r.kind for r in off} & {"near", "far"}


YEARS = [
    {lang: f"The bridge of {town} opened in {year} ({lang})." for lang in swaps.LANGS}
    for town, year in (("Ordu", 1998), ("Kars", 2011), ("Mary", 1975))
]
COUNTS = [
    {lang: f"The flood cut 37 roads ({lang})." for lang in swaps.LANGS},
    {lang: f"The storm felled 52 trees ({lang})." for lang in swaps.LANGS},
]


def test_a_number_question_meets_sentences_of_the_same_kind() -> None:
    """A number question among other documents' sentences stating a number of its kind (years
    beside a year, counts beside a count; its own answer kept), and against them alone: "no
    answer". Off, nothing changes."""
    docs = _two_documents()
    for n, said in enumerate([*YEARS, *COUNTS]):
        lines = [{lang: "Headline" for lang in swaps.LANGS}, said]
        docs[f"o{n}"] = [{"doc": f"o{n}", "line": str(i), **x} for i, x in enumerate(lines)]
    assert len({held_back(doc) for doc in docs}) == 1  # one pool, as in training
    rows: list[cross.CrossRow] = []
    for seed in range(6):
        rows += cross.number_rows(docs, random.Random(seed), pairings=36, distract=1.0)
    years = [y[lang] for y in YEARS for lang in swaps.LANGS]
    counts = [c[lang] for c in COUNTS for lang in swaps.LANGS]
    mine = [r for r in rows if r.id.startswith("ntrex-a-1-")]  # the tsunami: a year, a count
    distract = [r for r in mine if r.kind == "distract"]
    assert {r.answers[0][0] for r in distract} == {"2004", "14"}
    assert {r.q_lang for r in distract} >= {"kk", "uz", "en"}
    for r in distract:
        ((text, start),) = r.answers
        assert r.context[start : start + len(text)] == text
        assert TSUNAMI[r.p_lang] in r.context  # its own sentence, in the passage's language
        rest = r.context.replace(TSUNAMI[r.p_lang], "")
        if text == "2004":
            assert sum(y in rest for y in years) >= 2 and not any(c in rest for c in counts)
        else:
            assert not any(y in rest for y in years) and len(re.findall(r"\d+", rest)) >= 2
    decoys = [r for r in mine if r.kind == "decoy"]
    assert len(decoys) >= len(distract)
    for r in decoys:
        assert r.answers == () and TSUNAMI[r.p_lang] not in r.context
        assert "14" not in r.context and len(re.findall(r"\d+", r.context)) >= 2
    off = list(cross.number_rows(docs, random.Random(3), pairings=36, distract=0.0))
    assert off == list(cross.number_rows(docs, random.Random(3), pairings=36))
    assert not {r.kind for r in off} & {"distract", "decoy"}


def test_an_afriqa_question_meets_another_titles_passage() -> None:
    def row(title: str, question_en: str, context: str, answer: str) -> dict[str, object]:
        return {
            "id": title,
            "lang": "sw",
            "context_lang": "en",
            "title": title,
            "question": f"Swahili: {question_en}",
            "question_en": question_en,
            "context": context,
            "answers": [{"text": answer, "start": context.index(answer)}],
        }

    rows = [
        row(
            "Virginia",
            "What is the capital of Virginia?",
            "Virginia's capital is Richmond.",
            "Richmond",
        ),
        row(
            "Washington",
            "Who founded the capital?",
            "Washington is the capital of the United States.",
            "Washington",
        ),
        row(
            "Kenya", "What is the capital of Kenya?", "The capital of Kenya is Nairobi.", "Nairobi"
        ),
    ]
    out = list(cross.afriqa_rows(rows, random.Random(3), near=1.0, news=NEWS))
    near = {r.id: r for r in out if r.kind == "near"}
    assert near["Virginia-sw-near"].context != rows[0]["context"]
    for r in near.values():
        assert r.answers == ()
        title = r.id.split("-")[0]
        source = next(x for x in rows if x["id"] == title)
        assert r.context != source["context"] and str(source["answers"][0]["text"]) not in r.context  # type: ignore[index]
    assert all(r.q_lang == "sw" for r in out if r.kind == "far")


def test_bm25_hard_negatives_are_the_same_under_every_hash_seed() -> None:
    """Contexts that score alike come in their own order, whatever order a set of the
    question's stems would take (PYTHONHASHSEED): the training rows built from them are
    reproducible."""
    script = (
        "from index.reader.examples import Bm25\n"
        "words = 'apple banana cherry grape lemon mango olive peach plum quince'.split()\n"
        "bm25 = Bm25(words + ['bread water', 'salt sugar'], ['en'] * 12)\n"
        "print(bm25.top(' '.join(reversed(words)), 'en', 10))\n"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in range(6)
    }
    assert seen == {str(list(range(10))) + "\n"}
