"""Index builds under faults: killed at random moments, a write that fails half-way, damaged
files. The published index always loads and answers; a broken build says what to do."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from index.answer.retriever import Retriever
from index.backends.choose import build_index
from index.backends.folder import layout
from tests.conftest import write
from tests.faultkit import build_env, kill_builds, same_index, snapshot, start_build
from tests.test_processes import free_port

KILLS = int(os.environ.get("KHABAR_TEST_KILLS", "6"))
PROBE = "Which port does the Caspian ferry leave from?"


def _article(i: int) -> str:
    body = " ".join(
        f"Report {i} sentence {j} covers trade, rail freight and new customs rules in Aktau."
        for j in range(25)
    )
    return (
        f"---\ntitle: Trade report {i}\nsource: Test\ndate: 2025-02-{1 + i % 28:02}\n---\n{body}\n"
    )


def _corpus(corpus: Path, reports: int) -> None:
    write(
        corpus,
        "ferry.md",
        "---\ntitle: Caspian ferry\n---\nThe ferry to Aktau leaves from the port of Alat, "
        "south of Baku, twice a week.\n",
    )
    for i in range(reports):
        write(corpus, f"reports/{i:03}.md", _article(i))


def test_builds_killed_at_random_moments_leave_a_working_index(
    corpus, make_settings, embedder, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    _corpus(corpus, 10)
    build_index(settings, embedder=embedder)
    _corpus(corpus, 80)  # 70 new articles for the builds to be killed in

    # How long a whole build of the change takes, on a copy, to spread the kills over it.
    trial = make_settings(index_dir=tmp_path / "trial")
    shutil.copytree(settings.index_dir, trial.index_dir, symlinks=True)
    started = time.perf_counter()
    proc = start_build(trial)
    assert proc.wait(timeout=300) == 0, proc.stderr.read() if proc.stderr else ""
    full_seconds = time.perf_counter() - started

    stash = tmp_path / "stash"
    stash.mkdir()

    def toggle() -> None:  # a build got through: the next one removes or adds the reports
        reports = corpus / "reports"
        if any(reports.iterdir()):
            for path in reports.iterdir():
                shutil.move(path, stash / path.name)
        else:
            for path in stash.iterdir():
                shutil.move(path, reports / path.name)

    report = kill_builds(settings, KILLS, full_seconds, PROBE, embedder=embedder, on_publish=toggle)
    assert report.problems == []
    assert report.kills >= KILLS // 2, report

    # The next build completes and matches a clean full build of the same corpus.
    for path in stash.iterdir():
        shutil.move(path, corpus / "reports" / path.name)
    finish = start_build(settings)
    assert finish.wait(timeout=300) == 0
    clean = make_settings(index_dir=tmp_path / "clean")
    build_index(clean, embedder=embedder)
    assert same_index(snapshot(settings.index_dir), snapshot(clean.index_dir)) == []
    assert len(list((settings.index_dir / layout.GENERATIONS).iterdir())) <= 2
    assert Retriever(settings, embedder).search(PROBE)[0].article_id == "ferry.md"


def _limit_file_size(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)


def test_a_failing_write_keeps_the_old_index(corpus, make_settings, embedder) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    _corpus(corpus, 5)
    build_index(settings, embedder=embedder)
    before = snapshot(settings.index_dir)
    generation = layout.current_generation(settings.index_dir)
    _corpus(corpus, 60)
    largest = max(p.stat().st_size for p in generation.iterdir() if p.is_file())
    # Files may grow to the old index's size but not past it: the new index cannot be written,
    # as on a disk that fills up during the build.
    proc = subprocess.run(
        [sys.executable, "-m", "khabar", "index", "build"],
        env=build_env(settings),
        capture_output=True,
        text=True,
        preexec_fn=lambda: _limit_file_size(largest + 4096),
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert "could not write the new index" in proc.stderr and "unchanged" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert layout.current_generation(settings.index_dir) == generation
    assert same_index(before, snapshot(settings.index_dir)) == []
    assert [p for p in (settings.index_dir / layout.GENERATIONS).iterdir()] == [generation]
    assert Retriever(settings, embedder).search(PROBE)[0].article_id == "ferry.md"
    # With room again, the build goes through.
    assert build_index(settings, embedder=embedder).added == 55


def test_altered_index_files_are_caught_and_explained(corpus, make_settings, embedder) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    _corpus(corpus, 3)
    build_index(settings, embedder=embedder)
    generation = layout.current_generation(settings.index_dir)
    assert generation is not None
    vectors = generation / "vectors.faiss"
    data = bytearray(vectors.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = np.full(4, 7.5, dtype=np.float32).tobytes()  # same size
    vectors.write_bytes(bytes(data))
    bot = subprocess.run(
        [sys.executable, "-m", "khabar", "bot", "--port", str(free_port())],
        env=build_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bot.returncode == 2
    assert "altered" in bot.stderr and "khabar index build --full" in bot.stderr
    assert "Traceback" not in bot.stderr
