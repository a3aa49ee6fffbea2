"""The lexicon that carries a question's stems into English for lexical search: learned by
IBM Model 1 (`align`), shipped (`lexicon.json`), read with a clear error when damaged, trained
by `khabar lexicon train`, and searched by both backends (tests/test_backends.py) and the
retriever (tests/test_reader.py, the seed article in Kazakh)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from index.articles import lexical
from index.errors import LexiconUnavailable
from index.lexicon import LEXICON_PATH, align, load_lexicon
from index.lexicon.table import MAX_ADDED

# A toy parallel corpus: each word of "ru" is one English word, seen in varied company.
TOY = [
    ("кот спит", "cat sleeps"),
    ("кот ест", "cat eats"),
    ("собака спит", "dog sleeps"),
    ("собака ест рыбу", "dog eats fish"),
    ("кот ест рыбу", "cat eats fish"),
    ("рыба спит", "fish sleeps"),
]


def test_model_one_learns_which_word_translates_which() -> None:
    found = align([s.split() for s, _ in TOY], [t.split() for _, t in TOY], floor=0.3)
    best = {word: pairs[0][0] for word, pairs in found.items()}
    assert best["кот"] == "cat" and best["собака"] == "dog" and best["спит"] == "sleeps"
    assert best["ест"] == "eats"
    assert all(score >= 0.3 for pairs in found.values() for _, score in pairs)
    assert all(p[1] >= q[1] for pairs in found.values() for p, q in itertools.pairwise(pairs))
    # "рыбу" and "рыба" are two forms: each still finds "fish", not "cat" or "dog"
    assert best["рыбу"] == "fish" and best["рыба"] == "fish"


# A question in each language besides English, its stems as lexical search makes them, and an
# English stem the lexicon must give for one of them.
ASKED = {
    "ru": ("Кто является президентом Казахстана?", "presid"),
    "az": ("Təşkilat nə vaxt yaradılıb? Azərbaycanın prezidenti kimdir?", "presid"),
    "kk": ("Түркі мемлекеттері ұйымы қашан құрылды? Қазақстанның президенті кім?", "kazakhstan"),
    "tr": ("Zirve hangi yıl yapıldı?", "year"),
    "uz": ("Qozogʻiston prezidenti kim?", "presid"),
}


@pytest.mark.parametrize("lang", sorted(ASKED))
def test_the_shipped_lexicon_carries_each_language_into_english(lang: str) -> None:
    lexicon = load_lexicon()
    question, english = ASKED[lang]
    assert lexical.guess_language(question) == lang
    stems = lexical.query_terms(question)
    added = lexicon.translations(stems, lang)
    assert english in added, (stems, added)
    assert not set(added) & set(stems) and len(added) <= MAX_ADDED
    assert lexicon.translations(stems, "en") == []  # English questions add nothing


def test_the_question_keeps_its_own_stems_first() -> None:
    own = lexical.query_terms("Кто является президентом Казахстана?")
    both = lexical.query_terms("Кто является президентом Казахстана?", ["presid", own[0], "presid"])
    assert both == [*own, "presid"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (None, "missing"),
        ('{"format": 1, "languages": {"ru": {"год": [["year", 0.9]', "damaged"),
        ('{"format": 99, "languages": {}}', "format 99"),
        ('{"format": 1, "languages": {"ru": {"год": "year"}}}', "not a list"),
        ('["not", "a", "lexicon"]', "damaged"),
    ],
)
def test_a_damaged_lexicon_is_refused_saying_what_to_do(
    tmp_path: Path, text: str | None, problem: str
) -> None:
    path = tmp_path / "lexicon.json"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(LexiconUnavailable) as raised:
        load_lexicon(path)
    message = str(raised.value)
    assert problem in message and "KHABAR_LEXICON=off" in message and str(path) in message


def test_the_retriever_refuses_a_damaged_lexicon_and_runs_with_it_off(
    seed_index, embedder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from index.answer.retriever import Retriever

    broken = tmp_path / "lexicon.json"
    broken.write_bytes(LEXICON_PATH.read_bytes()[:1000])
    with pytest.raises(LexiconUnavailable):
        Retriever(seed_index.with_overrides(lexicon_path=broken), embedder)
    off = Retriever(seed_index.with_overrides(lexicon_path=broken, lexicon="off"), embedder)
    assert off.lexicon is None and off.translations("Кто президент Казахстана?") == []
    assert off.answer("How long is the ferry crossing?").found


def test_khabar_lexicon_train_writes_one_the_retriever_uses(
    tmp_path: Path, seed_index, embedder, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    from index.answer.retriever import Retriever
    from khabar.main import main

    data = tmp_path / "train"
    (data / "parallel").mkdir(parents=True)
    with (data / "parallel" / "ntrex.jsonl").open("w", encoding="utf-8") as f:
        for i, (ru, en) in enumerate(TOY * 3):
            f.write(json.dumps({"doc": "toy", "line": i, "en": en, "ru": ru}) + "\n")
    with (data / "parallel" / "tatoeba.jsonl").open("w", encoding="utf-8") as f:
        for lang, text, en in [("kk", "паром жүзеді", "ferry sails"), ("kk", "паром", "ferry")]:
            f.write(json.dumps({"lang": lang, "text": text, "en": en}) + "\n")
    out = tmp_path / "mine.json"
    assert main(["lexicon", "train", "--data", str(data), "--out", str(out)]) == 0
    card = json.loads(capsys.readouterr().out.splitlines()[0])
    assert card["sentence_pairs"]["ru"] == len(TOY) * 3 and card["sentence_pairs"]["kk"] == 2
    assert not list(tmp_path.glob("*.partial"))
    mine = load_lexicon(out)
    assert mine.to_en["ru"][lexical.terms("кот", "ru")[0]][0][0] == "cat"
    retriever = Retriever(seed_index.with_overrides(lexicon_path=out), embedder)
    assert "ferri" in retriever.translations("Паром қанша жүзеді?")
    assert main(["lexicon", "train", "--data", str(tmp_path / "nothing"), "--out", str(out)]) == 2
    assert "no parallel sentences" in capsys.readouterr().err
    assert load_lexicon(out) == mine  # the lexicon written before is untouched


def test_no_english_stems_where_no_article_is_english(
    make_settings, corpus: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    """A newsroom of Russian and Kazakh articles only: English stems could match nothing but
    English words quoted in them ("French and Indian War"), so none are searched. Once an
    English article is indexed (a new published index), they are."""
    from index.answer.retriever import Retriever
    from index.backends.choose import build_index
    from tests.conftest import write

    write(
        corpus,
        "ru/war.md",
        "---\ntitle: Франко-индейская война\nlang: ru\n---\n"
        "Франко-индейская война (French and Indian War) шла в Северной Америке.\n",
    )
    write(corpus, "kk/steppe.md", "---\ntitle: Дала\n---\nҚазақ даласы өте кең және әдемі.\n")
    settings = make_settings()
    build_index(settings, embedder=embedder)
    retriever = Retriever(settings, embedder)
    question = "Кто руководил нападением на французскую колонию?"
    assert retriever.lexicon is not None
    assert "french" in retriever.lexicon.translations(lexical.query_terms(question), "ru")
    _articles_unread_from_now(retriever)  # decided when the index was loaded, not now
    assert retriever.translations(question) == []
    write(corpus, "en/colony.md", "---\ntitle: The French colony\n---\nA colony in Florida.\n")
    build_index(settings, embedder=embedder)
    assert retriever.refresh()
    _articles_unread_from_now(retriever)  # and again on refresh, off the questions' path
    assert "french" in retriever.translations(question)


def _articles_unread_from_now(retriever) -> None:  # type: ignore[no-untyped-def]
    """Make reading the article list of the index answering now fail: over a large archive it
    takes seconds, which no question may wait for."""

    def refuse() -> None:
        raise AssertionError("the article list was read while answering")

    retriever._snapshot.text.articles = refuse
