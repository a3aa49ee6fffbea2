"""Questions remembered by a short id, so buttons keep working after a restart.

callback_data is limited to 64 bytes, far too little for a question; a button carries the
question's id instead (base 36), and the question is kept in SQLite in the data folder.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
MAX_KEPT = 200_000  # older questions are forgotten; their buttons say "ask again"


def to_base36(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _ALPHABET[rest] + digits
        if number == 0:
            return digits


def from_base36(text: str) -> int | None:
    if not text or len(text) > 12 or any(c not in _ALPHABET for c in text):
        return None
    return int(text, 36)


class QuestionStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        # No fsync per question on the event loop (3% of the bot's time under load); a killed
        # process still keeps every question, a power cut may lose the last few "more" buttons.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS questions (id INTEGER PRIMARY KEY, text TEXT NOT NULL, "
            "asked REAL NOT NULL, follows TEXT)"
        )
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(questions)")}
        if "follows" not in columns:  # a file from before follow-ups
            self._conn.execute("ALTER TABLE questions ADD COLUMN follows TEXT")
        self._lock = threading.Lock()

    def remember(self, question: str, follows: str | None = None) -> str:
        """An id for `question`; `follows`, the question before it, when its answer was found
        through it (a follow-up: its buttons page through that same answer)."""
        with self._lock:
            cursor = self._conn.execute(
                "INSERT INTO questions (text, asked, follows) VALUES (?, ?, ?)",
                (question, time.time(), follows),
            )
            qid = int(cursor.lastrowid or 0)
            if qid % 1000 == 0:
                self._conn.execute("DELETE FROM questions WHERE id <= ?", (qid - MAX_KEPT,))
        return to_base36(qid)

    def recall(self, qid: str) -> tuple[str, str | None] | None:
        """The question, and the question it followed (None when it stood alone)."""
        number = from_base36(qid)
        if number is None:
            return None
        with self._lock:
            row = self._conn.execute(
                "SELECT text, follows FROM questions WHERE id = ?", (number,)
            ).fetchone()
        return (row[0], row[1]) if row else None

    def close(self) -> None:
        self._conn.close()
