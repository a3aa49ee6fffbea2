"""Running the bot: connecting to Telegram (waiting while it is unreachable), receiving updates
by long polling (`poller.py`) or webhook (`webhook.py`) through the update journal, health and
metrics (`health.py`), and stopping cleanly on one Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any

from telegram.error import InvalidToken, NetworkError, TimedOut
from telegram.ext import Application

from index.errors import KhabarError
from index.settings import Settings

from .app import ALLOWED_UPDATES, build_application
from .core import Khabar
from .service import AnswerService
from .transport.dispatch import Dispatcher
from .transport.health import HealthServer, Transport
from .transport.journal import UpdateJournal
from .transport.poller import Poller
from .transport.webhook import WebhookServer

log = logging.getLogger(__name__)


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


async def until_stopped(poller: Poller | None = None, *also: Coroutine[Any, Any, object]) -> None:
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
