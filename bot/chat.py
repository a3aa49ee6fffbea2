"""`khabar chat`: talk to the bot through the local test server, as a Telegram user would.

Plain lines are messages. Lines starting with ":" are the chat's own commands (":help").
"""

from __future__ import annotations

import asyncio
import re
import shlex
import sys
import threading
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import httpx

from .messages.i18n import LANGUAGES, language
from .testserver.client import ChatRef, ControlClient, User

BOLD, ITALIC, DIM, RESET = "\033[1m", "\033[3m", "\033[2m", "\033[0m"
USER_ID = 1001  # the chat's Telegram user; an editor in the local test chats unless set otherwise
LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?")
HELP = """Commands of this chat (everything else is sent as a message):
  :private            talk to the bot in a private chat (the default)
  :group              talk in a group chat (mention @{bot} or reply, or use /ask)
  :reply TEXT         reply to the bot's last message with TEXT (in a group)
  :press N            press button N under the bot's last message
  :inline QUESTION    type "@{bot} QUESTION" in a chat and see the offered results
  :file PATH [CAPTION] send a file as a document
  :lang CODE          your Telegram app's language (en, ru, az, kk, tr, uz, or any other)
  :quit               leave (Ctrl-D works too)"""


EMPTY_LINE = "(type a question, :help for the chat's commands, :quit to leave)"
IGNORED_IN_GROUP = (
    "(in a group the bot answers only when mentioned (@{bot} …), replied to (:reply), or "
    "asked with /ask — so this message gets no reply)"
)


def addresses_bot(text: str, bot: str) -> bool:
    """Whether a group message is for the bot, by the rules its handlers apply: a command, or
    a mention of its @username. (Replies to the bot go through `:reply`.)"""
    return text.startswith("/") or f"@{bot.lower()}" in text.lower()


def render(message: dict[str, Any], color: bool = True) -> str:
    """A bot message for a terminal: bold, italics, quotes and links made visible."""
    text: str = message.get("text") or ""
    data = text.encode("utf-16-le")
    marks: dict[int, list[str]] = {}
    for entity in sorted(message.get("entities", []), key=lambda e: (e["offset"], -e["length"])):
        start, end = entity["offset"], entity["offset"] + entity["length"]
        kind = entity["type"]
        if kind == "bold" and color:
            marks.setdefault(start, []).append(BOLD)
            marks.setdefault(end, []).insert(0, RESET)
        elif kind == "italic" and color:
            marks.setdefault(start, []).append(ITALIC)
            marks.setdefault(end, []).insert(0, RESET)
        elif kind == "text_link":
            marks.setdefault(end, []).insert(0, f" <{entity['url']}>")
        elif kind in ("blockquote", "expandable_blockquote"):
            marks.setdefault(start, []).insert(0, "│ ")
            marks.setdefault(end, []).insert(0, "\n")
    out, cursor = [], 0
    for offset in sorted(marks):
        out.append(data[cursor * 2 : offset * 2].decode("utf-16-le", "replace"))
        out.extend(marks[offset])
        cursor = offset
    out.append(data[cursor * 2 :].decode("utf-16-le", "replace"))
    lines = "".join(out).replace("\n\n", "\n").splitlines()
    shown = "\n".join(f"  {line}" for line in lines)
    buttons = [b for row in message.get("buttons", []) for b in row]
    if buttons:
        labels = [
            f"[{i}] {b['text']}" + (f" <{b['url']}>" if "url" in b else "")
            for i, b in enumerate(buttons, 1)
        ]
        shown += "\n  " + (DIM if color else "") + "   ".join(labels) + (RESET if color else "")
    return shown


