"""Long polling that loses no question and answers none twice.

python-telegram-bot's own `Updater` confirms a batch of updates to Telegram (the next
getUpdates' offset) as soon as it has queued them in memory: a bot killed or restarted with
questions in flight never sees them again. Here every batch is first journaled and handed to
the `Dispatcher` (`dispatch.py`), and only then confirmed to Telegram.

Network failures, 5xx, 429 and a restarting server only delay polling (with a capped
back-off); a refused token stops it with a clear error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application

from .dispatch import Dispatcher

log = logging.getLogger(__name__)

BACKOFF_FIRST, BACKOFF_MAX = 0.25, 10.0


class Poller:
    """Fetch, journal, confirm (with the next fetch), and handle each update as a task."""

    def __init__(
        self,
        app: Application,
        dispatcher: Dispatcher,
        allowed_updates: list[str],
        timeout: int = 10,
        limit: int = 100,
    ) -> None:
        self.app = app
        self.dispatcher = dispatcher
        self.allowed_updates = allowed_updates
        self.timeout = timeout
        self.limit = limit
        self.offset: int | None = None  # None: start with whatever Telegram has not confirmed
        self.failures = 0  # getUpdates calls that failed (network, 5xx, timeouts)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def skipped(self) -> int:
        """Updates fetched again but already journaled."""
        return self.dispatcher.skipped

    def start(self) -> None:
        self.dispatcher.replay()
        self._task = asyncio.create_task(self._run(), name="khabar-poller")

    async def stop(self) -> None:
        """Stop fetching; give the updates in hand a grace period; confirm what was fetched.
        Updates still unfinished after the grace period are handled after the restart."""
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, TelegramError):
                await self._task
            self._task = None
        await self.dispatcher.drain()
        if self.offset is not None:
            with contextlib.suppress(TelegramError):  # the journal covers a failure here
                await self.app.bot.get_updates(offset=self.offset, timeout=0, limit=1)

    async def wait(self) -> None:
        """Until polling ends (stopped, or a fatal error such as a refused token)."""
        if self._task is not None:
            await self._task

    async def idle(self) -> None:
        """Until no update is being handled (tests and benchmarks)."""
        await self.dispatcher.idle()

    async def _run(self) -> None:
        delay = BACKOFF_FIRST
        webhook_cleared = False
        while not self._stop.is_set():
            await self.dispatcher.wait_for_room(self._stop)
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
                self.failures += 1
                log.warning("getUpdates failed (%s); retrying in %.2f s", exc, delay)
                await self._pause(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            delay = BACKOFF_FIRST
            if not updates:
                continue
            await self.dispatcher.receive(updates)  # journaled before the next fetch confirms them
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


def _seconds(value: object) -> float:
    if isinstance(value, int | float):
        return float(value)
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else 1.0
