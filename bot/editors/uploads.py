"""An admin sends an article as a document: checked, saved into corpus/, indexed in the
background."""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from ..core import Khabar
from ..messages.i18n import sentence, t
from . import upload_check as uploads

log = logging.getLogger(__name__)


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    khabar: Khabar = context.bot_data["khabar"]
    message = update.effective_message
    if message is None or message.document is None or not await khabar.guard(update):
        return
    if message.chat.type != ChatType.PRIVATE:
        return  # documents in groups are the group's business, not articles for the bot
    lang = khabar.lang_of(update)
    document = message.document
    shown = uploads.printable(document.file_name or "file")[:100]  # plain text: no escaping
    if not khabar.is_admin(update):
        await message.reply_text(t(lang, "admins_only"))
        return
    settings = khabar.settings
    try:
        name = uploads.safe_name(document.file_name)
        if document.file_size is not None and document.file_size > settings.max_upload_bytes:
            raise uploads.UploadRefused(
                f"the file is larger than {settings.max_upload_bytes // 1000} kB"
            )
        file = await document.get_file()
        data = bytes(await file.download_as_bytearray())
        uploads.check(name, data, settings.max_upload_bytes)
        path = uploads.target(settings.corpus_dir, name)
        replace = (message.caption or "").strip().lower().startswith("/replace")
        uploads.save(path, data, replace)
    except uploads.UploadRefused as exc:
        await message.reply_text(t(lang, "upload_refused", name=shown, reason=sentence(str(exc))))
        return
    except FileExistsError:
        await message.reply_text(t(lang, "upload_exists", name=shown))
        return
    log.info("article uploaded by an admin: %s (%d bytes)", name, len(data))
    await message.reply_text(t(lang, "upload_saved", name=name))
    context.application.create_task(_index(khabar, message, name, lang), update=update)


async def _index(khabar: Khabar, message: Message, name: str, lang: str) -> None:
    try:
        report = await khabar.service.rebuild()
    except Exception as exc:  # the editor hears about it; the old index keeps answering
        log.warning("indexing an upload failed: %s", exc, exc_info=True)
        await message.reply_text(t(lang, "upload_failed", name=name, reason=sentence(str(exc))))
        return
    await message.reply_text(
        t(
            lang,
            "upload_done",
            name=name,
            added=report.added,
            changed=report.changed,
            passages=report.passages,
        )
    )
