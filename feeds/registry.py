"""The feeds Khabar polls and every item it has seen, in SQLite (`DATA_DIR/feeds.sqlite`),
shared by `khabar feeds …` and the running bot. An item saved is never fetched again (by
its guid, or by its link from any feed); a failed one is tried again later, less and less
often, and given up after `MAX_ATTEMPTS`."""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_ATTEMPTS = 5
FIRST_RETRY = 600.0  # seconds; doubled at each failure, at most a day
SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY, source TEXT NOT NULL, added REAL NOT NULL,
    polled REAL, error TEXT, failures INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS items (
    feed TEXT NOT NULL, key TEXT NOT NULL, link TEXT NOT NULL, title TEXT NOT NULL,
    status TEXT NOT NULL, path TEXT, attempts INTEGER NOT NULL DEFAULT 0, error TEXT,
    next_try REAL, seen REAL NOT NULL, PRIMARY KEY (feed, key));
CREATE INDEX IF NOT EXISTS items_link ON items (link);
"""


@dataclass(frozen=True)
class FeedRow:
    url: str
    source: str
    polled: float | None
    error: str | None
    failures: int


@dataclass(frozen=True)
class Counts:
    feeds: int
    failing: int
    saved: int
    retrying: int
    given_up: int


class Registry:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=10000")  # the CLI and the bot may share it
        self._conn.executescript(SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._conn.close()

    def _run(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    # --- feeds ------------------------------------------------------------------------------
    def add_feed(self, url: str, source: str) -> bool:
        """Register a feed; False when it was registered already."""
        with self._lock:
            cursor = self._conn.execute(
                "INSERT OR IGNORE INTO feeds (url, source, added) VALUES (?, ?, ?)",
                (url, source, time.time()),
            )
        return cursor.rowcount == 1

    def remove_feed(self, url: str) -> bool:
        """Forget a feed (its saved articles stay in the corpus); False when unknown."""
        with self._lock:
            cursor = self._conn.execute("DELETE FROM feeds WHERE url = ?", (url,))
            self._conn.execute("DELETE FROM items WHERE feed = ? AND status != 'saved'", (url,))
        return cursor.rowcount == 1

    def feeds(self) -> list[FeedRow]:
        rows = self._run("SELECT url, source, polled, error, failures FROM feeds ORDER BY added")
        return [FeedRow(*row) for row in rows]

    def feed_polled(self, url: str, error: str | None) -> None:
        self._run(
            "UPDATE feeds SET polled = ?, error = ?, "
            "failures = CASE WHEN ? IS NULL THEN 0 ELSE failures + 1 END WHERE url = ?",
            (time.time(), error, error, url),
        )

    # --- items ------------------------------------------------------------------------------
    def wanted(self, feed: str, key: str, link: str, now: float) -> bool:
        """Whether to fetch this item now: new, or failed and due for another try, and its
        link not saved already (from any feed)."""
        saved = self._run("SELECT 1 FROM items WHERE link = ? AND status = 'saved'", (link,))
        if saved:
            return False
        row = self._run(
            "SELECT status, next_try FROM items WHERE feed = ? AND key = ?", (feed, key)
        )
        if not row:
            return True
        status, next_try = row[0]
        return status == "failed" and (next_try is None or float(next_try) <= now)

    def saved(self, feed: str, key: str, link: str, title: str, path: str) -> None:
        self._run(
            "INSERT INTO items (feed, key, link, title, status, path, attempts, seen) "
            "VALUES (?, ?, ?, ?, 'saved', ?, 1, ?) ON CONFLICT (feed, key) DO UPDATE SET "
            "status = 'saved', path = excluded.path, error = NULL, next_try = NULL, "
            "attempts = attempts + 1",
            (feed, key, link, title, path, time.time()),
        )

    def failed(self, feed: str, key: str, link: str, title: str, error: str, retry: bool) -> None:
        """Record a failed fetch: tried again later when `retry`, else given up at once."""
        now = time.time()
        row = self._run("SELECT attempts FROM items WHERE feed = ? AND key = ?", (feed, key))
        attempts = int(row[0][0]) + 1 if row else 1
        give_up = not retry or attempts >= MAX_ATTEMPTS
        status = "gave_up" if give_up else "failed"
        next_try = None if give_up else now + min(FIRST_RETRY * 2 ** (attempts - 1), 86_400)
        self._run(
            "INSERT INTO items (feed, key, link, title, status, attempts, error, next_try, seen) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (feed, key) DO UPDATE SET "
            "status = excluded.status, attempts = excluded.attempts, error = excluded.error, "
            "next_try = excluded.next_try",
            (feed, key, link, title[:500], status, attempts, error[:500], next_try, now),
        )

    def saved_path(self, link: str) -> str | None:
        row = self._run("SELECT path FROM items WHERE link = ? AND status = 'saved'", (link,))
        return str(row[0][0]) if row else None

    def counts(self) -> Counts:
        feeds, failing = self._run(
            "SELECT COUNT(*), COALESCE(SUM(error IS NOT NULL), 0) FROM feeds"
        )[0]
        by_status: dict[str, int] = dict(
            self._run("SELECT status, COUNT(*) FROM items GROUP BY status")
        )
        return Counts(
            int(feeds),
            int(failing),
            int(by_status.get("saved", 0)),
            int(by_status.get("failed", 0)),
            int(by_status.get("gave_up", 0)),
        )

    def problems(self, limit: int = 10) -> list[tuple[str, str]]:
        """The latest failed items: (link, error)."""
        rows = self._run(
            "SELECT link, error FROM items WHERE status != 'saved' ORDER BY seen DESC LIMIT ?",
            (limit,),
        )
        return [(str(a), str(b)) for a, b in rows]
