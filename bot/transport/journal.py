"""The update journal (`bot.sqlite` in the data folder): every update Telegram delivered, from
before it is confirmed (polling) or acknowledged (webhook) until its handler has finished.

At start-up the unfinished ones are handled first; an update delivered again (the process died
between journaling and confirming, or Telegram retried a webhook call) is recognised by its id
and not handled twice.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from telegram import Update

# Telegram keeps an unconfirmed update for 24 hours, and after a week without updates starts
# numbering them again at random: finished ids are kept two days, per bot.
KEEP_SECONDS = 2 * 24 * 3600


class UpdateJournal:
    """Updates received but not yet finished, and the ids of finished ones, per bot."""

    def __init__(self, path: Path, bot_id: int) -> None:
        self.bot_id = bot_id
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")  # survives a killed process
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS updates (bot INTEGER NOT NULL, update_id INTEGER NOT "
            "NULL, body TEXT, received REAL NOT NULL, done REAL, PRIMARY KEY (bot, update_id))"
        )
        self._lock = threading.Lock()
        self._finished = 0
        with self._lock:
            self._forget_old()

    def record(self, updates: Sequence[Update]) -> list[Update]:
        """Journal a fetched batch; returns the updates seen for the first time."""
        if not updates:
            return []
        ids = [u.update_id for u in updates]
        marks = ",".join("?" * len(ids))
        now = time.time()
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                known = {
                    row[0]
                    for row in self._conn.execute(
                        f"SELECT update_id FROM updates WHERE bot = ? AND update_id IN ({marks})",
                        [self.bot_id, *ids],
                    )
                }
                fresh = [u for u in updates if u.update_id not in known]
                self._conn.executemany(
                    "INSERT INTO updates (bot, update_id, body, received) VALUES (?, ?, ?, ?)",
                    [(self.bot_id, u.update_id, u.to_json(), now) for u in fresh],
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return fresh

    def skip(self, update_ids: Sequence[int]) -> None:
        """Record updates that cannot be read as done: skipped, never to be handled."""
        now = time.time()
        with self._lock:
            self._conn.executemany(
                "INSERT OR IGNORE INTO updates (bot, update_id, body, received, done) "
                "VALUES (?, ?, NULL, ?, ?)",
                [(self.bot_id, update_id, now, now) for update_id in update_ids],
            )

    def unfinished(self) -> list[dict[str, object]]:
        """The journaled updates whose handling never finished (oldest first)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT body FROM updates WHERE bot = ? AND done IS NULL ORDER BY update_id",
                (self.bot_id,),
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def finish(self, update_id: int) -> None:
        with self._lock:
            self._conn.execute(
                "UPDATE updates SET done = ?, body = NULL WHERE bot = ? AND update_id = ?",
                (time.time(), self.bot_id, update_id),
            )
            self._finished += 1
            if self._finished % 10_000 == 0:
                self._forget_old()

    def _forget_old(self) -> None:
        self._conn.execute(
            "DELETE FROM updates WHERE done IS NOT NULL AND done < ?",
            (time.time() - KEEP_SECONDS,),
        )

    def close(self) -> None:
        with self._lock:
            self._conn.close()
