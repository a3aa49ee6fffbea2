"""The backend contract: the FAISS folder and PostgreSQL + pgvector behave the same.

Every test taking `make_backend_settings` runs once per backend, with the real model, the real
FAISS index and the real PostgreSQL server (started for the session from the pgserver wheel).
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from index.answer.retriever import Retriever
from index.articles.lexical import query_terms
from index.backends import backend_for
from index.backends.choose import build_index
from index.errors import IndexNotBuilt
from khabar.report import index_status
from tests.conftest import EXTRA_ARTICLES, SHIPPED_CORPUS, write
from tests.test_build import TOPICS, article, fill

FERRY_Q = "How long is the ferry crossing?"


def test_build_answer_and_cite(corpus, make_backend_settings, embedder) -> None:  # type: ignore[no-untyped-def]
    fill(corpus)
    write(corpus, "broken.md", "---\ntitle: [oops\n---\nText")
    settings = make_backend_settings()
    with pytest.raises(IndexNotBuilt):
        Retriever(settings, embedder)
    report = build_index(settings, embedder=embedder)
    assert (report.added, report.changed, report.removed) == (3, 0, 0)
    assert report.articles == 3 and report.passages >= 3 and report.published
    assert [path for path, _ in report.skipped] == ["broken.md"]
    retriever = Retriever(settings, embedder)
    hits = retriever.search(FERRY_Q)
    assert hits[0].article_id == "ferry.md" and "eighteen hours" in hits[0].excerpt
    assert (hits[0].title, hits[0].date, hits[0].source) == ("Caspian ferry", "2025-01-01", "Test")
    assert retriever.info().articles == 3
    assert [a.id for a in retriever.articles()] == ["chess.md", "ferry.md", "wheat.md"]
    status = index_status(settings)
    assert (status["articles"], status["passages"]) == (3, report.passages)
    assert status["store"] == backend_for(settings).name and status["size_bytes"] > 0


def test_incremental_builds_embed_only_what_changed(
    corpus, make_backend_settings, embedder
) -> None:  # type: ignore[no-untyped-def]
    fill(corpus)
    settings = make_backend_settings()
    first = build_index(settings, embedder=embedder)
    retriever = Retriever(settings, embedder)

    again = build_index(settings, embedder=embedder)
    assert (again.embedded, again.published, again.unchanged) == (0, False, 3)

    write(corpus, "wheat.md", article("Wheat harvest", "Kazakhstan exported barley to Iran."))
    write(corpus, "tea.md", article("Tea", "Azerbaijan grows black tea in Lankaran."))
    (corpus / "chess.md").unlink()
    report = build_index(settings, embedder=embedder)
    assert (report.added, report.changed, report.removed, report.unchanged) == (1, 1, 1, 1)
    assert report.embedded == 2 and report.articles == 3
    assert report.passages == first.passages  # one passage each: -1 +1
    retriever.refresh()
    assert retriever.search("Where does Azerbaijan grow tea?")[0].article_id == "tea.md"
    assert "barley" in retriever.search("What did Kazakhstan export to Iran?")[0].passage
    olympiad = retriever.search("Which country won the chess olympiad open section?")
    assert all(h.article_id != "chess.md" for h in olympiad)
    assert "eighteen hours" in retriever.search(FERRY_Q)[0].excerpt  # untouched, still there


def test_changed_chunking_rebuilds_in_full_and_readers_switch(
    corpus, make_backend_settings, embedder
) -> None:  # type: ignore[no-untyped-def]
    fill(corpus)
    settings = make_backend_settings()
    build_index(settings, embedder=embedder)
    retriever = Retriever(settings, embedder)
    assert not retriever.refresh()  # nothing newer yet
    smaller = settings.with_overrides(chunk_tokens=64)
    report = build_index(smaller, embedder=embedder)
    assert report.full and "rebuilt in full" in report.note and report.embedded == report.passages
    retriever.settings = smaller
    assert retriever.refresh()
    assert retriever.info().manifest.chunk_tokens == 64
    assert retriever.search(FERRY_Q)[0].article_id == "ferry.md"


def test_vectors_are_stored_exactly(corpus, make_backend_settings, embedder) -> None:  # type: ignore[no-untyped-def]
    fill(corpus)
    settings = make_backend_settings()
    build_index(settings, embedder=embedder)
    retriever = Retriever(settings, embedder)
    vector = retriever.encode([FERRY_Q])[0]
    snap = retriever._snapshot
    scores, ids = snap.vectors.search(vector[None, :], 3)
    assert list(ids[0]) == sorted(
        ids[0], key=lambda i: -float(snap.vectors.vectors(np.array([i]))[0] @ vector)
    )
    stored = snap.vectors.vectors(ids[0])
    np.testing.assert_allclose(stored @ vector, scores[0], atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(stored, axis=1), 1.0, atol=1e-5)


QUESTIONS = [
    FERRY_Q,
    "When was the Organization of Turkic States founded?",
    "Когда была основана Организация тюркских государств?",
    "Türk Devletleri Teşkilatı ne zaman kuruldu?",
    "What fruit did visitors taste at the bazaar in Turkestan?",
    "Which team won the chess olympiad?",
    "Who won the 1966 FIFA World Cup final?",
    "wheat Kostanay yields",
]


@pytest.mark.parametrize("mode", ["hybrid", "lexical", "dense"])
def test_both_backends_give_the_same_answers(
    tmp_path, make_settings, postgres, embedder, mode: str
) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "corpus"
    shutil.copytree(SHIPPED_CORPUS, corpus)
    fill(corpus)
    for name, text in EXTRA_ARTICLES.items():
        write(corpus, name, text)
    faiss = make_settings(retriever=mode)
    pg = make_settings(retriever=mode, database_url=postgres.url, database_index=f"same_{mode}")
    for settings in (faiss, pg):
        build_index(settings, embedder=embedder)
    one, other = Retriever(faiss, embedder), Retriever(pg, embedder)
    assert other.info().manifest.store == "pgvector" and one.info().manifest.store == "faiss"
    assert one.info().passages == other.info().passages > len(TOPICS) + len(EXTRA_ARTICLES) + 1
    for question in QUESTIONS:
        a, b = one.answer(question), other.answer(question)
        assert a.found == b.found, question
        assert [h.article_id for h in a.hits] == [h.article_id for h in b.hits], question
        assert [h.excerpt for h in a.hits] == [h.excerpt for h in b.hits], question
        np.testing.assert_allclose([h.score for h in a.hits], [h.score for h in b.hits], atol=1e-5)
    for question in QUESTIONS:  # BM25 computed in SQL equals SQLite FTS5's own
        for also in ([], one.translations(question)):  # with the question's English stems too
            lex_a = one._snapshot.text.lexical_search(query_terms(question, also), 10)
            lex_b = other._snapshot.text.lexical_search(query_terms(question, also), 10)
            assert [pid for pid, _ in lex_a] or not [pid for pid, _ in lex_b]
            np.testing.assert_allclose([s for _, s in lex_a], [s for _, s in lex_b], rtol=1e-6)
    # A Russian question shares no word with the English articles; its English stems
    # ("организац" → "organiz") do, first with the seed article's.
    russian = QUESTIONS[2]
    assert (one.lexicon is None) == (mode == "dense")  # dense search reads no words
    assert one._snapshot.text.lexical_search(query_terms(russian), 10) == []
    for retriever in (one, other) if mode != "dense" else ():
        found = retriever._snapshot.text.lexical_search(one.search_stems(russian), 10)
        rows = retriever._snapshot.text.passages([pid for pid, _ in found])
        assert rows[found[0][0]].article.id.startswith("trend/"), found


def test_one_chooser_names_the_backend(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import importlib.util

    from index.errors import KhabarError
    from index.settings import Settings

    folder = Settings(index_dir=tmp_path / "index")
    assert backend_for(folder).name == "faiss" and backend_for(folder).where() == str(
        tmp_path / "index"
    )
    url = "postgresql://khabar:s3cret@db.example:5433/news"
    pg = Settings(database_url=url)
    assert backend_for(pg).name == "pgvector"
    assert backend_for(pg).where() == "PostgreSQL at db.example:5433/news (index 'main')"
    assert backend_for(Settings(database_read_url=url)).name == "pgvector"  # a reader on a replica
    with pytest.raises(KhabarError, match="KHABAR_DATABASE_URL"):
        backend_for(Settings(database_read_url=url)).build(
            None, full=False, progress=None, shard=None
        )
    with pytest.raises(KhabarError, match="sharded builds write into PostgreSQL"):
        backend_for(folder).build(None, full=False, progress=None, shard=(0, 2))

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "psycopg" else real(name, *a)
    )
    with pytest.raises(KhabarError, match=r"pip install 'khabar\[pg\]'") as caught:
        backend_for(pg)
    assert "s3cret" not in str(caught.value)
