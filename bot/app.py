"""Building and running the Application: Telegram (polling or webhook) or the local test chats."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from index.redact import redact_secrets
from index.settings import Settings

from .core import Khabar
from .editors import admin, feed_job, gaps, uploads
from .messages.i18n import LANGUAGES, t
from .readers import asking, browse, language, topics, welcome
from .service import AnswerService
from .transport.outbound import RetryingRateLimiter

log = logging.getLogger(__name__)
LOCAL_TOKEN = "1000000001:local-test-chats-not-a-secret"
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY]
# The command menu, each described in the reader's language (`texts.py`: cmd_*).
COMMANDS = ("start", "ask", "new", "sources", "follow", "following", "unfollow", "language", "help")


SEND_TIMEOUT = 20.0  # seconds for each call to Telegram (getUpdates has its own)


def build_application(settings: Settings, token: str, service: AnswerService) -> Application:
    """The real python-telegram-bot Application with Khabar's handlers, pointed at the API URL."""
    redact_secrets([token, *settings.secrets()])
    api = settings.telegram_api_url.rstrip("/")
    khabar = Khabar(settings, service)
    app = (
        Application.builder()
        .token(token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .defaults(Defaults(link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .rate_limiter(RetryingRateLimiter(overall_max_rate=settings.telegram_max_rate))
        .concurrent_updates(64)
        # Connections for sending. Telegram takes about 30 messages a second, so 16 is plenty;
        # httpx checks every pooled connection for each request it places, which at 128 cost
        # the event loop a tenth of the bot's throughput under load (26 answers/s, not 29).
        .connection_pool_size(16)
        # python-telegram-bot's defaults (5 s, and 1 s for a free connection) turn a busy moment
        # into a lost reply: a timed-out send is not repeated, since it may have arrived.
        .read_timeout(SEND_TIMEOUT)
        .write_timeout(SEND_TIMEOUT)
        .connect_timeout(SEND_TIMEOUT)
        .pool_timeout(SEND_TIMEOUT)
        .get_updates_read_timeout(40)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    app.bot_data["khabar"] = khabar
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("start", welcome.on_start))
    app.add_handler(CommandHandler("help", welcome.on_help))
    app.add_handler(CommandHandler("ask", asking.on_ask))
    app.add_handler(CommandHandler("new", asking.on_new))
    app.add_handler(CommandHandler("sources", welcome.on_sources))
    app.add_handler(CommandHandler("language", language.on_language))
    app.add_handler(CommandHandler("follow", topics.on_follow))
    app.add_handler(CommandHandler("following", topics.on_following))
    app.add_handler(CommandHandler("unfollow", topics.on_unfollow))
    app.add_handler(CommandHandler("gaps", gaps.on_gaps))
    app.add_handler(CommandHandler("stats", admin.on_stats))
    app.add_handler(CommandHandler("whoami", admin.on_whoami))
    app.add_handler(CommandHandler("reindex", admin.on_reindex))
    text = filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND
    app.add_handler(MessageHandler(text, asking.on_text))
    app.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & filters.Document.ALL, uploads.on_document)
    )
    app.add_handler(
        MessageHandler(
            filters.UpdateType.MESSAGE
            & private
            & ~filters.TEXT
            & ~filters.Document.ALL
            & ~filters.StatusUpdate.ALL,
            asking.on_other,
        )
    )
    app.add_handler(CallbackQueryHandler(browse.on_button))
    app.add_handler(InlineQueryHandler(browse.on_inline))
    app.add_error_handler(khabar.on_error)
    topics.attach(app.bot, khabar)
    if settings.feed_interval > 0 and app.job_queue is not None:
        app.job_queue.run_repeating(
            feed_job.poll_feeds,
            interval=settings.feed_interval,
            first=min(settings.feed_interval, 10.0),
            name="feeds",
            job_kwargs={"max_instances": 1, "coalesce": True},
        )
    return app


async def _post_init(app: Application) -> None:
    khabar: Khabar = app.bot_data["khabar"]
    for lang in LANGUAGES:
        await app.bot.set_my_commands(
            [BotCommand(c, t(lang, f"cmd_{c}")) for c in COMMANDS],
            language_code=None if lang == "en" else lang,
        )
    app.bot_data["watch"] = asyncio.create_task(
        khabar.service.watch(khabar.settings.reload_check_seconds)
    )
    # Load the model beside polling, so the first reader does not wait for it.
    app.bot_data["warm_up"] = asyncio.create_task(khabar.service.warm_up())


async def _post_shutdown(app: Application) -> None:
    khabar: Khabar = app.bot_data["khabar"]
    for name in ("watch", "warm_up"):
        task = app.bot_data.pop(name, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    khabar.close()
