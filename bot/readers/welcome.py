"""/start, /help and /sources: what the bot knows and how to ask it."""

from __future__ import annotations

import html

from telegram import Update
from telegram.constants import ChatType, ParseMode
from telegram.ext import ContextTypes

from ..core import Khabar, send_reply
from ..messages import render
from ..messages.i18n import format_span, t, tn


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    khabar: Khabar = context.bot_data["khabar"]
    message = update.effective_message
    if message is None or not await khabar.guard(update):
        return
    lang = khabar.lang_of(update)
    articles = khabar.service.retriever.articles()
    sources = sorted({a.source for a in articles if a.source})
    dates = sorted(a.date for a in articles if a.date)
    named = ", ".join(sources[:10]) + ("…" if len(sources) > 10 else "")
    known = tn(lang, "start_known", len(articles), sources=html.escape(named or "—"))
    span = format_span(dates[0], dates[-1], lang) if dates else ""
    text = t(
        lang,
        "start",
        known=known,
        dates="\n" + html.escape(_one_period(t(lang, "start_dates", span=span))) if span else "",
        group_hint=t(lang, "group_hint") if message.chat.type != ChatType.PRIVATE else "",
    )
    await message.reply_text(text, parse_mode=ParseMode.HTML)


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    khabar: Khabar = context.bot_data["khabar"]
    if update.effective_message and await khabar.guard(update):
        lang = khabar.lang_of(update)
        text = t(lang, "help")
        if khabar.settings.followup_minutes > 0:
            text += "\n\n" + t(lang, "help_followup")
        await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML)


async def on_sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    khabar: Khabar = context.bot_data["khabar"]
    if update.effective_message is None or not await khabar.guard(update):
        return
    reply = render.render_sources(khabar.service.retriever.articles(), 0, khabar.lang_of(update))
    await send_reply(update.effective_message, reply)


def _one_period(sentence: str) -> str:
    """ "Даты: 18 октября 2025 г.." ends once: a date that ends with an abbreviation's period
    ("г.") ends the sentence too."""
    return sentence[:-1] if sentence.endswith("..") and not sentence.endswith("...") else sentence
