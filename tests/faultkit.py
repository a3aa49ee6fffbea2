"""Killing index builds on purpose: shared by tests/test_faults.py (a few kill points) and
bench/build/kill_builds.py (many). Builds run as real `khabar index build` processes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.answer.retriever import Retriever
from index.backends.folder import layout
from index.backends.folder.textstore import FILE_NAME as SQLITE_FILE
from index.backends.folder.textstore import TextStore
from index.backends.folder.vectorstore import load_store
from index.build.manifest import Manifest
from index.model.embedder import Embedder
from index.settings import Settings

Snapshot = dict[str, list[tuple[str, np.ndarray]]]  # article id -> its passages and vectors


def build_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KHABAR_", "TELEGRAM_"))}
    env.update(
        {
            "KHABAR_CORPUS_DIR": str(settings.corpus_dir),
            "KHABAR_INDEX_DIR": str(settings.index_dir),
            "KHABAR_DATA_DIR": str(settings.data_dir),
            "KHABAR_MODEL": settings.model,
            "KHABAR_READER": settings.reader,
            "KHABAR_CHUNK_TOKENS": str(settings.chunk_tokens),
            "KHABAR_MODELS_DIR": str(settings.model_cache),
        }
    )
    return env


def start_build(settings: Settings, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "khabar", "index", "build", *args],
        env=build_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def snapshot(index_dir: Path) -> Snapshot:
    """Everything the published index holds: each article's passages and their vectors."""
    generation = layout.current_generation(index_dir)
    assert generation is not None
    manifest = Manifest.load(generation)
    manifest.check_files(generation)
    text = TextStore.open_readonly(generation / SQLITE_FILE)
    try:
        ids = text.passage_ids([a.id for a in text.articles()])
        rows = text.passages(ids)
    finally:
        text.close()
    store = load_store(manifest.store, generation, manifest.dimension)
    vectors = store.vectors(np.array(ids, dtype=np.int64))
    out: Snapshot = {}
    for pid, vector in zip(ids, vectors, strict=True):
        row = rows[pid]
        out.setdefault(row.article.id, []).append((row.text, vector))
    for passages in out.values():
        passages.sort(key=lambda p: p[0])
    return out


def same_index(a: Snapshot, b: Snapshot) -> list[str]:
    """Differences between two snapshots (empty when they hold the same passages and vectors)."""
    problems = []
    if a.keys() != b.keys():
        problems.append(f"articles differ: {sorted(a.keys() ^ b.keys())[:5]}")
    for article in a.keys() & b.keys():
        texts_a = [t for t, _ in a[article]]
        texts_b = [t for t, _ in b[article]]
        if texts_a != texts_b:
            problems.append(f"{article}: passages differ")
            continue
        for (_, va), (_, vb) in zip(a[article], b[article], strict=True):
            if float(np.dot(va, vb)) < 0.9999:
                problems.append(f"{article}: vectors differ")
                break
    return problems


@dataclass
class KillReport:
    kills: int = 0
    killed_before_publish: int = 0
    killed_after_publish: int = 0
    finished_before_kill: int = 0
    delays: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def kill_builds(
    settings: Settings,
    kills: int,
    full_seconds: float,
    probe: str,
    embedder: Embedder | None = None,
    seed: int = 7,
    on_publish: Callable[[], None] | None = None,
) -> KillReport:
    """Start a build and SIGKILL it at a random moment, `kills` times. After each kill the
    published index must load and answer `probe`, and be either the old index or the new one.
    `on_publish` runs when a build got as far as publishing (to give the next one work again)."""
    rng = random.Random(seed)
    report = KillReport()
    old = snapshot(settings.index_dir)
    for _ in range(kills):
        before = layout.current_generation(settings.index_dir)
        proc = start_build(settings)
        delay = rng.uniform(0.0, full_seconds * 1.1)
        report.delays.append(delay)
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        finished = proc.poll() is not None
        if finished:
            report.finished_before_kill += 1
        else:
            proc.send_signal(signal.SIGKILL)
            report.kills += 1
        proc.wait()
        after = layout.current_generation(settings.index_dir)
        if not finished:
            if after == before:
                report.killed_before_publish += 1
            else:
                report.killed_after_publish += 1
        try:
            hits = Retriever(settings, embedder).search(probe)
            now = snapshot(settings.index_dir)
        except Exception as exc:  # any failure to load is what this hunts for
            report.problems.append(f"after a kill at {delay:.2f} s: {type(exc).__name__}: {exc}")
            continue
        if not hits:
            report.problems.append(f"after a kill at {delay:.2f} s: no answer to the probe")
        if after == before and same_index(old, now):
            report.problems.append(f"after a kill at {delay:.2f} s: the old index changed")
        old = now
        if after != before and on_publish is not None:
            on_publish()
    return report
