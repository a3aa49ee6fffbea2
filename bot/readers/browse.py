"""Paging through answers and sources with the inline buttons, and inline mode (@bot question
in any chat)."""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineQueryResultArticle, InputTextMessageContent, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from index.answer import Context

from ..core import Khabar, keyboard
from ..messages import buttons, render
from ..messages.buttons import SetLanguage, ShowHit, ShowSources
from ..messages.i18n import t
from ..messages.render import Button, Reply
from ..transport.throttle import Verdict
from . import language
from .asking import MAX_QUESTION

log = logging.getLogger(__name__)
INLINE_RESULTS = 5


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    khabar: Khabar = context.bot_data["khabar"]
    query = update.callback_query
    if query is None:
        return
    lang = khabar.lang_of(update)
    chat_id = query.message.chat.id if query.message else None
    if not khabar.chat_allowed(chat_id):
        await query.answer(t(lang, "not_allowed"), show_alert=True)
        return
    action = buttons.parse(query.data)
    if isinstance(action, SetLanguage):
        await language.choose(khabar, query, action.lang)
        return
    reply = await _button_reply(khabar, action, lang)
    if isinstance(reply, str):
        await query.answer(reply, show_alert=True)
        return
    await query.answer()
    if query.message is None or not isinstance(query.message, Message):
        return
    try:
        await query.message.edit_text(
            reply.html, parse_mode=ParseMode.HTML, reply_markup=keyboard(reply.buttons)
        )
    except BadRequest as exc:
        # Pressed twice, or on a message since deleted or not the bot's: nothing to change.
        log.info("button press left the message as it was: %s", exc.message)


async def _button_reply(
    khabar: Khabar, action: ShowHit | ShowSources | None, lang: str
) -> Reply | str:
    """The new message content for a button, or a short notice to show instead."""
    if isinstance(action, ShowSources):
        return render.render_sources(khabar.service.retriever.articles(), action.page, lang)
    if action is None:
        return t(lang, "expired")
    recalled = khabar.questions.recall(action.qid)
    if recalled is None:
        return t(lang, "expired")
    question, follows = recalled
    context = Context(follows) if follows else None
    hits = (await khabar.service.answer(question, context=context)).answer.shown
    if action.index >= len(hits):
        return t(lang, "no_more") if hits else t(lang, "expired")
    return render.render_hit(
        hits[action.index], action.index, len(hits), lang, action.qid, whole=action.whole
    )


async def on_inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    khabar: Khabar = context.bot_data["khabar"]
    query = update.inline_query
    if query is None:
        return
    lang = khabar.lang_of(update)
    if not khabar.chat_allowed(query.from_user.id) or not query.query.strip():
        await query.answer([], cache_time=5, is_personal=True)
        return
    if khabar.limiter.check(query.from_user.id) is not Verdict.ALLOW:
        await query.answer([], cache_time=5, is_personal=True)
        return
    answer = (await khabar.service.answer(query.query[:MAX_QUESTION], k=INLINE_RESULTS)).answer
    results: list[Any] = []
    for index, hit in enumerate(answer.shown):
        reply = render.render_hit(hit, index, 1, lang, "0")
        link = render.safe_url(hit.url)
        results.append(
            InlineQueryResultArticle(
                id=str(index),
                title=render.shorten(render.squeeze(hit.title), 100),
                description=render.shorten(render.squeeze(hit.excerpt), 200),
                input_message_content=InputTextMessageContent(
                    reply.html, parse_mode=ParseMode.HTML
                ),
                reply_markup=keyboard([[Button(t(lang, "open"), url=link)]]) if link else None,
            )
        )
    if not results:
        reply = render.render_not_found(answer.hits, lang)
        results.append(
            InlineQueryResultArticle(
                id="none",
                title=t(lang, "not_found"),
                input_message_content=InputTextMessageContent(
                    reply.html, parse_mode=ParseMode.HTML
                ),
            )
        )
    await query.answer(results, cache_time=30, is_personal=True)
