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
import time
import warnings
from typing import Any
from urllib.parse import urlsplit

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application
from telegram.warnings import PTBUserWarning

from .dispatch import Dispatcher

log = logging.getLogger(__name__)

BACKOFF_FIRST, BACKOFF_MAX = 0.25, 10.0
HEALTHY_MARGIN = 30.0  # seconds past the long-poll timeout before /healthz says unhealthy
# getUpdates is called through do_api_request to read each update on its own (`read_updates`);
# python-telegram-bot suggests its get_updates, which reads the batch whole and fails whole.
warnings.filterwarnings("ignore", message=r".*'Bot\.getUpdates'", category=PTBUserWarning)


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
        self.unreadable = 0  # updates python-telegram-bot could not read: skipped
        self.last_fetch: float | None = None  # monotonic time of the last successful fetch
        self.state = "starting"  # then "connected", "unreachable" or "conflict"
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
            # A task that failed has said why through `wait()`; stopping does not repeat it.
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._task
            self._task = None
        await self.dispatcher.drain()
        if self.offset is not None:
            with contextlib.suppress(TelegramError):  # the journal covers a failure here
                await self.app.bot.do_api_request(
                    "getUpdates", api_kwargs={"offset": self.offset, "timeout": 0, "limit": 1}
                )

    async def wait(self) -> None:
        """Until polling ends (stopped, or a fatal error such as a refused token)."""
        if self._task is not None:
            await asyncio.shield(self._task)  # a waiter that gives up does not stop polling

    async def idle(self) -> None:
        """Until no update is being handled (tests and benchmarks)."""
        await self.dispatcher.idle()

    @property
    def healthy(self) -> bool:
        """Whether updates are being fetched: a getUpdates call succeeded within the last
        long-poll timeout plus a margin (a long poll returns at least that often)."""
        return self.last_fetch is not None and (
            time.monotonic() - self.last_fetch < self.timeout + HEALTHY_MARGIN
        )

    async def _run(self) -> None:
        delay = BACKOFF_FIRST
        webhook_cleared = False
        while not self._stop.is_set():
            await self.dispatcher.wait_for_room(self._stop)
            try:
                if not webhook_cleared:  # getUpdates is refused while a webhook is set
                    await self._clear_webhook()
                    webhook_cleared = True
                raw = await self._fetch()
            except asyncio.CancelledError:
                return  # stopped while waiting for updates: nothing was fetched
            except InvalidToken:
                log.error("Telegram refused the bot token; polling stops (check the token)")
                raise
            except RetryAfter as exc:
                await self._pause(_seconds(exc.retry_after))
                continue
            except (Conflict, TelegramError) as exc:  # another poller, network, 5xx, timeouts
                self.failures += 1
                self._went(_state_of(exc), exc)
                webhook_cleared = webhook_cleared and self.state != "webhook elsewhere"
                await self._pause(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            delay = BACKOFF_FIRST
            self.last_fetch = time.monotonic()
            self._went("connected", None)
            updates, unreadable, offset = read_updates(raw, self.app.bot)
            if unreadable:
                self.unreadable += len(unreadable)
                await asyncio.to_thread(self.dispatcher.journal.skip, unreadable)
            if updates:
                await self.dispatcher.receive(updates)  # journaled before the next fetch
            if offset is not None:
                self.offset = offset

    def _went(self, state: str, exc: TelegramError | None) -> None:
        """One log line per change of state, not one per failed call."""
        if state == self.state:
            return
        before, self.state = self.state, state
        if state == "connected":
            if before != "starting":
                log.warning("Telegram reachable again: fetching updates")
        elif state == "conflict":
            log.warning(
                "another process is fetching this bot's updates (getUpdates conflict): stop "
                "it, or give each bot its own token; retrying until it stops"
            )
        elif state == "webhook elsewhere":
            log.warning(
                "a webhook has been set for this bot while it polls (another deployment in "
                "webhook mode?): run only one of them; this one removes the webhook and goes on"
            )
        else:
            log.warning("Telegram unreachable (%s); retrying with backoff", exc)

    async def _clear_webhook(self) -> None:
        """getUpdates is refused while a webhook is set: say whose webhook is removed."""
        info = await self.app.bot.get_webhook_info()
        if info.url:
            host = urlsplit(info.url).hostname or "?"
            log.warning(
                "this bot had a webhook (%s), so another deployment may be receiving its "
                "updates; polling removes it: run only one deployment per bot token",
                host,
            )
        await self.app.bot.delete_webhook(drop_pending_updates=False)

    async def _fetch(self) -> Any:
        fetch = asyncio.ensure_future(
            self.app.bot.do_api_request(  # raw JSON: each update is read on its own
                "getUpdates",
                api_kwargs={
                    "offset": self.offset,
                    "timeout": self.timeout,
                    "limit": self.limit,
                    "allowed_updates": self.allowed_updates,
                },
                read_timeout=self.timeout + 10,
            )
        )
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:  # stopped, or this task cancelled: the call in flight is ended and collected
            stopping.cancel()
            if not fetch.done():
                fetch.cancel()
            with contextlib.suppress(asyncio.CancelledError, TelegramError):
                await fetch
        if fetch.cancelled():
            raise asyncio.CancelledError
        return fetch.result()

    async def _pause(self, seconds: float) -> None:
        # `asyncio.timeout`: Python 3.11's `wait_for` may lose a cancellation that comes as
        # `_stop` is set (tests/test_testserver.py shows it on the test server's waits).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stop.wait()


def read_updates(raw: Any, bot: Bot) -> tuple[list[Update], list[int], int | None]:
    """A getUpdates result read update by update: those python-telegram-bot can read, the ids
    of those it cannot (logged without their content and skipped, so that one malformed update
    never stops the others), and the offset that confirms them all."""
    updates: list[Update] = []
    unreadable: list[int] = []
    ids: list[int] = []
    for item in raw if isinstance(raw, list) else []:
        update_id = item.get("update_id") if isinstance(item, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            log.warning("skipped an update without an update_id")
            continue
        ids.append(update_id)
        try:
            updates.append(Update.de_json(item, bot))
        except Exception as exc:  # a field python-telegram-bot does not know, or lacks
            kinds = [k for k in item if k != "update_id"]
            log.warning(
                "update %d (%s) could not be read (%s): skipped",
                update_id,
                ", ".join(map(str, kinds[:3])) or "empty",
                type(exc).__name__,
            )
            unreadable.append(update_id)
    return updates, unreadable, (max(ids) + 1 if ids else None)


def _state_of(exc: TelegramError) -> str:
    if isinstance(exc, Conflict):
        return "webhook elsewhere" if "webhook" in exc.message.lower() else "conflict"
    return "unreachable"


def _seconds(value: object) -> float:
    if isinstance(value, int | float):
        return float(value)
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else 1.0
