"""/follow, /following, /unfollow, and the alerts sent when new articles answer a topic."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging

from telegram import Bot, Message, Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import ContextTypes

from index.answer import Hit

from ..core import Khabar, keyboard
from ..messages import render
from ..messages.i18n import t, tn
from ..messages.render import Button
from ..stores.topics import Follow

log = logging.getLogger(__name__)
MAX_TOPIC = 200
PER_CHAT_GAP = 1.0  # seconds between two alerts to one chat (Telegram: about one a second)
CONCURRENT_CHATS = 8  # the bot's rate limiter paces the overall rate


async def _chat_command(
    update: Update, context: ContextTypes.DEFAULT_TYPE
) -> tuple[Khabar, Message, int, str, str] | None:
    """The bot, the message, the chat's id, the reader's language and the command's words
    (spaces collapsed), for a command from a chat that may use the bot."""
    khabar: Khabar = context.bot_data["khabar"]
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None or not await khabar.guard(update):
        return None
    words = " ".join(" ".join(context.args or []).split())
    return khabar, message, chat.id, khabar.lang_of(update), words


async def on_follow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    command = await _chat_command(update, context)
    if command is None:
        return
    khabar, message, chat_id, lang, topic = command
    if not topic:
        await message.reply_text(t(lang, "follow_usage"))
        return
    if len(topic) > MAX_TOPIC:
        await message.reply_text(t(lang, "follow_too_long"))
        return
    limit = khabar.settings.follow_max_topics
    followed = khabar.follows.of_chat(chat_id)
    if topic not in followed and len(followed) >= limit:
        await message.reply_text(tn(lang, "follow_limit", limit))
        return
    key = "follow_added" if khabar.follows.add(chat_id, topic, lang) else "follow_exists"
    await message.reply_text(t(lang, key, topic=html.escape(topic)), parse_mode=ParseMode.HTML)


async def on_following(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    command = await _chat_command(update, context)
    if command is None:
        return
    khabar, message, chat_id, lang, _ = command
    topics = khabar.follows.of_chat(chat_id)
    if not topics:
        await message.reply_text(t(lang, "following_none"))
        return
    lines = [t(lang, "following_title")]
    lines += [f"{n}. {topic}" for n, topic in enumerate(topics, start=1)]
    await message.reply_text("\n".join([*lines, "", t(lang, "following_hint")]))


async def on_unfollow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    command = await _chat_command(update, context)
    if command is None:
        return
    khabar, message, chat_id, lang, wanted = command
    topics = khabar.follows.of_chat(chat_id)
    if wanted.lower() == "all":
        await message.reply_text(tn(lang, "unfollow_all", khabar.follows.remove_chat(chat_id)))
        return
    topic = None
    if wanted.isdigit() and 1 <= int(wanted) <= len(topics):
        topic = topics[int(wanted) - 1]
    elif wanted in topics:
        topic = wanted
    if topic is None:
        await message.reply_text(t(lang, "unfollow_usage"))
        return
    khabar.follows.remove(chat_id, topic)
    await message.reply_text(
        t(lang, "unfollow_done", topic=html.escape(topic)), parse_mode=ParseMode.HTML
    )


def render_alert(follow: Follow, hit: Hit) -> render.Reply:
    """The alert: which topic, then the new article's passage, quoted and cited as answers are."""
    quote = render.render_hit(hit, 0, 1, follow.lang, "")
    head = t(follow.lang, "alert", topic=html.escape(render.shorten(follow.topic, 200)))
    link = render.safe_url(hit.url)
    buttons = [[Button(t(follow.lang, "open"), url=link)]] if link else []
    return render.Reply(f"{head}\n{quote.html}", buttons)


async def send_alerts(bot: Bot, khabar: Khabar, new_articles: set[str]) -> int:
    """Alert every chat that follows a topic the new articles answer; returns alerts sent.
    One alert per chat and article; chats that blocked the bot are forgotten."""
    follows = khabar.follows.all()
    if not follows:
        return 0
    matched = await khabar.service.matches(sorted({f.topic for f in follows}), new_articles)
    per_chat: dict[int, list[render.Reply]] = {}
    announced: set[tuple[int, str]] = set()
    for follow in follows:
        hit = matched.get(follow.topic)
        if hit is None or (follow.chat_id, hit.article_id) in announced:
            continue
        announced.add((follow.chat_id, hit.article_id))
        per_chat.setdefault(follow.chat_id, []).append(render_alert(follow, hit))
    gate = asyncio.Semaphore(CONCURRENT_CHATS)
    sent = await asyncio.gather(*(_send(bot, khabar, c, r, gate) for c, r in per_chat.items()))
    log.info(
        "alerts: %d new articles, %d sent to %d chats", len(new_articles), sum(sent), len(per_chat)
    )
    return sum(sent)


async def _send(
    bot: Bot, khabar: Khabar, chat_id: int, replies: list[render.Reply], gate: asyncio.Semaphore
) -> int:
    sent = 0
    async with gate:
        for number, reply in enumerate(replies):
            if number:
                await asyncio.sleep(PER_CHAT_GAP)
            try:
                await bot.send_message(
                    chat_id,
                    reply.html,
                    parse_mode=ParseMode.HTML,
                    reply_markup=keyboard(reply.buttons),
                )
            except Forbidden:  # blocked the bot, or left the group: stop writing to it
                log.info("chat %s blocked the bot: its topics are forgotten", chat_id)
                khabar.follows.remove_chat(chat_id)
                return sent
            except TelegramError as exc:
                log.warning("an alert to chat %s failed: %s", chat_id, exc)
                continue
            sent += 1
    return sent


def attach(bot: Bot, khabar: Khabar) -> None:
    """Send alerts whenever the bot switches to an index with new articles."""

    async def on_new(article_ids: set[str]) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await send_alerts(bot, khabar, article_ids)

    khabar.service.on_new_articles = on_new
