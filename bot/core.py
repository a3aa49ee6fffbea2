"""The bot's state and rules, shared by every handler: its stores, the answer service, who may
use it (`KHABAR_ALLOWED_CHATS`) and who is an editor (`KHABAR_ADMIN_IDS`), each reader's
language; and sending a rendered reply. Handlers live in `readers/` and `editors/`."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from feeds.registry import Registry
from index.settings import Settings

from .messages.i18n import language, t
from .messages.render import Button, Reply
from .service import AnswerService
from .stores.conversations import Conversations
from .stores.gaps import GapStore
from .stores.languages import LanguageStore
from .stores.questions import QuestionStore
from .stores.topics import FollowStore
from .transport.throttle import RateLimiter

log = logging.getLogger(__name__)


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
    """The bot's state; one instance per Application, in `bot_data["khabar"]`."""

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
        self.conversations = Conversations(settings.followup_minutes)  # in memory only
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

    # --- errors --------------------------------------------------------------------------------
    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log with the traceback; the user gets one plain sentence, never the details."""
        log.error("error while handling an update: %s", context.error, exc_info=context.error)
        if isinstance(update, Update) and update.effective_message and update.effective_chat:
            with contextlib.suppress(TelegramError):
                await update.effective_message.reply_text(t(self.lang_of(update), "error"))
