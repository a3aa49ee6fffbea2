"""Long polling that loses no question and answers none twice.

python-telegram-bot's own `Updater` confirms a batch of updates to Telegram (the next
getUpdates' offset) as soon as it has queued them, before any handler ran: a bot killed or
restarted with questions in flight never sees them again. Here an update is confirmed only
after its handler finished, and the ids of handled updates are recorded in the data folder,
so a batch that was half handled when the process died is finished after the restart without
answering its first half again. Network failures, 5xx, 429 and a restarting server only delay
polling (with a capped back-off); a wrong token stops it with a clear error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

log = logging.getLogger(__name__)

# Telegram keeps an unconfirmed update for 24 hours, and after a week without updates starts
# numbering them again at random: handled ids are kept two days, per bot.
KEEP_SECONDS = 2 * 24 * 3600
BACKOFF_FIRST, BACKOFF_MAX = 0.25, 10.0
STOP_GRACE_SECONDS = 30.0  # a stop waits this long for the batch being answered


class HandledStore:
    """The ids of updates whose handler finished, in SQLite (bot.sqlite of the data folder)."""

    def __init__(self, path: Path, bot_id: int) -> None:
        self.bot_id = bot_id
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS handled (bot INTEGER NOT NULL, update_id INTEGER NOT NULL, "
            "at REAL NOT NULL, PRIMARY KEY (bot, update_id))"
        )
        self._forget_old()
        self._lock = threading.Lock()
        self._marked = 0

    def handled(self, update_ids: Sequence[int]) -> set[int]:
        if not update_ids:
            return set()
        marks = ",".join("?" * len(update_ids))
        with self._lock:
            rows = self._conn.execute(
                f"SELECT update_id FROM handled WHERE bot = ? AND update_id IN ({marks})",
                [self.bot_id, *update_ids],
            ).fetchall()
        return {row[0] for row in rows}

    def mark(self, update_id: int) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO handled (bot, update_id, at) VALUES (?, ?, ?)",
                (self.bot_id, update_id, time.time()),
            )
            self._marked += 1
            if self._marked % 10_000 == 0:
                self._forget_old()

    def _forget_old(self) -> None:
        self._conn.execute("DELETE FROM handled WHERE at < ?", (time.time() - KEEP_SECONDS,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class Poller:
    """Fetch a batch, handle it (concurrently), record it, then confirm it with the next fetch."""

    def __init__(
        self,
        app: Application,
        handled: HandledStore,
        allowed_updates: list[str],
        timeout: int = 10,
        limit: int = 100,
    ) -> None:
        self.app = app
        self.store = handled
        self.allowed_updates = allowed_updates
        self.timeout = timeout
        self.limit = limit
        self.offset: int | None = None  # None: start with whatever Telegram has not confirmed
        self.skipped = 0  # updates fetched again after a restart but already handled
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="khabar-poller")

    async def stop(self) -> None:
        """Stop fetching; let the batch in hand finish (up to a grace period); confirm it."""
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), STOP_GRACE_SECONDS)
            except TimeoutError:  # unfinished updates come again after the restart
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            except TelegramError:
                pass  # already logged by _run
            self._task = None
        if self.offset is not None:
            with contextlib.suppress(TelegramError):  # the handled-ids record covers a failure
                await self.app.bot.get_updates(offset=self.offset, timeout=0, limit=1)

    async def wait(self) -> None:
        """Until polling ends (stopped, or a fatal error such as a revoked token)."""
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        delay = BACKOFF_FIRST
        webhook_cleared = False
        while not self._stop.is_set():
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
            except (NetworkError, TelegramError) as exc:
                log.warning("getUpdates failed (%s); retrying in %.2f s", exc, delay)
                await self._pause(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            delay = BACKOFF_FIRST
            if updates:
                # The batch is handled to the end even when a stop arrives meanwhile.
                await self._handle(updates)
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

    async def _handle(self, updates: Sequence[Update]) -> None:
        done = self.store.handled([u.update_id for u in updates])
        self.skipped += len(done)
        fresh = [u for u in updates if u.update_id not in done]
        await asyncio.gather(*(self._one(update) for update in fresh))

    async def _one(self, update: Update) -> None:
        try:
            await self.app.process_update(update)  # handler errors go to the error handler
        except Exception:  # one bad update must not stop the others
            log.exception("update %s could not be processed", update.update_id)
        self.store.mark(update.update_id)


def _seconds(value: object) -> float:
    if isinstance(value, int | float):
        return float(value)
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else 1.0
