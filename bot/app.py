"""Building and running the Application: Telegram (polling or webhook) or the local test chats."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.error import InvalidToken, NetworkError, TimedOut
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from index.errors import KhabarError
from index.redact import redact_secrets
from index.settings import Settings

from . import admin, browse
from .dispatch import Dispatcher
from .documents import on_document
from .handlers import Khabar
from .health import HealthServer, Transport
from .journal import UpdateJournal
from .poller import Poller
from .questions import QuestionStore
from .ratelimiter import RetryingRateLimiter
from .service import AnswerService
from .webhook import WebhookServer

log = logging.getLogger(__name__)
LOCAL_TOKEN = "1000000001:local-test-chats-not-a-secret"
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY]
COMMANDS = {
    "en": [
        ("start", "What I know and how to ask"),
        ("ask", "Ask a question (in groups)"),
        ("sources", "The articles I know"),
        ("help", "How to use me"),
    ],
    "ru": [
        ("start", "Что я знаю и как спрашивать"),
        ("ask", "Задать вопрос (в группах)"),
        ("sources", "Статьи, которые я знаю"),
        ("help", "Как мной пользоваться"),
    ],
}


SEND_TIMEOUT = 20.0  # seconds for each call to Telegram (getUpdates has its own)


def build_application(settings: Settings, token: str, service: AnswerService) -> Application:
    """The real python-telegram-bot Application with Khabar's handlers, pointed at the API URL."""
    redact_secrets([token, *settings.secrets()])
    api = settings.telegram_api_url.rstrip("/")
    questions = QuestionStore(settings.data_dir / "bot.sqlite")
    khabar = Khabar(settings, service, questions)
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
    app.add_handler(CommandHandler("start", khabar.on_start))
    app.add_handler(CommandHandler("help", khabar.on_help))
    app.add_handler(CommandHandler("ask", khabar.on_ask))
    app.add_handler(CommandHandler("sources", khabar.on_sources))
    app.add_handler(CommandHandler("stats", admin.on_stats))
    app.add_handler(CommandHandler("whoami", admin.on_whoami))
    app.add_handler(CommandHandler("reindex", admin.on_reindex))
    app.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, khabar.on_text)
    )
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.Document.ALL, on_document))
    app.add_handler(
        MessageHandler(
            filters.UpdateType.MESSAGE
            & private
            & ~filters.TEXT
            & ~filters.Document.ALL
            & ~filters.StatusUpdate.ALL,
            khabar.on_other,
        )
    )
    app.add_handler(CallbackQueryHandler(browse.on_button))
    app.add_handler(InlineQueryHandler(browse.on_inline))
    app.add_error_handler(khabar.on_error)
    return app


async def _post_init(app: Application) -> None:
    khabar: Khabar = app.bot_data["khabar"]
    for lang, commands in COMMANDS.items():
        await app.bot.set_my_commands(
            [BotCommand(c, d) for c, d in commands], language_code=None if lang == "en" else lang
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
    khabar.questions.close()


@contextlib.asynccontextmanager
async def running(app: Application) -> AsyncIterator[Dispatcher]:
    """`app` started, with its update journal in the data folder and a dispatcher over it;
    on the way out the updates in hand are finished (or left journaled) and all is closed."""
    khabar: Khabar = app.bot_data["khabar"]
    await connect(app)
    async with app:  # initialize() and shutdown(); the hooks are what run_polling() also calls
        if app.post_init:
            await app.post_init(app)
        await app.start()
        journal = UpdateJournal(khabar.settings.data_dir / "bot.sqlite", app.bot.id)
        dispatcher = Dispatcher(app, journal)
        try:
            yield dispatcher
        finally:
            await dispatcher.drain()
            await app.stop()
            if app.post_shutdown:
                await app.post_shutdown(app)
            journal.close()


async def connect(app: Application, first: float = 0.5, most: float = 30.0) -> None:
    """Initialize `app` (its getMe), waiting for Telegram as long as it takes: a server that
    boots before its network, or a Telegram outage, delays the bot instead of stopping it.
    One log line when Telegram is unreachable, one when it answers; a refused token raises."""
    delay, failed = first, False
    while True:
        try:
            await app.initialize()
        except (NetworkError, TimedOut) as exc:
            if not failed:
                log.warning("Telegram unreachable (%s); retrying with backoff", exc)
                failed = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, most)
            continue
        if failed:
            log.warning("Telegram reachable: starting")
        return


