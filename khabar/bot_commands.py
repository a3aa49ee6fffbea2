"""The bot's commands of `khabar`: bot, run, testserver, chat."""

from __future__ import annotations

import argparse
import asyncio

from index.errors import KhabarError
from index.settings import Settings

LOCAL_PORT = 8081


def add_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    bot = sub.add_parser(
        "bot", parents=[common], help="run the Telegram bot (no token: local test chats)"
    )
    bot.add_argument("--webhook-url", help="public URL for webhook mode (KHABAR_WEBHOOK_URL)")
    bot.add_argument("--listen", help="address to listen on in webhook mode")
    bot.add_argument("--port", type=int, help="port: webhook mode, or the local test server")
    bot.add_argument(
        "--health-port", type=int, help="serve /healthz and /metrics here (KHABAR_HEALTH_PORT)"
    )
    bot.set_defaults(func=cmd_bot)

    run = sub.add_parser(
        "run",
        parents=[common],
        help="run Khabar: the bot, or with no token the local test chats with a terminal chat",
    )
    run.add_argument("--port", type=int, default=LOCAL_PORT, help="port of the local test server")
    run.set_defaults(func=cmd_run)

    server = sub.add_parser("testserver", help="a local Telegram Bot API server for test chats")
    server.add_argument("--host", default="127.0.0.1")
    server.add_argument("--port", type=int, default=LOCAL_PORT)
    server.set_defaults(func=cmd_testserver)

    chat = sub.add_parser("chat", help="chat with the bot through a local test server")
    chat.add_argument("--server", default=f"http://127.0.0.1:{LOCAL_PORT}")
    chat.add_argument("--no-color", action="store_true")
    chat.set_defaults(func=cmd_chat)


def cmd_bot(args: argparse.Namespace, settings: Settings) -> int:
    settings = settings.with_overrides(
        webhook_url=args.webhook_url, webhook_listen=args.listen, health_port=args.health_port
    )
    if settings.telegram_bot_token is None:
        asyncio.run(_local(settings, args.port or LOCAL_PORT, with_chat=False))
        return 0
    if args.port:
        settings = settings.with_overrides(webhook_port=args.port)
    return _telegram(settings)


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    if settings.telegram_bot_token is not None:
        return _telegram(settings)
    asyncio.run(_local(settings, args.port, with_chat=True))
    return 0


def _telegram(settings: Settings) -> int:
    from bot.serve import run_telegram
    from bot.service import AnswerService

    if settings.webhook_url and settings.webhook_secret is None:
        raise KhabarError(
            "webhook mode needs KHABAR_WEBHOOK_SECRET (letters, digits, _ and -), "
            "so that only Telegram can call the webhook"
        )
    run_telegram(settings, AnswerService(settings))
    return 0


async def _local(settings: Settings, port: int, with_chat: bool) -> None:
    from bot.local import run_local

    await run_local(settings, port, with_chat)


def cmd_testserver(args: argparse.Namespace, settings: Settings) -> int:
    from bot.local import serve_forever

    asyncio.run(serve_forever(args.host, args.port))
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.chat import TerminalChat

    asyncio.run(TerminalChat(args.server, color=not args.no_color).run())
    return 0