def _stdin_lines(loop: asyncio.AbstractEventLoop) -> asyncio.Queue[str | None]:
    """Lines typed, read by a daemon thread: a blocked read never keeps the process from
    stopping on Ctrl-C (a read in the loop's executor would, until Enter is pressed)."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        while True:
            line = sys.stdin.readline()
            try:
                loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\n") if line else None)
            except RuntimeError:  # the chat has ended and its loop is closed
                return
            if not line:
                return

    threading.Thread(target=read, name="khabar-chat-input", daemon=True).start()
    return queue


class TerminalChat:
    """A Telegram user in a private chat and a group with the bot. Every message the bot sends
    to either chat is shown when it arrives (answers, alerts, notices of a build started from
    another shell), whether or not the user has just typed."""

    def __init__(
        self,
        server_url: str,
        bot_username: str = "khabar_test_bot",
        color: bool = True,
        editor_hint: str | None = None,
    ) -> None:
        self.client = ControlClient(server_url)
        self.bot = bot_username
        self.color = color
        self.editor_hint = editor_hint
        self.user = User(id=USER_ID, first_name="Reader", language_code="en")
        self.private = ChatRef(id=self.user.id, type="private")
        self.group = ChatRef(id=-100200, type="supergroup", title="Newsroom (test group)")
        self.chat = self.private
        self.last_bot: dict[str, Any] | None = None
        self._arrived = asyncio.Event()
        self._waiting_for_reply = False

    async def run(self, lines: asyncio.Queue[str | None] | None = None) -> None:
        """Chat until :quit or the end of input; `lines` instead of the terminal's (tests)."""
        print(f"Chatting with @{self.bot} in a private chat. Type a question, or :help.")
        if self.editor_hint:
            print(self._dim(self.editor_hint))
        lines = lines or _stdin_lines(asyncio.get_running_loop())
        watchers = []
        try:
            for chat in (self.private, self.group):
                since = int((await self.client.history(chat.id))["seq"])
                watchers.append(asyncio.create_task(self._watch(chat, since)))
            while True:
                print(self._prompt(), end="", flush=True)
                line = await lines.get()
                if line is None:  # end of input (Ctrl-D)
                    print()
                    return
                if line.strip() in (":quit", ":q", ":exit"):
                    return
                if line.strip():
                    await self.handle(line.strip())
                else:
                    print(self._dim(EMPTY_LINE))
        finally:
            for watcher in watchers:
                watcher.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
            await self.client.close()

    def _prompt(self) -> str:
        where = "private" if self.chat is self.private else "group"
        return f"[{where}] you> "

    def _dim(self, text: str) -> str:
        return f"{DIM}{text}{RESET}" if self.color else text

    async def _watch(self, chat: ChatRef, since: int) -> None:
        """Show the bot's messages in `chat` as they arrive, for as long as the chat runs."""
        while True:
            try:
                messages, since = await self.client.replies(chat.id, since, wait=25)
            except httpx.HTTPError:  # the server is going away, or busy: look again shortly
                await asyncio.sleep(1)
                continue
            for message in messages:
                self._print(chat, message)

    def _print(self, chat: ChatRef, message: dict[str, Any]) -> None:
        here = chat is self.chat
        where = "" if here else f"[{'private' if chat is self.private else 'group'}] "
        # Arriving while the user sits at the prompt: clear it, show the message, prompt again.
        prefix = "" if self._waiting_for_reply else "\r\033[K"
        print(f"{prefix}{where}{self.bot}>\n{render(message, self.color)}")
        if not self._waiting_for_reply:
            print(self._prompt(), end="", flush=True)
        if here:
            self.last_bot = message
        self._arrived.set()

    async def handle(self, line: str) -> None:
        if not line.startswith(":"):
            await self._expect_reply(self.client.say(self.chat, self.user, line), line)
            return
        command, _, rest = line[1:].partition(" ")
        rest = rest.strip()
        if command == "help":
            print(HELP.format(bot=self.bot))
        elif command in ("private", "group"):
            self.chat = self.private if command == "private" else self.group
            self.last_bot = None
            print(f"(now in the {command} chat)")
        elif command == "lang":
            self._set_language(rest)
        elif command == "reply" and self.last_bot:
            reply_to = self.last_bot["message_id"]
            await self._expect_reply(self.client.say(self.chat, self.user, rest, reply_to=reply_to))
        elif command == "press" and self.last_bot and rest.isdigit():
            await self._press(int(rest))
        elif command == "inline" and rest:
            results = await self.client.inline(self.user, rest) or []
            for i, result in enumerate(results, 1):
                description = result.get("description", "")
                print(f"  {i}. {result.get('title')}\n     {self._dim(description)}")
        elif command == "file" and rest:
            await self._send_file(rest)
        else:
            print("(unknown command; :help lists them)")

    def _set_language(self, code: str) -> None:
        """The language code the user's Telegram app sends, as Telegram sends it ("pt-br")."""
        if not LANGUAGE_CODE.fullmatch(code):
            print("(say which language: :lang en, ru, az, kk, tr, uz, or any other code)")
            return
        self.user = User(self.user.id, self.user.first_name, code.lower())
        spoken = language(code)
        print(
            f"(your Telegram app's language is now {code.lower()}: the bot speaks "
            f"{LANGUAGES[spoken]} to you, unless you chose another with /language)"
        )

    async def _expect_reply(self, sending: Awaitable[dict[str, Any]], text: str = "") -> None:
        """Send, then wait for the bot's first message (the watchers print it). The first
        question of a new install may wait for the models to be prepared: say so, keep waiting."""
        if self.chat is self.group and text and not addresses_bot(text, self.bot):
            await sending
            print(IGNORED_IN_GROUP.format(bot=self.bot))
            return  # the bot rightly stays quiet: no point waiting for a reply
        await self._await_messages(sending, wait=120)

    async def _await_messages(self, sending: Awaitable[Any], wait: float) -> None:
        self._arrived.clear()
        self._waiting_for_reply = True
        try:
            await sending
            if not await _within(self._arrived.wait(), min(wait, 5)) and wait > 5:
                print(self._dim("(the bot is thinking…)"))
                await _within(self._arrived.wait(), wait - 5)
            # More messages of the same reply arrive together; later ones (alerts) show anyway.
            while True:
                self._arrived.clear()
                if not await _within(self._arrived.wait(), 0.5):
                    break
        finally:
            self._waiting_for_reply = False

    async def _press(self, number: int) -> None:
        assert self.last_bot is not None
        buttons = [b for row in self.last_bot.get("buttons", []) for b in row]
        if not 1 <= number <= len(buttons):
            print("(no such button)")
            return
        button = buttons[number - 1]
        if "url" in button:
            print(f"  (opens {button['url']})")
            return
        pressing = self.client.press(
            self.chat.id, self.last_bot["message_id"], self.user, data=button["callback_data"]
        )

        async def press_and_answer() -> None:
            pressed = await pressing
            answer = await self.client.callback_answer(pressed["callback_query_id"])
            if answer and answer.get("text"):
                print(f"  ({answer['text']})")

        await self._await_messages(press_and_answer(), wait=2)

    async def _send_file(self, rest: str) -> None:
        parts = shlex.split(rest)
        path = Path(parts[0]).expanduser()
        if not path.is_file():
            print(f"(no file {path})")
            return
        caption = " ".join(parts[1:]) or None
        sending = self.client.send_document(
            self.chat, self.user, path.name, path.read_bytes(), caption
        )
        await self._await_messages(sending, wait=120)


async def _within(waiting: Awaitable[Any], seconds: float) -> bool:
    """Whether `waiting` finished within `seconds` (it is cancelled otherwise)."""
    try:
        async with asyncio.timeout(seconds):  # not `wait_for`: see `World.wait_for`
            await waiting
    except TimeoutError:
        return False
    return True
