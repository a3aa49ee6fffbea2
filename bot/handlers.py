"""Telegram handlers: parse the update, call the core, send the result. Nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from feeds.registry import Registry
from index.settings import Settings

from . import render
from .follows import FollowStore
from .gaps import GapStore
from .i18n import format_span, language, t, tn
from .links import add_link_from_chat, single_url
from .prefs import LanguageStore
from .questions import QuestionStore
from .ratelimit import RateLimiter, Verdict
from .render import Button, Reply
from .service import AnswerService

log = logging.getLogger(__name__)
MAX_QUESTION = 1000
TYPING_MAX_WAITING = 16  # with this many questions queued, no "typing": replies are coming


def keyboard(rows: list[list[Button]]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.text, callback_data=b.data, url=b.url) for b in row]
            for row in rows
        ]
    )


async def send_reply(message: Message, reply: Reply, do_quote: bool = False) -> None:
    """Send a rendered reply (Telegram HTML and its buttons) in answer to `message`."""
    await message.reply_text(
        reply.html,
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard(reply.buttons),
        do_quote=do_quote,
    )


class Khabar:
    """The bot's behaviour; one instance per Application, in `bot_data["khabar"]`."""

    def __init__(self, settings: Settings, service: AnswerService) -> None:
        self.settings = settings
        self.service = service
        data = settings.data_dir
        self.questions = QuestionStore(data / "bot.sqlite")
        self.languages = LanguageStore(data / "bot.sqlite")
        self.follows = FollowStore(data / "bot.sqlite")
        self.feeds = Registry(data / "feeds.sqlite")
        # Declined questions are kept only when the operator says so (personal data).
        self.gaps = GapStore(data / "gaps.sqlite") if settings.gaps else None
        self.limiter = RateLimiter(settings.answers_per_minute)
        self.feed_lock = asyncio.Lock()  # one feed round at a time

    def close(self) -> None:
        for store in (self.questions, self.languages, self.follows, self.feeds, self.gaps):
            if store is not None:
                store.close()

    def lang_of(self, update: Update) -> str:
        """The interface language for whoever sent the update: the one they chose with
        /language, else their Telegram app's."""
        user = update.effective_user
        if user is None:
            return "en"
        return self.languages.get(user.id) or language(user.language_code)

    # --- access --------------------------------------------------------------------------------
    def chat_allowed(self, chat_id: int | None) -> bool:
        allowed = self.settings.allowed_chats
        return not allowed or (chat_id is not None and chat_id in allowed)

    def is_admin(self, update: Update) -> bool:
        user = update.effective_user
        return user is not None and user.id in self.settings.admin_ids

    async def guard(self, update: Update) -> bool:
        """False (and a polite refusal in private chats) when this chat may not use the bot."""
        chat = update.effective_chat
        if self.chat_allowed(chat.id if chat else None):
            return True
        if chat and chat.type == ChatType.PRIVATE and update.effective_message:
            await update.effective_message.reply_text(t(self.lang_of(update), "not_allowed"))
        return False

    # --- questions -----------------------------------------------------------------------------
    async def ask(self, update: Update, context: ContextTypes.DEFAULT_TYPE, question: str) -> None:
        """Answer `question` in the update's chat: typing, search, reply with buttons."""
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None:
            return
        lang = self.lang_of(update)
        question = question.strip()
        if not question:
            await message.reply_text(t(lang, "empty"))
            return
        if len(question) > MAX_QUESTION:
            await message.reply_text(t(lang, "too_long"))
            return
        verdict = self.limiter.check(user.id)
        if verdict is not Verdict.ALLOW:
            if verdict is Verdict.NOTIFY:
                await message.reply_text(t(lang, "slow_down"))
            return
        # "typing" goes out only when the answer takes a while (a rebuild, a slow moment): a
        # reply in milliseconds needs no indicator. Nor does one in a queue of many: replies
        # are then going out back to back, and each call would count against the flood limit
        # that paces them (and cost the busy bot a request: 29 answers/s under load, not 33).
        answering = asyncio.ensure_future(self.service.answer(question))
        done, _ = await asyncio.wait({answering}, timeout=self.settings.typing_after_seconds)
        if not done and self.service.waiting < TYPING_MAX_WAITING:
            with contextlib.suppress(TelegramError):
                await context.bot.send_chat_action(message.chat_id, ChatAction.TYPING)
        timed = await answering
        answer = timed.answer
        group = message.chat.type != ChatType.PRIVATE
        log.info(
            "question chat=%s ms=%.1f top=%.3f found=%s%s",
            message.chat.type,
            timed.elapsed_ms,
            answer.hits[0].score if answer.hits else 0.0,
            answer.found,
            f" text={question!r}" if self.settings.log_questions else "",
        )
        if not answer.found and self.gaps is not None:
            self.gaps.add(question)
        qid = self.questions.remember(question) if answer.found else ""
        await send_reply(message, render.render_answer(answer, lang, qid), do_quote=group)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Private chats: every text is a question. Groups: mentions and replies to the bot."""
        message = update.effective_message
        if message is None or not await self.guard(update):
            return
        text = message.text or ""
        if message.chat.type == ChatType.PRIVATE:
            url = single_url(text)
            if url is not None and self.is_admin(update):  # an editor sends an article's link
                await add_link_from_chat(self, message, url, self.lang_of(update))
                return
            await self.ask(update, context, text)
            return
        question = self._addressed(message, context.bot.username, context.bot.id)
        if question is not None:
            await self.ask(update, context, question)

    @staticmethod
    def _addressed(message: Message, username: str, bot_id: int) -> str | None:
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

    async def on_ask(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_message is None or not await self.guard(update):
            return
        question = " ".join(context.args or [])
        if not question.strip():
            await update.effective_message.reply_text(t(self.lang_of(update), "ask_usage"))
            return
        await self.ask(update, context, question)

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stickers, photos, voice…: a hint in private chats, silence in groups."""
        message = update.effective_message
        if message and message.chat.type == ChatType.PRIVATE and await self.guard(update):
            await message.reply_text(t(self.lang_of(update), "empty"))

    # --- commands ------------------------------------------------------------------------------
    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not await self.guard(update):
            return
        lang = self.lang_of(update)
        articles = self.service.retriever.articles()
        sources = sorted({a.source for a in articles if a.source})
        dates = sorted(a.date for a in articles if a.date)
        named = ", ".join(sources[:10]) + ("…" if len(sources) > 10 else "")
        known = tn(lang, "start_known", len(articles), sources=html.escape(named or "—"))
        span = format_span(dates[0], dates[-1], lang) if dates else ""
        text = t(
            lang,
            "start",
            known=known,
            dates="\n" + html.escape(t(lang, "start_dates", span=span)) if span else "",
            group_hint=t(lang, "group_hint") if message.chat.type != ChatType.PRIVATE else "",
        )
        await message.reply_text(text, parse_mode=ParseMode.HTML)

    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_message and await self.guard(update):
            await update.effective_message.reply_text(
                t(self.lang_of(update), "help"), parse_mode=ParseMode.HTML
            )

    async def on_sources(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_message is None or not await self.guard(update):
            return
        reply = render.render_sources(self.service.retriever.articles(), 0, self.lang_of(update))
        await send_reply(update.effective_message, reply)

    # --- errors --------------------------------------------------------------------------------
    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log with the traceback; the user gets one plain sentence, never the details."""
        log.error("error while handling an update: %s", context.error, exc_info=context.error)
        if isinstance(update, Update) and update.effective_message and update.effective_chat:
            with contextlib.suppress(TelegramError):
                await update.effective_message.reply_text(t(self.lang_of(update), "error"))
