"""The editors' commands in chat: /stats and /reindex (admins only, `KHABAR_ADMIN_IDS`)."""

from __future__ import annotations

import html
import logging

from telegram import Message, Update
from telegram.ext import ContextTypes

from ..core import Khabar
from ..messages.i18n import sentence, t

log = logging.getLogger(__name__)


async def admin_message(khabar: Khabar, update: Update) -> tuple[Message, str] | None:
    """The message and interface language of an admin's command; others are refused."""
    message = update.effective_message
    if message is None:
        return None
    lang = khabar.lang_of(update)
    if not khabar.is_admin(update):
        await message.reply_text(t(lang, "admins_only"))
        return None
    return message, lang


async def on_whoami(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The user's and the chat's ids, for whoever sets KHABAR_ADMIN_IDS and
    KHABAR_ALLOWED_CHATS; answered in any chat (it tells people only their own ids)."""
    khabar: Khabar = context.bot_data["khabar"]
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None:
        return
    lang = khabar.lang_of(update)
    admin = t(lang, "yes" if khabar.is_admin(update) else "no")
    await message.reply_text(t(lang, "whoami", user_id=user.id, chat_id=chat.id, admin=admin))


async def on_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    khabar: Khabar = context.bot_data["khabar"]
    admin = await admin_message(khabar, update)
    if admin is None:
        return
    message, lang = admin
    info = khabar.service.info()
    feeds = khabar.feeds.counts()
    more = t(
        lang,
        "stats_feeds",
        feeds=feeds.feeds,
        failing=feeds.failing,
        saved=feeds.saved,
        retrying=feeds.retrying,
        follows=khabar.follows.count(),
    )
    await message.reply_text(
        t(
            lang,
            "stats",
            articles=info.articles,
            passages=info.passages,
            model=html.escape(info.manifest.model),
            built_at=info.manifest.built_at,
            answered=khabar.service.answered,
            declined=khabar.service.declined,
            median_ms=khabar.service.median_ms(),
        )
        + "\n"
        + more
    )


async def on_reindex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    khabar: Khabar = context.bot_data["khabar"]
    admin = await admin_message(khabar, update)
    if admin is None:
        return
    message, lang = admin
    if khabar.service.building:
        await message.reply_text(t(lang, "reindex_busy"))
        return
    await message.reply_text(t(lang, "reindex_started"))
    context.application.create_task(_reindex(khabar, message, lang), update=update)


async def _reindex(khabar: Khabar, message: Message, lang: str) -> None:
    try:
        report = await khabar.service.rebuild()
    except Exception as exc:  # the editor is told; the bot keeps answering from the old index
        log.warning("reindex failed: %s", exc, exc_info=True)
        await message.reply_text(t(lang, "reindex_failed", reason=sentence(str(exc))))
        return
    await message.reply_text(
        t(
            lang,
            "reindex_done",
            added=report.added,
            changed=report.changed,
            removed=report.removed,
            articles=report.articles,
            passages=report.passages,
            seconds=f"{report.seconds:.1f}",
        )
    )
