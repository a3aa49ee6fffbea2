"""Topics chats follow (/follow), kept in the bot's SQLite file so they survive restarts."""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Follow:
    chat_id: int
    topic: str
    lang: str  # the interface language of whoever followed it: the alert's language


class FollowStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS follows (id INTEGER PRIMARY KEY, chat_id INTEGER NOT "
            "NULL, topic TEXT NOT NULL, lang TEXT NOT NULL, created REAL NOT NULL, "
            "UNIQUE (chat_id, topic))"
        )
        self._lock = threading.Lock()

    def add(self, chat_id: int, topic: str, lang: str) -> bool:
        """Follow `topic` in the chat; False when the chat follows it already."""
        with self._lock:
            cursor = self._conn.execute(
                "INSERT OR IGNORE INTO follows (chat_id, topic, lang, created) VALUES (?, ?, ?, ?)",
                (chat_id, topic, lang, time.time()),
            )
        return cursor.rowcount == 1

    def of_chat(self, chat_id: int) -> list[str]:
        """The chat's topics, oldest first (their numbers in /following start at 1)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT topic FROM follows WHERE chat_id = ? ORDER BY id", (chat_id,)
            ).fetchall()
        return [row[0] for row in rows]

    def remove(self, chat_id: int, topic: str) -> bool:
        with self._lock:
            cursor = self._conn.execute(
                "DELETE FROM follows WHERE chat_id = ? AND topic = ?", (chat_id, topic)
            )
        return cursor.rowcount == 1

    def remove_chat(self, chat_id: int) -> int:
        """Forget every topic of a chat (it asked to, or blocked the bot)."""
        with self._lock:
            cursor = self._conn.execute("DELETE FROM follows WHERE chat_id = ?", (chat_id,))
        return cursor.rowcount

    def all(self) -> list[Follow]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT chat_id, topic, lang FROM follows ORDER BY id"
            ).fetchall()
        return [Follow(int(c), str(t), str(lang)) for c, t, lang in rows]

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM follows").fetchone()[0])

    def close(self) -> None:
        self._conn.close()
