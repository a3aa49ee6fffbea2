"""/language: each reader chooses the language of the bot's messages (buttons, or a code)."""

from __future__ import annotations

import contextlib

from telegram import CallbackQuery, Message, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from ..core import Khabar, keyboard
from ..messages.buttons import SetLanguage
from ..messages.i18n import LANGUAGES, t
from ..messages.render import Button


def choices() -> list[list[Button]]:
    """One button per language, named in itself, two to a row."""
    row = [Button(name, data=SetLanguage(code).data) for code, name in LANGUAGES.items()]
    return [row[i : i + 2] for i in range(0, len(row), 2)]


async def on_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/language` offers the languages; `/language az` (or a name) sets one at once."""
    khabar: Khabar = context.bot_data["khabar"]
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or not await khabar.guard(update):
        return
    wanted = " ".join(context.args or []).strip().lower()
    if wanted:
        code = _code(wanted)
        if code is not None:
            khabar.languages.set(user.id, code)
            await message.reply_text(t(code, "language_set"))
            return
        await _offer(message, t(khabar.lang_of(update), "language_unknown"))
        return
    await _offer(message, t(khabar.lang_of(update), "language_choose"))


async def _offer(message: Message, text: str) -> None:
    await message.reply_text(text, reply_markup=keyboard(choices()))


def _code(wanted: str) -> str | None:
    for code, name in LANGUAGES.items():
        if wanted in (code, name.lower()):
            return code
    return None


async def choose(khabar: Khabar, query: CallbackQuery, code: str) -> None:
    """A language button was pressed: remember it for the presser, and say so in it."""
    if code not in LANGUAGES:
        await query.answer()
        return
    khabar.languages.set(query.from_user.id, code)
    await query.answer()
    if isinstance(query.message, Message):
        with contextlib.suppress(BadRequest):  # pressed twice: the message already says it
            await query.message.edit_text(t(code, "language_set"))
