"""Handling delivered updates, whichever way they came (polling or webhook): journaled first
(`journal.py`), then each handled as its own task, up to `MAX_IN_FLIGHT` at once, and marked
done when its handler has finished. A slow update does not hold up the others; one that fails
is logged and marked done, so it never stops the ones after it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from telegram import Update
from telegram.ext import Application

from .journal import UpdateJournal

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 30.0  # a stop waits this long for the updates being handled
MAX_IN_FLIGHT = 256  # beyond this, receiving waits for handlers to finish (back-pressure)


class Dispatcher:
    def __init__(self, app: Application, journal: UpdateJournal) -> None:
        self.app = app
        self.journal = journal
        self.replayed = 0  # unfinished updates of an earlier run, handled at start-up
        self.skipped = 0  # updates delivered again but already journaled
        self._in_flight: set[asyncio.Task[None]] = set()
        self._room = asyncio.Event()
        self._room.set()

    def replay(self) -> None:
        """Handle the updates an earlier run journaled but never finished."""
        for data in self.journal.unfinished():
            self.replayed += 1
            self._dispatch(Update.de_json(data, self.app.bot))
        if self.replayed:
            log.info("handling %d updates left unfinished by the last run", self.replayed)

    async def receive(self, updates: Sequence[Update]) -> None:
        """Journal `updates` (durably: the caller may confirm them to Telegram after this),
        then handle those not seen before."""
        fresh = await asyncio.to_thread(self.journal.record, updates)
        self.skipped += len(updates) - len(fresh)
        for update in fresh:
            self._dispatch(update)

    async def wait_for_room(self, stopping: asyncio.Event) -> None:
        """Until fewer than `MAX_IN_FLIGHT` updates are being handled (or `stopping` is set)."""
        while len(self._in_flight) >= MAX_IN_FLIGHT and not stopping.is_set():
            self._room.clear()
            await self._room.wait()

    async def drain(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Give the updates in hand `grace` seconds; the rest stay unfinished in the journal
        and are handled after the restart."""
        if self._in_flight:
            _, late = await asyncio.wait(self._in_flight, timeout=grace)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)

    async def idle(self) -> None:
        """Until no update is being handled (tests and benchmarks)."""
        while self._in_flight:
            await asyncio.wait(set(self._in_flight))

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
