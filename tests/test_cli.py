"""The `khabar` command: answers, status, and clear errors for broken or mismatched indexes."""

from __future__ import annotations

import io
import json
from contextlib import chdir, redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from index.answer.retriever import Retriever
from index.backends.choose import build_index
from index.backends.folder import layout
from index.backends.folder.textstore import FILE_NAME as SQLITE_FILE
from index.build.manifest import FILE_NAME as MANIFEST
from index.errors import IndexCorrupt, IndexMismatch, IndexNotBuilt
from khabar.main import main

QUESTION = "When was the Organization of Turkic States founded?"


@pytest.fixture
def built(shipped_corpus, make_settings, embedder):  # type: ignore[no-untyped-def]
    settings = make_settings(corpus_dir=shipped_corpus)
    build_index(settings, embedder=embedder)
    return settings


def run_cli(settings, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    """The command line in-process (`khabar.main.main`, what the entry point runs): its exit
    status, stdout and stderr. tests/test_processes.py runs the real program."""
    out, err = io.StringIO(), io.StringIO()
    argv = [*args, "--corpus", str(settings.corpus_dir), "--index-dir", str(settings.index_dir)]
    with redirect_stdout(out), redirect_stderr(err), chdir(settings.corpus_dir.parent):
        code = main([*argv, "--model", settings.model])
    return code, out.getvalue(), err.getvalue()


def test_ask_json_has_the_documented_keys(built) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_cli(built, "ask", QUESTION, "--json", "-k", "2")
    assert code == 0, err
    hits = json.loads(out)
    assert len(hits) == 2
    assert set(hits[0]) == {
        "rank",
        "score",
        "article_id",
        "title",
        "date",
        "source",
        "url",
        "passage",
        "excerpt",
        "answer",
        "reader_score",
        "contrast",
        "shown",
    }
    assert hits[0]["rank"] == 1 and "Founded in 2009" in hits[0]["excerpt"]
    assert hits[0]["shown"] and hits[0]["answer"] in hits[0]["excerpt"]
    assert hits[0]["reader_score"] is None  # the reader is off in these tests
    assert hits[0]["contrast"] is None  # ... so no answer was checked against another country
    assert hits[0]["excerpt"] in hits[0]["passage"]


def test_ask_plain_shows_excerpt_and_citation(built, capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(["ask", QUESTION, "--index-dir", str(built.index_dir), "--model", built.model])
    out = capsys.readouterr().out
    assert code == 0
    assert "Founded in 2009" in out and "Trend" in out and "18 October 2025" in out


def test_status_json(built, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["index", "status", "--json", "--index-dir", str(built.index_dir)]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["articles"] == 1 and status["passages"] >= 2
    assert status["model"] == "all-MiniLM-L6-v2" and status["size_bytes"] > 0 and status["built_at"]


def test_build_summary_counts(shipped_corpus, make_settings) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(corpus_dir=shipped_corpus)
    code, out, err = run_cli(settings, "index", "build", "-q")
    assert code == 0, err
    assert "1 added, 0 changed, 0 removed, 0 unchanged, 0 skipped" in out
    code, out, _ = run_cli(settings, "index", "build", "-q")
    assert code == 0 and "nothing to do" in out and "1 unchanged" in out


def test_no_index_yet(make_settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    with pytest.raises(IndexNotBuilt, match="khabar index build"):
        Retriever(settings)
    code, _out, err = run_cli(make_settings(corpus_dir=tmp_path), "ask", "anything")
    assert code == 2 and "khabar index build" in err and "Traceback" not in err


def corrupt_vectors(generation: Path) -> None:
    path = generation / "vectors.faiss"
    path.write_bytes(path.read_bytes()[:100])


def corrupt_sqlite(generation: Path) -> None:
    (generation / SQLITE_FILE).write_bytes(b"this is not a database" * 100)


def remove_sqlite(generation: Path) -> None:
    (generation / SQLITE_FILE).unlink()


def garble_manifest(generation: Path) -> None:
    (generation / MANIFEST).write_text("{not json")


@pytest.mark.parametrize(
    "damage", [corrupt_vectors, corrupt_sqlite, remove_sqlite, garble_manifest]
)
def test_corrupt_index_is_a_clear_error(built, damage) -> None:  # type: ignore[no-untyped-def]
    generation = layout.current_generation(built.index_dir)
    damage(generation)
    with pytest.raises(IndexCorrupt):
        Retriever(built)
    code, _, err = run_cli(built, "ask", QUESTION)
    assert code == 2 and "Traceback" not in err and "khabar index build --full" in err
    assert f"--index-dir {built.index_dir}" in err  # the hint repeats the user's folders
    code, out, _ = run_cli(built, "index", "status")
    assert code == 1 and "state:    damaged" in out, out
    assert f'"khabar index build --full --corpus {built.corpus_dir}' in out
    # And a build repairs it: the damaged index is not reused.
    code, _, err = run_cli(built, "index", "build", "-q")
    assert code == 0, err
    assert Retriever(built).search(QUESTION)[0].excerpt


def test_index_from_another_model_says_rebuild(built) -> None:  # type: ignore[no-untyped-def]
    generation = layout.current_generation(built.index_dir)
    manifest = json.loads((generation / MANIFEST).read_text())
    manifest["model"] = "intfloat/multilingual-e5-small"
    (generation / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatch, match="khabar index build"):
        Retriever(built)
    manifest["format_version"] = 999
    (generation / MANIFEST).write_text(json.dumps(manifest))
    code, _, err = run_cli(built, "ask", QUESTION)
    assert code == 2 and "--full" in err and "Traceback" not in err


def test_eval_reports_every_metric(tmp_path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import TEST_MODEL, write

    answerable, other = tmp_path / "set", tmp_path / "other"
    write(
        answerable,
        "corpus/ferry.md",
        "---\ntitle: Caspian ferry\n---\nThe summit was long. "
        "The ferry from Baku to Aktau takes eighteen hours. Tickets are sold online.",
    )
    write(
        answerable,
        "corpus/wheat.md",
        "---\ntitle: Wheat\n---\nKazakhstan harvested a record "
        "wheat crop of 26 million tonnes this year.",
    )
    rows = [
        {
            "id": "1",
            "question": "How long does the ferry from Baku to Aktau take?",
            "answers": ["eighteen hours"],
            "article": "ferry",
        },
        {
            "id": "2",
            "question": "How much wheat did Kazakhstan harvest?",
            "answers": ["26 million tonnes"],
            "article": "wheat",
        },
    ]
    write(answerable, "questions.jsonl", "\n".join(json.dumps(r) for r in rows))
    write(
        other,
        "questions.jsonl",
        json.dumps(
            {
                "id": "x",
                "question": "Who won the 1966 FIFA World Cup final?",
                "answers": ["England"],
                "article": "nowhere",
            }
        ),
    )
    monkeypatch.setenv("KHABAR_DATA_DIR", str(tmp_path / "data"))
    args = ["eval", str(answerable), "--json", "--unanswerable", str(other), "--model", TEST_MODEL]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) >= {
        "set",
        "questions",
        "model",
        "retriever",
        "article@1",
        "article@5",
        "mrr@10",
        "passage_answer@1",
        "answer@1",
        "answer@3",
        "not_found",
        "excerpt_words",
        "p50_ms",
        "p95_ms",
        "declined_unanswerable",
    }
    assert (result["set"], result["questions"], result["model"]) == ("set", 2, TEST_MODEL)
    assert result["article@1"] == 100.0 and result["answer@1"] == 100.0
    assert result["mrr@10"] == 1.0 and result["not_found"] == 0.0
    assert result["declined_unanswerable"] == 1.0
    assert 0 < result["excerpt_words"] <= 60
    # The second run reuses the cached index: nothing is embedded again.
    cache = list((tmp_path / "data" / "eval-cache").iterdir())
    assert main(args) == 0 and list((tmp_path / "data" / "eval-cache").iterdir()) == cache


def test_hints_repeat_the_folders_the_user_gave() -> None:
    import argparse

    from khabar.hints import given_flags, repeat_flags

    args = argparse.Namespace(corpus=None, index_dir="/srv/my news", model=None)
    message = 'no index in /srv/my news — run "khabar index build" first'
    assert repeat_flags(message, given_flags(args)) == (
        "no index in /srv/my news — run \"khabar index build --index-dir '/srv/my news'\" first"
    )
    assert repeat_flags(message, given_flags(argparse.Namespace())) == message
