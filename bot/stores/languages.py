"""Each reader's interface language, chosen with /language and kept across restarts.

A reader who never chose one gets the language of their Telegram app (`i18n.language`).
Kept in the bot's SQLite file beside the remembered questions; read from memory after the
first lookup, since every update needs it.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class LanguageStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS user_languages "
            "(user_id INTEGER PRIMARY KEY, lang TEXT NOT NULL)"
        )
        self._lock = threading.Lock()
        self._known: dict[int, str | None] = {}

    def get(self, user_id: int) -> str | None:
        """The language this user chose, or None when they never did."""
        if user_id in self._known:
            return self._known[user_id]
        with self._lock:
            row = self._conn.execute(
                "SELECT lang FROM user_languages WHERE user_id = ?", (user_id,)
            ).fetchone()
        if len(self._known) > 100_000:
            self._known.clear()
        self._known[user_id] = row[0] if row else None
        return self._known[user_id]

    def set(self, user_id: int, lang: str) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO user_languages (user_id, lang) VALUES (?, ?) "
                "ON CONFLICT(user_id) DO UPDATE SET lang = excluded.lang",
                (user_id, lang),
            )
        self._known[user_id] = lang

    def close(self) -> None:
        self._conn.close()
