"""`khabar chat`: talk to the bot through the local test server, as a Telegram user would.

Plain lines are messages. Lines starting with ":" are the chat's own commands (":help").
"""

from __future__ import annotations

import asyncio
import shlex
import sys
import threading
from pathlib import Path
from typing import Any

from .testserver.client import ChatRef, ControlClient, User

BOLD, ITALIC, DIM, RESET = "\033[1m", "\033[3m", "\033[2m", "\033[0m"
HELP = """Commands of this chat (everything else is sent as a message):
  :private            talk to the bot in a private chat (the default)
  :group              talk in a group chat (mention @{bot} or reply, or use /ask)
  :reply TEXT         reply to the bot's last message with TEXT (in a group)
  :press N            press button N under the bot's last message
  :inline QUESTION    type "@{bot} QUESTION" in a chat and see the offered results
  :file PATH [CAPTION] send a file as a document
  :lang en|ru         your Telegram language
  :quit               leave (Ctrl-D works too)"""


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
    def __init__(
        self, server_url: str, bot_username: str = "khabar_test_bot", color: bool = True
    ) -> None:
        self.client = ControlClient(server_url)
        self.bot = bot_username
        self.color = color
        self.user = User(id=1001, first_name="Reader", language_code="en")
        self.private = ChatRef(id=self.user.id, type="private")
        self.group = ChatRef(id=-100200, type="supergroup", title="Newsroom (test group)")
        self.chat = self.private
        self.last_bot: dict[str, Any] | None = None

    async def run(self) -> None:
        print(f"Chatting with @{self.bot} in a private chat. Type a question, or :help.")
        lines = _stdin_lines(asyncio.get_running_loop())
        try:
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
        finally:
            await self.client.close()

    def _prompt(self) -> str:
        where = "private" if self.chat is self.private else "group"
        return f"[{where}] you> "

    async def handle(self, line: str) -> None:
        if not line.startswith(":"):
            sent = await self.client.say(self.chat, self.user, line)
            if self.chat is self.group and not addresses_bot(line, self.bot):
                print(IGNORED_IN_GROUP.format(bot=self.bot))
                return  # the bot rightly stays quiet: no point waiting for a reply
            await self._show(sent["seq"])
            return
        command, _, rest = line[1:].partition(" ")
        if command == "help":
            print(HELP.format(bot=self.bot))
        elif command in ("private", "group"):
            self.chat = self.private if command == "private" else self.group
            self.last_bot = None
            print(f"(now in the {command} chat)")
        elif command == "lang" and rest.strip() in ("en", "ru"):
            self.user = User(self.user.id, self.user.first_name, rest.strip())
        elif command == "reply" and self.last_bot:
            sent = await self.client.say(
                self.chat, self.user, rest, reply_to=self.last_bot["message_id"]
            )
            await self._show(sent["seq"])
        elif command == "press" and self.last_bot and rest.strip().isdigit():
            await self._press(int(rest.strip()))
        elif command == "inline" and rest.strip():
            results = await self.client.inline(self.user, rest.strip()) or []
            for i, result in enumerate(results, 1):
                description = result.get("description", "")
                print(f"  {i}. {result.get('title')}\n     {DIM}{description}{RESET}")
        elif command == "file" and rest.strip():
            await self._send_file(rest)
        else:
            print("(unknown command; :help lists them)")

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
        before = (await self.client.history(self.chat.id))["seq"]
        pressed = await self.client.press(
            self.chat.id, self.last_bot["message_id"], self.user, data=button["callback_data"]
        )
        answer = await self.client.callback_answer(pressed["callback_query_id"])
        if answer and answer.get("text"):
            print(f"  ({answer['text']})")
        await self._show(before, wait=2)

    async def _send_file(self, rest: str) -> None:
        parts = shlex.split(rest)
        path = Path(parts[0]).expanduser()
        if not path.is_file():
            print(f"(no file {path})")
            return
        caption = " ".join(parts[1:]) or None
        sent = await self.client.send_document(
            self.chat, self.user, path.name, path.read_bytes(), caption
        )
        await self._show(sent["seq"])

    async def _show(self, since: int, wait: float = 120) -> None:
        """Print the bot's replies after event `since`. The first question of a new install
        may wait for the models to be prepared (under a minute): say so, and keep waiting."""
        messages, since = await self.client.replies(self.chat.id, since, wait=min(wait, 5))
        if not messages and wait > 5:
            print(f"{DIM if self.color else ''}(the bot is thinking…){RESET if self.color else ''}")
            messages, since = await self.client.replies(self.chat.id, since, wait=wait - 5)
        while messages:
            for message in messages:
                print(f"{self.bot}>\n{render(message, self.color)}")
                self.last_bot = message
            messages, since = await self.client.replies(self.chat.id, since, wait=1.0)
