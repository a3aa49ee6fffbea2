"""The end-to-end harness: the local Bot API server and the real Application polling it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from telegram.ext import Application

from bot.app import build_application
from bot.messages.render import render_answer
from bot.serve import polling
from bot.service import AnswerService
from bot.testserver.client import ChatRef, ControlClient, User
from bot.testserver.server import TestServer
from bot.testserver.telegram_html import parse_html
from index.answer.retriever import Retriever
from index.settings import Settings

TOKEN = "987654321:harness-token-abcdefghijklmnopqrstuv"


@dataclass
class Harness:
    server: TestServer
    app: Application
    client: ControlClient
    settings: Settings
    service: AnswerService
    startup_s: float = 0.0

    async def send(
        self, chat: ChatRef, user: User, text: str, reply_to: int | None = None
    ) -> dict[str, Any]:
        return await self.client.say(chat, user, text, reply_to=reply_to)

    async def ask(
        self, chat: ChatRef, user: User, text: str, wait: float = 30, reply_to: int | None = None
    ) -> list[dict[str, Any]]:
        """User U in chat C sends X; returns the bot's messages in reply (waits for the first)."""
        sent = await self.send(chat, user, text, reply_to)
        replies, _ = await self.client.replies(chat.id, sent["seq"], wait=wait)
        return replies

    async def silence(
        self, chat: ChatRef, user: User, text: str, wait: float = 1.5
    ) -> list[dict[str, Any]]:
        """Send X and return whatever the bot said within `wait` seconds (expected: nothing)."""
        return await self.ask(chat, user, text, wait=wait)

    async def press(
        self, chat: ChatRef, message: dict[str, Any], user: User, text: str, wait: float = 30
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """Press the button labelled `text`; returns the callback answer and edited messages."""
        seq = (await self.client.history(chat.id))["seq"]
        pressed = await self.client.press(chat.id, message["message_id"], user, text=text)
        answer = await self.client.callback_answer(pressed["callback_query_id"], wait=wait)
        edits, _ = await self.client.replies(chat.id, seq, wait=1.0)
        return answer, edits


def expected_text(retriever: Retriever, question: str, lang: str = "en") -> str:
    """What a reader should see for `question`: the answer rendered as the bot renders it,
    computed in this process, as the chat shows it (Telegram HTML parsed to text)."""
    reply = render_answer(retriever.answer(question), lang, "0")
    return parse_html(reply.html)[0].strip()


@contextlib.asynccontextmanager
async def running_bot(settings: Settings, retriever: Retriever) -> AsyncIterator[Harness]:
    started = time.perf_counter()
    server = await TestServer().start()
    settings = settings.with_overrides(telegram_api_url=server.url)
    retriever.settings = settings
    service = AnswerService(settings, retriever)
    app = build_application(settings, TOKEN, service)
    client = ControlClient(server.url)
    try:
        async with polling(app):
            harness = Harness(server, app, client, settings, service, time.perf_counter() - started)
            yield harness
    finally:
        service.close()
        await client.close()
        await server.stop()
