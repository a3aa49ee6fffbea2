"""BM25 in memory gives SQLite FTS5's scores and rankings, in every language the bot serves;
a published store moves its BM25 into memory in the background and answers meanwhile."""

from __future__ import annotations

import pytest

from index.articles.lexical import query_terms
from index.backends.choose import build_index
from index.backends.folder import bm25, layout
from index.backends.folder.textstore import FILE_NAME, TextStore
from tests.conftest import write

ARTICLES = {
    "en/ferry.md": (
        "---\ntitle: Caspian ferry\nlang: en\n---\nThe ferry between Baku and Aktau takes "
        "eighteen hours. The ferry port of Alat handles cargo_trucks and rail wagons.\n\n"
        "Freight volumes on the Middle Corridor grew by 60 percent in 2024, the operator said."
    ),
    "en/summit.md": (
        "---\ntitle: Summit in Gabala\nlang: en\n---\nLeaders of the Organization of Turkic "
        "States met in Gabala. The summit adopted a declaration on transport and energy.\n\n"
        "The next summit will be held in Turkey; the Organization was founded in 2009."
    ),
    "ru/port.md": (
        "---\ntitle: Порт Актау\nlang: ru\n---\nПорт Актау принял рекордный объём грузов. "
        "Паром из Баку идёт восемнадцать часов.\n\nГрузы идут по Среднему коридору в Европу."
    ),
    "kk/bazaar.md": (
        "---\ntitle: Түркістан базары\nlang: kk\n---\nТүркістандағы базарда қауын мен жүзім "
        "сатылды. Қазақстан мен Әзірбайжан арасындағы паром қатынасы кеңейді.\n\nБазарға "
        "келушілер кептірілген өрік татып көрді."
    ),
    "tr/teskilat.md": (
        "---\ntitle: Türk Devletleri Teşkilatı\nlang: tr\n---\nTürk Devletleri Teşkilatı 2009 "
        "yılında Nahçıvan'da kuruldu. Zirve Gebele'de yapıldı ve ulaştırma üzerine bir "
        "bildiri kabul edildi.\n\nİstanbul'da ğüşöç harfleri de aranır."
    ),
    "az/teskilat.md": (
        "---\ntitle: Türk Dövlətləri Təşkilatı\nlang: az\n---\nTürk Dövlətləri Təşkilatı "
        "2009-cu ildə Naxçıvanda yaradılıb. Bakı ilə Aktau arasında bərə səfəri on səkkiz "
        "saat çəkir.\n\nOrta Dəhliz ilə yük daşımaları artıb."
    ),
    "uz/tashkilot.md": (
        "---\ntitle: Turkiy davlatlar tashkiloti\nlang: uz\n---\nTurkiy davlatlar tashkiloti "
        "2009-yilda Naxchivonda tashkil topgan. Sammit Gʻabalada boʻlib oʻtdi.\n\n"
        "Qozogʻiston va Oʻzbekiston yuk tashishni koʻpaytirdi."
    ),
}
QUESTIONS = [
    "How long does the ferry from Baku to Aktau take?",
    "When was the Organization of Turkic States founded?",
    "ferry ferry summit 2009 2024 cargo_trucks",
    "Сколько часов идёт паром из Баку?",
    "Порт Актау грузы",
    "Түркістан базарында не сатылды?",
    "Қазақстан мен Әзірбайжан паром",
    "Türk Devletleri Teşkilatı ne zaman kuruldu?",
    "İstanbul ğüşöç",
    "Türk Dövlətləri Təşkilatı nə vaxt yaradılıb?",
    "Bakı Aktau bərə saat",
    "Turkiy davlatlar tashkiloti qachon tashkil topgan?",
    "Sammit G'abalada bo'lib o'tdimi?",  # the ʻ typed as an apostrophe
    "Qozog‘iston yuk",
    "nothing of this occurs anywhere",
]


@pytest.fixture
def published(corpus, make_settings, embedder):  # type: ignore[no-untyped-def]
    for name, text in ARTICLES.items():
        write(corpus, name, text)
    settings = make_settings()
    build_index(settings, embedder=embedder)
    generation = layout.current_generation(settings.index_dir)
    assert generation is not None
    return generation / FILE_NAME


def _in_memory(path):  # type: ignore[no-untyped-def]
    store = TextStore.open_readonly(path)
    store.lexical_search(query_terms("warm up"), 5)  # starts reading it into memory
    assert store.loader is not None
    store.loader.join(30)
    assert store._memory is not None, "BM25 never moved into memory"
    return store


def test_memory_bm25_gives_fts5_scores_in_every_language(published) -> None:  # type: ignore[no-untyped-def]
    fts5 = TextStore.open_readonly(published)
    fts5._uri = None  # this one stays in SQLite
    memory = _in_memory(published)
    matched = 0
    for question in QUESTIONS:
        want = fts5.lexical_search(query_terms(question), 20)
        got = memory.lexical_search(query_terms(question), 20)
        assert [pid for pid, _ in got] == [pid for pid, _ in want], question
        assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-9), question
        matched += bool(want)
    assert matched >= len(QUESTIONS) - 1  # only the last question matches nothing


def test_stems_that_fts5_reads_as_phrases_stay_in_sqlite() -> None:
    assert bm25.single_tokens(["ferry", "паром", "қазақ", "ğüşöç", "2009"])
    assert not bm25.single_tokens(["cargo_trucks"])


def test_a_store_answers_at_once_while_its_bm25_moves_into_memory(published) -> None:  # type: ignore[no-untyped-def]
    store = TextStore.open_readonly(published)
    first = store.lexical_search(query_terms(QUESTIONS[0]), 10)  # FTS5 or memory: either
    assert first
    later = _in_memory(published).lexical_search(query_terms(QUESTIONS[0]), 10)
    assert [pid for pid, _ in later] == [pid for pid, _ in first]
    assert [s for _, s in later] == pytest.approx([s for _, s in first], rel=1e-9)


def test_large_and_writable_stores_keep_bm25_in_sqlite(published, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(bm25, "MAX_PASSAGES", 2)
    store = TextStore.open_readonly(published)
    store.lexical_search(query_terms(QUESTIONS[0]), 5)
    assert store.loader is not None
    store.loader.join(30)
    assert store._memory is None and store.lexical_search(query_terms(QUESTIONS[0]), 5)
    writable = TextStore.copy_of(published, tmp_path / "copy.sqlite")
    writable.lexical_search(query_terms(QUESTIONS[0]), 5)
    assert writable._memory is None and writable._uri is None


@pytest.mark.parametrize("typed", ["Gʻabalada boʻlib", "G'abalada bo'lib", "G‘abalada bo‘lib"])
def test_uzbek_words_match_however_their_mark_is_typed(published, typed: str) -> None:  # type: ignore[no-untyped-def]
    """The Uzbek article writes "Gʻabalada boʻlib"; a reader types "G'abalada bo'lib". Both are
    the same stems (`lexical.terms`), so the words match, in SQLite and in memory."""
    for store in (TextStore.open_readonly(published), _in_memory(published)):
        found = store.lexical_search(query_terms(f"Sammit {typed} oʻtdimi?"), 5)
        rows = store.passages([pid for pid, _ in found])
        first = rows[found[0][0]]
        assert first.article.id == "uz/tashkilot.md" and "Gʻabalada" in first.text, typed
