"""What readers miss: the questions Khabar declined, for the editors' /gaps.

Kept only when `KHABAR_GAPS=true` (questions are personal data): the text and the time, never
who asked or where, in their own SQLite file (`DATA_DIR/gaps.sqlite`, easy to delete), pruned
after `KEEP_DAYS`. /gaps groups them by meaning with the model's own vectors: questions whose
vectors are closer than `SAME_TOPIC` join the same group (greedy, most asked first).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

KEEP_DAYS = 90
MAX_GROUPED = 3000  # the most recent declined questions /gaps groups
# Cosine of e5-small question vectors from which two questions count as one topic. Measured
# (bench/load/bench_follow_gaps.py, docs/quality.md): at 0.84, 81% of xquad questions fall in one
# group with their Russian translation, no two questions about different articles do, and 22%
# of different questions about the same article do (the same subject: one gap for an editor).
SAME_TOPIC = 0.84
DAY = 86_400.0


@dataclass(frozen=True)
class Gap:
    question: str  # the group's most asked wording
    count: int  # questions in the group
    wordings: int  # different wordings among them


class GapStore:
    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS declined (asked REAL NOT NULL, question TEXT NOT NULL)"
        )
        self._conn.execute("CREATE INDEX IF NOT EXISTS declined_asked ON declined (asked)")
        self._lock = threading.Lock()
        self._clock = clock
        self._added = 0

    def add(self, question: str) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO declined (asked, question) VALUES (?, ?)",
                (self._clock(), " ".join(question.split())[:500]),
            )
            self._added += 1
            if self._added % 100 == 1:
                self._prune()

    def _prune(self) -> None:
        self._conn.execute(
            "DELETE FROM declined WHERE asked < ?", (self._clock() - KEEP_DAYS * DAY,)
        )

    def since(self, days: float) -> list[str]:
        """The questions declined in the last `days` days, newest first (pruning first)."""
        with self._lock:
            self._prune()
            rows = self._conn.execute(
                "SELECT question FROM declined WHERE asked >= ? ORDER BY asked DESC LIMIT ?",
                (self._clock() - days * DAY, MAX_GROUPED),
            ).fetchall()
        return [row[0] for row in rows]

    def close(self) -> None:
        self._conn.close()


def group(
    questions: Sequence[str],
    encode: Callable[[list[str]], np.ndarray],
    threshold: float = SAME_TOPIC,
) -> list[Gap]:
    """Declined questions grouped by meaning, the most asked group first."""
    counts: dict[str, int] = {}
    for question in questions:
        key = question.strip()
        counts[key] = counts.get(key, 0) + 1
    wordings = sorted(counts, key=lambda q: -counts[q])
    if not wordings:
        return []
    vectors = encode(wordings)
    groups: list[list[int]] = []
    centres: list[np.ndarray] = []
    for i, vector in enumerate(vectors):
        best, best_score = -1, threshold
        for g, centre in enumerate(centres):
            score = float(centre @ vector)
            if score >= best_score:
                best, best_score = g, score
        if best < 0:
            groups.append([i])
            centres.append(vector)
        else:
            groups[best].append(i)
            merged = vectors[groups[best]].mean(axis=0)
            centres[best] = merged / (np.linalg.norm(merged) or 1.0)
    gaps = [
        Gap(wordings[members[0]], sum(counts[wordings[m]] for m in members), len(members))
        for members in groups
    ]
    return sorted(gaps, key=lambda gap: -gap.count)
