"""An editor sends an article's link in a private chat: fetched, saved, indexed, confirmed."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING

from telegram import Message

from feeds.errors import FeedError
from feeds.poll import add_link

from ..messages.i18n import sentence, t

if TYPE_CHECKING:
    from ..core import Khabar

log = logging.getLogger(__name__)
_URL = re.compile(r"\s*(https?://[^\s<>\"']{4,2000})\s*", re.IGNORECASE)


def single_url(text: str) -> str | None:
    """The link when the message is one http(s) link and nothing else."""
    match = _URL.fullmatch(text or "")
    return match.group(1) if match else None


async def add_link_from_chat(khabar: Khabar, message: Message, url: str, lang: str) -> None:
    await message.reply_text(t(lang, "link_fetching", url=url[:200]), do_quote=False)
    settings = khabar.settings
    try:
        added = await asyncio.to_thread(add_link, settings, khabar.feeds, url)
    except FeedError as exc:
        await message.reply_text(
            t(lang, "link_failed", url=url[:200], reason=sentence(str(exc)[:300]))
        )
        return
    name = added.path.relative_to(settings.corpus_dir).as_posix()
    if added.known:
        await message.reply_text(t(lang, "link_known", name=name))
        return
    log.info("article added from a link by an editor: %s", name)
    try:
        await khabar.service.rebuild()
    except Exception as exc:  # saved, not yet searchable: the next rebuild picks it up
        log.warning("indexing a linked article failed: %s", exc, exc_info=True)
        await message.reply_text(
            t(lang, "upload_failed", name=name, reason=sentence(str(exc)[:300]))
        )
        return
    await message.reply_text(t(lang, "link_added", title=added.title[:200], name=name))
