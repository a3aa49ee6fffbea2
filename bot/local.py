"""The local test chats: the test server, the real bot polling it, and optionally the terminal chat,
all in one process. What `khabar run` and `khabar bot` do when no Telegram token is set."""

from __future__ import annotations

import logging

from index.settings import Settings

from .app import LOCAL_TOKEN, build_application
from .chat import TerminalChat
from .serve import health, polling, until_stopped
from .service import AnswerService
from .testserver.server import TestServer

log = logging.getLogger(__name__)


async def run_local(settings: Settings, port: int, with_chat: bool) -> None:
    server = await TestServer(port=port).start()
    local = settings.with_overrides(telegram_api_url=server.url)
    service = AnswerService(local)
    app = build_application(local, LOCAL_TOKEN, service)
    try:
        async with polling(app) as poller, health(app, poller):
            print(
                f"Local test chats: Bot API at {server.url} (control API under {server.url}/_test/)"
            )
            if with_chat:
                await until_stopped(poller, TerminalChat(server.url, app.bot.username).run())
            else:
                print(f"Chat with the bot from another terminal: khabar chat --server {server.url}")
                await until_stopped(poller)
    finally:
        service.close()
        await server.stop()


async def serve_forever(host: str, port: int) -> None:
    server = await TestServer(host=host, port=port).start()
    print(
        f"Telegram Bot API test server on {server.url} (any well-formed token); "
        f"control API under {server.url}/_test/"
    )
    try:
        await until_stopped()
    finally:
        await server.stop()