@contextlib.asynccontextmanager
async def polling(app: Application) -> AsyncIterator[Poller]:
    """Run `app` with long polling inside the current event loop. Updates are journaled in the
    data folder before Telegram forgets them (see `poller.py`), so a restart loses no question."""
    async with running(app) as dispatcher:
        poller = Poller(app, dispatcher, ALLOWED_UPDATES)
        app.bot_data["poller"] = poller
        poller.start()
        try:
            yield poller
        finally:
            await poller.stop()


@contextlib.asynccontextmanager
async def webhook(app: Application, settings: Settings) -> AsyncIterator[WebhookServer]:
    """Run `app` in webhook mode: the webhook set at Telegram (retried while Telegram cannot
    be reached), updates journaled before they are acknowledged (see `webhook.py`)."""
    assert settings.webhook_url is not None
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    async with running(app) as dispatcher:
        server = WebhookServer(
            dispatcher,
            app.bot,
            path="telegram",
            secret=secret,
            listen=settings.webhook_listen,
            port=settings.webhook_port,
        )
        await server.start()
        try:
            await _set_webhook(app, server, settings.webhook_url.rstrip("/") + "/telegram", secret)
            dispatcher.replay()
            yield server
        finally:
            await server.stop()


async def _set_webhook(
    app: Application, server: WebhookServer, url: str, secret: str | None
) -> None:
    delay = 0.5
    while True:
        try:
            await app.bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
            server.webhook_set = True
            return
        except (NetworkError, TimedOut) as exc:
            server.failures += 1
            log.warning(
                "Telegram unreachable (%s); setting the webhook again in %.0f s", exc, delay
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)


async def until_stopped(
    poller: Poller | None = None, *also: Coroutine[Any, Any, object]
) -> None:
    """Until SIGINT/SIGTERM (one Ctrl-C), or the poller ends (it raises why: a refused token,
    or anything that stopped polling, so that the process exits and its supervisor restarts
    it), or one of `also` returns (the terminal chat ended)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def stopping(sig: signal.Signals) -> None:
        if stop.is_set():  # a second Ctrl-C: at once (the journal keeps what was in hand)
            print("khabar: stopped at once (questions in hand: after a restart)", flush=True)
            os._exit(130)
        after_prompt = "\n" if also else ""  # the terminal chat's prompt is on this line
        print(f"{after_prompt}khabar: {sig.name}: stopping (finishing the questions in hand)")
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stopping, sig)
    waits: set[asyncio.Future[object]] = {asyncio.ensure_future(stop.wait())}
    waits.update(asyncio.ensure_future(c) for c in also)
    if poller is not None:
        waits.add(asyncio.ensure_future(poller.wait()))
    done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for future in pending:
        future.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for future in done:
        future.result()


async def serve_polling(app: Application) -> None:
    with _token_refused():
        async with polling(app) as poller, health(app, poller):
            await until_stopped(poller)


async def serve_webhook(app: Application, settings: Settings) -> None:
    with _token_refused():
        async with webhook(app, settings) as server, health(app, server):
            await until_stopped()


@contextlib.asynccontextmanager
async def health(app: Application, transport: Transport) -> AsyncIterator[HealthServer | None]:
    """/healthz and /metrics on `KHABAR_HEALTH_PORT` while the bot runs (none when unset)."""
    khabar: Khabar = app.bot_data["khabar"]
    port = khabar.settings.health_port
    if port is None:
        yield None
        return
    server = await HealthServer(
        khabar.service, transport, listen=khabar.settings.health_listen, port=port
    ).start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.contextmanager
def _token_refused() -> Iterator[None]:
    try:
        yield
    except InvalidToken:
        raise KhabarError(
            "Telegram refused the bot token: check TELEGRAM_BOT_TOKEN (from @BotFather)"
        ) from None


def run_telegram(settings: Settings, service: AnswerService) -> None:
    """Against Telegram (or TELEGRAM_API_URL): webhook when a URL is set, else long polling."""
    assert settings.telegram_bot_token is not None
    app = build_application(settings, settings.telegram_bot_token.get_secret_value(), service)
    serve = serve_webhook(app, settings) if settings.webhook_url else serve_polling(app)
    asyncio.run(serve)
