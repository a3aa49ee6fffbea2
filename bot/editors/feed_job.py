"""The feed job: the bot polls `khabar feeds` on a schedule (`KHABAR_FEED_INTERVAL`), saves new
items into the corpus and indexes them, one round at a time."""

from __future__ import annotations

import asyncio
import logging
import threading

from telegram.ext import ContextTypes

from feeds.poll import poll

from ..core import Khabar

log = logging.getLogger(__name__)


async def poll_feeds(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The JobQueue's feed round: new items saved, then one incremental build (whose new
    articles set off /follow's alerts). One round at a time."""
    khabar: Khabar = context.bot_data["khabar"]
    if not khabar.feeds.feeds() or khabar.feed_lock.locked():
        return
    async with khabar.feed_lock:
        stop = threading.Event()
        try:
            report = await asyncio.to_thread(poll, khabar.settings, khabar.feeds, None, stop)
        except asyncio.CancelledError:  # shutting down: end the round after this fetch
            stop.set()
            raise
        if report.saved:
            log.info("feeds: %d new articles; indexing them", len(report.saved))
            await khabar.service.rebuild()
