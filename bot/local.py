"""The local test chats: the test server, the real bot polling it, and optionally the terminal chat,
all in one process. What `khabar run` and `khabar bot` do when no Telegram token is set."""

from __future__ import annotations

import logging

from index.settings import Settings

from .app import LOCAL_TOKEN, build_application
from .chat import USER_ID, TerminalChat
from .serve import health, polling, until_stopped
from .service import AnswerService
from .testserver.server import TestServer

log = logging.getLogger(__name__)


def local_editors(settings: Settings) -> tuple[Settings, str]:
    """The local test chats' settings: the chat's own user (`USER_ID`) is an editor unless the
    operator named the editors (`KHABAR_ADMIN_IDS`); and a line that says which it is."""
    if not settings.admin_ids:
        hint = (
            f"(You are an editor here, user {USER_ID}: try /stats, :file PATH, or an article's "
            "link. Set KHABAR_ADMIN_IDS to choose the editors instead.)"
        )
        return settings.with_overrides(admin_ids=[USER_ID]), hint
    if USER_ID in settings.admin_ids:
        return settings, f"(You are an editor here: KHABAR_ADMIN_IDS lists user {USER_ID}.)"
    return settings, (
        f"(You are a reader here: KHABAR_ADMIN_IDS does not list this chat's user, {USER_ID}; "
        "add it to try uploads, links and /stats.)"
    )


async def run_local(settings: Settings, port: int, with_chat: bool) -> None:
    server = await TestServer(port=port).start()
    local, hint = local_editors(settings.with_overrides(telegram_api_url=server.url))
    service = AnswerService(local)
    app = build_application(local, LOCAL_TOKEN, service)
    try:
        async with polling(app) as poller, health(app, poller):
            print(
                f"Local test chats: Bot API at {server.url} (control API under {server.url}/_test/)"
            )
            if with_chat:
                chat = TerminalChat(server.url, app.bot.username, editor_hint=hint)
                await until_stopped(poller, chat.run())
            else:
                print(f"Chat with the bot from another terminal: khabar chat --server {server.url}")
                print(hint)
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
