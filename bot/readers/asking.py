"""Questions: every text in a private chat; in a group, a mention of the bot, a reply to it, or
/ask. Each is checked (length, the reader's rate), answered off the event loop, and replied to
with the excerpt and its buttons. A link an editor sends in private goes to `editors.links`."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Message, MessageEntity, Update
from telegram.constants import ChatAction, ChatType
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from ..core import Khabar, send_reply
from ..editors.links import add_link_from_chat, single_url
from ..messages import render
from ..messages.i18n import t
from ..transport.throttle import Verdict

log = logging.getLogger(__name__)
MAX_QUESTION = 1000
TYPING_MAX_WAITING = 16  # with this many questions queued, no "typing": replies are coming


async def ask(
    khabar: Khabar, update: Update, context: ContextTypes.DEFAULT_TYPE, question: str
) -> None:
    """Answer `question` in the update's chat: typing, search, reply with buttons."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    lang = khabar.lang_of(update)
    question = question.strip()
    if not question:
        await message.reply_text(t(lang, "empty"))
        return
    if len(question) > MAX_QUESTION:
        await message.reply_text(t(lang, "too_long"))
        return
    verdict = khabar.limiter.check(user.id)
    if verdict is not Verdict.ALLOW:
        if verdict is Verdict.NOTIFY:
            await message.reply_text(t(lang, "slow_down"))
        return
    # "typing" goes out only when the answer takes a while (a rebuild, a slow moment): a
    # reply in milliseconds needs no indicator. Nor does one in a queue of many: replies
    # are then going out back to back, and each call would count against the flood limit
    # that paces them (and cost the busy bot a request: 29 answers/s under load, not 33).
    chat_id = message.chat_id
    previous = khabar.conversations.context(chat_id, user.id)
    answering = asyncio.ensure_future(khabar.service.answer(question, context=previous))
    done, _ = await asyncio.wait({answering}, timeout=khabar.settings.typing_after_seconds)
    if not done and khabar.service.waiting < TYPING_MAX_WAITING:
        with contextlib.suppress(TelegramError):
            await context.bot.send_chat_action(message.chat_id, ChatAction.TYPING)
    timed = await answering
    answer = timed.answer
    group = message.chat.type != ChatType.PRIVATE
    log.info(
        "question chat=%s ms=%.1f top=%.3f found=%s%s%s",
        message.chat.type,
        timed.elapsed_ms,
        answer.hits[0].score if answer.hits else 0.0,
        answer.found,
        " followed_on" if answer.continued_from else "",
        f" text={question!r}" if khabar.settings.log_questions else "",
    )
    if not answer.found and khabar.gaps is not None:
        khabar.gaps.add(question)
    khabar.conversations.remember(chat_id, user.id, question, answer)
    # A follow-up's buttons page through the answer it got with its context.
    follows = previous.question if previous and answer.continued_from else None
    qid = khabar.questions.remember(question, follows) if answer.found else ""
    await send_reply(message, render.render_answer(answer, lang, qid), do_quote=group)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Private chats: every text is a question. Groups: mentions and replies to the bot."""
    khabar: Khabar = context.bot_data["khabar"]
    message = update.effective_message
    if message is None or not await khabar.guard(update):
        return
    text = message.text or ""
    if message.chat.type == ChatType.PRIVATE:
        url = single_url(text)
        if url is not None and khabar.is_admin(update):  # an editor sends an article's link
            await add_link_from_chat(khabar, message, url, khabar.lang_of(update))
            return
        await ask(khabar, update, context, text)
        return
    question = addressed(message, context.bot.username, context.bot.id)
    if question is not None:
        await ask(khabar, update, context, question)


def addressed(message: Message, username: str, bot_id: int) -> str | None:
    """The question in a group message meant for the bot, or None when it is not."""
    text = message.text or ""
    mention = f"@{username}".lower()
    mentions = message.parse_entities([MessageEntity.MENTION])
    if any(value.lower() == mention for value in mentions.values()):
        for value in mentions.values():
            if value.lower() == mention:
                text = text.replace(value, " ")
        return text
    reply = message.reply_to_message
    if reply is not None and reply.from_user is not None and reply.from_user.id == bot_id:
        return text
    return None


async def on_ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    khabar: Khabar = context.bot_data["khabar"]
    if update.effective_message is None or not await khabar.guard(update):
        return
    question = " ".join(context.args or [])
    if not question.strip():
        await update.effective_message.reply_text(t(khabar.lang_of(update), "ask_usage"))
        return
    await ask(khabar, update, context, question)


async def on_other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice…: a hint in private chats, silence in groups."""
    khabar: Khabar = context.bot_data["khabar"]
    message = update.effective_message
    if message and message.chat.type == ChatType.PRIVATE and await khabar.guard(update):
        await message.reply_text(t(khabar.lang_of(update), "empty"))


async def on_new(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/new: the next question stands on its own, whatever was asked before."""
    khabar: Khabar = context.bot_data["khabar"]
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or not await khabar.guard(update):
        return
    khabar.conversations.forget(message.chat_id, user.id)
    await message.reply_text(t(khabar.lang_of(update), "new_subject"))
