"""Long polling that loses no question and answers none twice.

python-telegram-bot's own `Updater` confirms a batch of updates to Telegram (the next
getUpdates' offset) as soon as it has queued them in memory: a bot killed or restarted with
questions in flight never sees them again. Here every update is first written to a journal in
the data folder (`bot.sqlite`), and only then confirmed to Telegram; it is marked done when its
handler has finished. At start-up, journaled updates that were never finished are handled
first. An update fetched again (the process died between journaling and confirming) is
recognised by its id and not handled twice. A slow update does not hold up the others: each
is handled as its own task, up to `MAX_IN_FLIGHT` at once.

Network failures, 5xx, 429 and a restarting server only delay polling (with a capped
back-off); a refused token stops it with a clear error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from telegram import Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application

log = logging.getLogger(__name__)

# Telegram keeps an unconfirmed update for 24 hours, and after a week without updates starts
# numbering them again at random: finished ids are kept two days, per bot.
KEEP_SECONDS = 2 * 24 * 3600
BACKOFF_FIRST, BACKOFF_MAX = 0.25, 10.0
STOP_GRACE_SECONDS = 30.0  # a stop waits this long for the updates being handled
MAX_IN_FLIGHT = 256  # beyond this, fetching waits for handlers to finish (back-pressure)


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


class Poller:
    """Fetch, journal, confirm (with the next fetch), and handle each update as a task."""

    def __init__(
        self,
        app: Application,
        journal: UpdateJournal,
        allowed_updates: list[str],
        timeout: int = 10,
        limit: int = 100,
    ) -> None:
        self.app = app
        self.journal = journal
        self.allowed_updates = allowed_updates
        self.timeout = timeout
        self.limit = limit
        self.offset: int | None = None  # None: start with whatever Telegram has not confirmed
        self.replayed = 0  # unfinished updates of an earlier run, handled at start-up
        self.skipped = 0  # updates fetched again but already journaled
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._room = asyncio.Event()
        self._room.set()

    def start(self) -> None:
        for data in self.journal.unfinished():
            update = Update.de_json(data, self.app.bot)
            self.replayed += 1
            self._dispatch(update)
        if self.replayed:
            log.info("handling %d updates left unfinished by the last run", self.replayed)
        self._task = asyncio.create_task(self._run(), name="khabar-poller")

    async def stop(self) -> None:
        """Stop fetching; give the updates in hand a grace period; confirm what was fetched.
        Updates still unfinished after the grace period are handled after the restart."""
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, TelegramError):
                await self._task
            self._task = None
        if self._in_flight:
            _, late = await asyncio.wait(self._in_flight, timeout=STOP_GRACE_SECONDS)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        if self.offset is not None:
            with contextlib.suppress(TelegramError):  # the journal covers a failure here
                await self.app.bot.get_updates(offset=self.offset, timeout=0, limit=1)

    async def wait(self) -> None:
        """Until polling ends (stopped, or a fatal error such as a refused token)."""
        if self._task is not None:
            await self._task

    async def idle(self) -> None:
        """Until no update is being handled (tests and benchmarks)."""
        while self._in_flight:
            await asyncio.wait(set(self._in_flight))

    async def _run(self) -> None:
        delay = BACKOFF_FIRST
        webhook_cleared = False
        while not self._stop.is_set():
            await self._wait_for_room()
            try:
                if not webhook_cleared:  # getUpdates is refused while a webhook is set
                    await self.app.bot.delete_webhook(drop_pending_updates=False)
                    webhook_cleared = True
                updates = await self._fetch()
            except asyncio.CancelledError:
                return  # stopped while waiting for updates: nothing was fetched
            except InvalidToken:
                log.error("Telegram refused the bot token; polling stops (check the token)")
                raise
            except RetryAfter as exc:
                await self._pause(_seconds(exc.retry_after))
                continue
            except Conflict as exc:
                log.warning("getUpdates conflict (%s); is another instance running?", exc.message)
                await self._pause(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            except TelegramError as exc:  # network errors, 5xx, timeouts
                log.warning("getUpdates failed (%s); retrying in %.2f s", exc, delay)
                await self._pause(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            delay = BACKOFF_FIRST
            if not updates:
                continue
            # Journaled before the next getUpdates confirms them to Telegram.
            fresh = await asyncio.to_thread(self.journal.record, updates)
            self.skipped += len(updates) - len(fresh)
            for update in fresh:
                self._dispatch(update)
            self.offset = updates[-1].update_id + 1

    async def _fetch(self) -> tuple[Update, ...]:
        fetch = asyncio.ensure_future(
            self.app.bot.get_updates(
                offset=self.offset,
                timeout=self.timeout,
                limit=self.limit,
                allowed_updates=self.allowed_updates,
                read_timeout=self.timeout + 10,
            )
        )
        stopping = asyncio.ensure_future(self._stop.wait())
        done, _ = await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if fetch not in done:
            fetch.cancel()
            with contextlib.suppress(asyncio.CancelledError, TelegramError):
                await fetch
            raise asyncio.CancelledError
        stopping.cancel()
        return fetch.result()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)

    async def _wait_for_room(self) -> None:
        while len(self._in_flight) >= MAX_IN_FLIGHT and not self._stop.is_set():
            self._room.clear()
            await self._room.wait()

    def _dispatch(self, update: Update) -> None:
        task = asyncio.create_task(self._handle(update), name=f"update-{update.update_id}")
        self._in_flight.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._room.set()

    async def _handle(self, update: Update) -> None:
        try:
            await self.app.process_update(update)  # handler errors go to the error handler
        except asyncio.CancelledError:
            return  # not finished: stays in the journal, handled after the restart
        except Exception:  # one bad update must not stop the others
            log.exception("update %s could not be processed", update.update_id)
        await asyncio.to_thread(self.journal.finish, update.update_id)


def _seconds(value: object) -> float:
    if isinstance(value, int | float):
        return float(value)
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else 1.0
