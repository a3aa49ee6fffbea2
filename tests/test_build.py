"""Building and rebuilding the index with the real model and FAISS, in temporary folders."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.answer.retriever import Retriever
from index.backends.choose import build_index
from index.backends.folder import layout
from index.backends.folder.textstore import FILE_NAME as SQLITE_FILE
from index.backends.folder.textstore import TextStore
from index.errors import BuildLocked, CorpusMissing
from index.model.embedder import Embedder
from tests.conftest import ROOT, write
from tests.waiting import wait_until

TOPICS = {
    "ferry.md": (
        "Caspian ferry",
        "A ferry line between Baku and Aktau opened on Sunday. The crossing takes eighteen hours.",
    ),
    "wheat.md": (
        "Wheat harvest",
        "Kazakhstan harvested a record wheat crop this autumn. "
        "Farmers in Kostanay reported high yields.",
    ),
    "chess.md": (
        "Chess olympiad",
        "The chess olympiad in Baku drew teams from 180 countries. "
        "Uzbekistan won the open section.",
    ),
}


def article(title: str, body: str) -> str:
    return f"---\ntitle: {title}\nsource: Test\ndate: 2025-01-01\n---\n{body}\n"


def fill(corpus: Path) -> None:
    for name, (title, body) in TOPICS.items():
        write(corpus, name, article(title, body))


def passage_ids(settings, article_id: str) -> list[int]:  # type: ignore[no-untyped-def]
    generation = layout.current_generation(settings.index_dir)
    store = TextStore.open_readonly(generation / SQLITE_FILE)
    try:
        return store.passage_ids([article_id])
    finally:
        store.close()


def test_build_then_answer(corpus, make_settings, embedder) -> None:  # type: ignore[no-untyped-def]
    fill(corpus)
    write(corpus, "broken.md", "---\ntitle: [oops\n---\nText")
    settings = make_settings()
    report = build_index(settings, embedder=embedder)
    assert (report.added, report.changed, report.removed) == (3, 0, 0)
    assert report.articles == 3 and report.passages >= 3 and report.published
    assert report.skipped == [("broken.md", report.skipped[0][1])]
    assert "YAML" in report.skipped[0][1]
    hits = Retriever(settings, embedder).search("How long is the ferry crossing?")
    assert hits[0].article_id == "ferry.md"
    assert "eighteen hours" in hits[0].excerpt
    assert hits[0].title == "Caspian ferry" and hits[0].date == "2025-01-01"


def test_incremental_add_change_delete(corpus, make_settings, embedder) -> None:  # type: ignore[no-untyped-def]
    fill(corpus)
    settings = make_settings()
    build_index(settings, embedder=embedder)
    chess_ids = passage_ids(settings, "chess.md")

    # No change: nothing embedded, nothing published, and the model is never loaded.
    untouched = Embedder("all-MiniLM-L6-v2")
    report = build_index(settings, embedder=untouched)
    assert not report.published and report.unchanged == 3 and report.embedded == 0
    assert untouched._encoder is None

    write(
        corpus,
        "sub/gas.md",
        article("Gas pipeline", "The TAP pipeline carries Azerbaijani gas to Italy."),
    )
    write(
        corpus,
        "wheat.md",
        article("Wheat harvest", "Kazakhstan's wheat crop fell after a drought."),
    )
    (corpus / "ferry.md").unlink()
    report = build_index(settings, embedder=embedder)
    assert (report.added, report.changed, report.removed, report.unchanged) == (1, 1, 1, 1)
    assert report.embedded == len(passage_ids(settings, "sub/gas.md")) + len(
        passage_ids(settings, "wheat.md")
    )
    # The unchanged article kept its passages (and vectors): same ids, not re-embedded.
    assert passage_ids(settings, "chess.md") == chess_ids
    retriever = Retriever(settings, embedder)
    assert retriever.search("Where does the pipeline carry gas?")[0].article_id == "sub/gas.md"
    assert all(h.article_id != "ferry.md" for h in retriever.search("ferry crossing Aktau", k=5))
    assert "drought" in retriever.search("Why did the wheat crop fall?")[0].excerpt
    assert retriever.info().articles == 3


def test_full_rebuild_and_settings_change(corpus, make_settings, embedder) -> None:  # type: ignore[no-untyped-def]
    fill(corpus)
    build_index(make_settings(), embedder=embedder)
    report = build_index(make_settings(), full=True, embedder=embedder)
    assert report.full and report.added == 3
    report = build_index(make_settings(chunk_tokens=100), embedder=embedder)
    assert report.full and "chunking changed" in report.note and report.embedded >= 3


def test_an_index_stemmed_otherwise_is_said_and_rebuilt_in_full(
    corpus, make_settings, embedder, caplog
) -> None:  # type: ignore[no-untyped-def]
    """An index whose words were stemmed by an older Khabar (Uzbek before stems version 2)
    answers, with a warning that says how to mend it, and the next build rebuilds it in full."""
    import json

    from index.articles.lexical import STEMS_VERSION
    from index.build.manifest import FILE_NAME as MANIFEST

    fill(corpus)
    settings = make_settings()
    build_index(settings, embedder=embedder)
    generation = layout.current_generation(settings.index_dir)
    assert generation is not None
    manifest = json.loads((generation / MANIFEST).read_text())
    assert manifest["stems_version"] == STEMS_VERSION
    manifest["stems_version"] = 1
    (generation / MANIFEST).write_text(json.dumps(manifest))
    with caplog.at_level("WARNING"):
        retriever = Retriever(settings, embedder)
    assert "older word stems" in caplog.text and "khabar index build" in caplog.text
    assert retriever.search("Who won the chess olympiad?")[0].article_id == "chess.md"
    report = build_index(settings, embedder=embedder)
    assert report.full and "the words' stems changed" in report.note
    caplog.clear()
    with caplog.at_level("WARNING"):
        assert Retriever(settings, embedder).info().manifest.stems_version == STEMS_VERSION
    assert "older word stems" not in caplog.text


def test_a_file_that_breaks_later_keeps_its_indexed_version(
    corpus, make_settings, embedder
) -> None:  # type: ignore[no-untyped-def]
    fill(corpus)
    settings = make_settings()
    build_index(settings, embedder=embedder)
    write(corpus, "chess.md", b"\x00\x01binary garbage")
    report = build_index(settings, embedder=embedder)
    assert report.skipped and report.skipped[0][0] == "chess.md"
    assert (
        Retriever(settings, embedder).search("Who won the chess olympiad?")[0].article_id
        == "chess.md"
    )


def test_second_build_at_once_is_refused(corpus, make_settings, embedder) -> None:  # type: ignore[no-untyped-def]
    fill(corpus)
    settings = make_settings()
    with layout.build_lock(settings.index_dir), pytest.raises(BuildLocked, match="is running"):
        build_index(settings, embedder=embedder)


def test_missing_corpus_is_a_clear_error(make_settings, embedder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CorpusMissing, match="does not exist"):
        build_index(make_settings(corpus_dir=tmp_path / "nope"), embedder=embedder)


def test_build_killed_half_way_leaves_the_old_index(
    corpus, make_settings, embedder, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    fill(corpus)
    settings = make_settings()
    build_index(settings, embedder=embedder)
    before = layout.current_generation(settings.index_dir)
    for i in range(400):
        body = " ".join(
            f"Report {i} sentence {j} about regional trade and transport." for j in range(30)
        )
        write(corpus, f"bulk/{i:03}.md", article(f"Bulk {i}", body))
    env = {
        **os.environ,
        "KHABAR_CORPUS_DIR": str(corpus),
        "KHABAR_INDEX_DIR": str(settings.index_dir),
        "KHABAR_MODEL": settings.model,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "khabar", "index", "build"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    generations = settings.index_dir / layout.GENERATIONS
    wait_until(  # until it is writing a new generation's vectors
        lambda: proc.poll() is not None or len(list(generations.iterdir())) >= 2,
        timeout=120,
        what="a new generation",
    )
    assert proc.poll() is None, "the build ended too soon"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert layout.current_generation(settings.index_dir) == before
    hits = Retriever(settings, embedder).search("Who won the chess olympiad?")
    assert hits[0].article_id == "chess.md"

    report = build_index(make_settings(), embedder=embedder)
    assert report.added == 400 and report.articles == 403
    assert len(list(generations.iterdir())) <= 2  # the killed build's leftovers are gone


def test_seed_question_over_the_shipped_corpus(shipped_corpus, make_settings, embedder) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(corpus_dir=shipped_corpus)
    build_index(settings, embedder=embedder)
    retriever = Retriever(settings, embedder)
    top = retriever.search("When was the Organization of Turkic States founded?")[0]
    assert "Founded in 2009" in top.excerpt
    assert top.source == "Trend" and top.date == "2025-10-18"
    assert top.score >= retriever.threshold
    assert ROOT.joinpath("corpus", top.article_id).is_file()


@pytest.mark.slow
def test_seed_question_with_the_default_multilingual_model(shipped_corpus, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from index.settings import Settings

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        corpus_dir=shipped_corpus,
        index_dir=tmp_path / "index",
        data_dir=tmp_path / "data",
    )
    assert settings.model == "multilingual-e5-small" and settings.retriever == "hybrid"
    build_index(settings)
    retriever = Retriever(settings)
    answer = retriever.answer("When was the Organization of Turkic States founded?")
    assert answer.found and "Founded in 2009" in answer.shown[0].excerpt
    assert retriever.answer("Who won the 1966 FIFA World Cup final?").found is False


def test_sentences_encoded_on_their_own(corpus, make_settings, embedder) -> None:  # type: ignore[no-untyped-def]
    """KHABAR_SENTENCE_VECTORS=encoded: each stored sentence vector is that sentence encoded
    alone (with the passage prompt), not pooled from the passage; switching rebuilds in full."""
    fill(corpus)
    pooled = make_settings()
    build_index(pooled, embedder=embedder)
    encoded = make_settings(sentence_vectors="encoded")
    report = build_index(encoded, embedder=embedder)
    assert report.full and "the sentence vectors changed" in report.note
    assert report.embedded >= 3
    assert build_index(encoded, embedder=embedder).embedded == 0  # kept from then on

    retriever = Retriever(encoded, embedder=embedder)
    assert retriever.info().manifest.sentence_vectors == "encoded"
    snap = retriever._snapshot
    ids = [pid for name in TOPICS for pid in passage_ids(encoded, name)]
    rows = snap.text.passages(ids)
    assert len(rows) == len(ids) >= 3
    for row in rows.values():
        stored = np.frombuffer(row.sentences, dtype=np.float16).reshape(-1, embedder.dimension)
        title = row.article.title
        texts = [f"{title}\n{row.text}"[a:b] for a, b in _sentence_spans_of(title, row.text)]
        alone = embedder.encode_with_prompt(texts, embedder.passage_prompt)
        assert stored.shape == alone.shape
        cosines = np.sum(stored.astype(np.float32) * alone, axis=1)
        assert cosines.min() > 0.999
    answer = retriever.answer("Which team won the chess olympiad?")
    assert answer.found and "Uzbekistan" in answer.shown[0].excerpt


def _sentence_spans_of(title: str, passage: str) -> list[tuple[int, int]]:
    from index.articles.sentences import sentence_spans

    shift = len(title) + 1
    return [(a + shift, b + shift) for a, b in sentence_spans(passage)]


def test_removing_an_article_never_loads_the_model(corpus, make_settings, embedder) -> None:  # type: ignore[no-untyped-def]
    fill(corpus)
    settings = make_settings()
    build_index(settings, embedder=embedder)
    (corpus / "wheat.md").unlink()
    fresh = Embedder.from_settings(settings)
    report = build_index(settings, embedder=fresh)
    assert report.removed == 1 and report.embedded == 0
    assert fresh._encoder is None  # nothing was encoded, so nothing was loaded
    manifest = Retriever(settings, embedder=embedder).info().manifest
    assert (manifest.passage_prompt, manifest.query_prompt) == (
        embedder.passage_prompt,
        embedder.query_prompt,
    )
