"""The terminal chat (`khabar chat`, and `khabar run` without a token) against the real local Bot
API server: it shows whatever the bot sends, when it arrives, without the user typing first
(alerts, late notices, a build started from another shell); `:lang` takes any code."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Bot

from bot.chat import USER_ID, TerminalChat
from bot.local import local_editors
from bot.messages.i18n import LANGUAGES
from bot.testserver.client import ChatRef, ControlClient, User
from bot.testserver.server import TestServer
from index.settings import Settings
from tests.waiting import until


async def _printed(capsys: pytest.CaptureFixture[str], text: str, timeout: float = 10) -> str:
    """What the chat printed, once it has printed `text`."""
    seen = ""

    def printed() -> bool:
        nonlocal seen
        seen += capsys.readouterr().out
        return text in seen

    await until(printed, timeout=timeout, what=f"the chat printing {text!r}")
    return seen


async def _chatting(
    server: TestServer,
) -> tuple[TerminalChat, asyncio.Queue[str | None], asyncio.Task[None]]:
    chat = TerminalChat(server.url, "khabar_test_bot", color=False)
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    return chat, lines, asyncio.create_task(chat.run(lines))


async def test_a_message_the_bot_sends_later_shows_without_typing(
    server: TestServer, bot: Bot, capsys: pytest.CaptureFixture[str]
) -> None:
    control = ControlClient(server.url)
    user = User(USER_ID, "Reader", "en")
    await control.say(ChatRef(USER_ID, "private"), user, "/follow gas exports")  # the chat exists
    chat, lines, running = await _chatting(server)
    seen = ""
    try:
        await asyncio.sleep(0.3)  # at the prompt, typing nothing
        await bot.send_message(USER_ID, "New article on gas exports to Europe")  # an alert
        seen = await _printed(capsys, "gas exports to Europe")
    finally:
        await lines.put(None)
        await asyncio.wait_for(running, 10)
        await control.close()
    assert "khabar_test_bot>" in seen and "[private]" not in seen.split("khabar_test_bot>")[0][-12:]
    assert chat.last_bot is not None and "Europe" in chat.last_bot["text"]


async def test_the_chat_shows_messages_to_the_group_it_is_not_in(
    server: TestServer, bot: Bot, capsys: pytest.CaptureFixture[str]
) -> None:
    control = ControlClient(server.url)
    user = User(USER_ID, "Reader", "en")
    group = ChatRef(-100200, "supergroup", "Newsroom (test group)")
    await control.say(group, user, "hello")
    _, lines, running = await _chatting(server)
    seen = ""
    try:
        await asyncio.sleep(0.3)
        await bot.send_message(group.id, "Indexed: 1 new article")
        seen = await _printed(capsys, "Indexed: 1 new article")
    finally:
        await lines.put(None)
        await asyncio.wait_for(running, 10)
        await control.close()
    assert "[group] khabar_test_bot>" in seen  # tagged: the user is in the private chat


@pytest.mark.parametrize(("code", "spoken"), [*((c, c) for c in LANGUAGES), ("pt-br", "en")])
async def test_lang_takes_every_code_and_says_what_it_set(
    server: TestServer, capsys: pytest.CaptureFixture[str], code: str, spoken: str
) -> None:
    chat, lines, running = await _chatting(server)
    try:
        await chat.handle(f":lang {code}")
    finally:
        await lines.put(None)
        await asyncio.wait_for(running, 10)
    out = capsys.readouterr().out
    assert f"language is now {code}" in out and f"speaks {LANGUAGES[spoken]} to you" in out
    assert chat.user.language_code == code
    assert "unknown command" not in out


async def test_an_empty_line_says_how_to_go_on_and_does_not_leave(
    server: TestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _, lines, running = await _chatting(server)
    await lines.put("")
    await lines.put(":lang")
    await asyncio.sleep(0.5)
    assert not running.done()
    await lines.put(None)
    await asyncio.wait_for(running, 10)
    out = capsys.readouterr().out
    assert ":quit to leave" in out and "say which language" in out


def test_the_local_chats_user_is_an_editor_unless_the_operator_names_them() -> None:
    plain = Settings(_env_file=None)  # type: ignore[call-arg]
    local, hint = local_editors(plain)
    assert local.admin_ids == [USER_ID] and "You are an editor" in hint
    named = plain.with_overrides(admin_ids=[42])
    local, hint = local_editors(named)
    assert local.admin_ids == [42] and "You are a reader" in hint and "KHABAR_ADMIN_IDS" in hint
    local, hint = local_editors(plain.with_overrides(admin_ids=[42, USER_ID]))
    assert USER_ID in local.admin_ids and "editor" in hint
