"""/gaps for editors: what readers asked that the archive could not answer, grouped by meaning
(the questions themselves are kept by `stores/gaps.py`, only when `KHABAR_GAPS=true`)."""

from __future__ import annotations

import functools
import html
import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from ..core import Khabar
from ..messages.i18n import t, tn
from ..stores.gaps import group
from .admin import admin_message

log = logging.getLogger(__name__)
GAP_PERIODS = (7, 30)  # days
GAPS_SHOWN = 10


async def on_gaps(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    khabar: Khabar = context.bot_data["khabar"]
    admin = await admin_message(khabar, update)
    if admin is None:
        return
    message, lang = admin
    if khabar.gaps is None:
        await message.reply_text(t(lang, "gaps_off"))
        return
    sections = []
    for days in GAP_PERIODS:
        questions = khabar.gaps.since(days)
        if not questions:
            sections.append(html.escape(t(lang, "gaps_none", days=days)))
            continue
        gaps = await khabar.service.on_model_thread(
            functools.partial(group, questions, khabar.service.retriever.encode)
        )
        lines = [f"<b>{html.escape(tn(lang, 'gaps_title', len(questions), days=days))}</b>"]
        for n, gap in enumerate(gaps[:GAPS_SHOWN], start=1):
            wording = html.escape(gap.question[:200])
            if gap.wordings > 1:
                wording = t(lang, "gaps_similar", question=wording)
            lines.append(f"{n}. {wording} — {html.escape(tn(lang, 'gaps_count', gap.count))}")
        sections.append("\n".join(lines))
    await message.reply_text("\n\n".join(sections), parse_mode=ParseMode.HTML)
