"""The test server's world: users, chats, messages, updates, files, button presses, faults.

No HTTP here: `api.py` maps Bot API calls onto these methods and `server.py` serves both the
Bot API and the control API. Waiting (long polls, "await the bot's reply") uses one asyncio
condition that is notified on every change.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

from .telegram_html import utf16_len

BOT_USERNAME = "khabar_test_bot"


@dataclass
class Chat:
    id: int
    type: str
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    next_message_id: int = 1
    blocked: bool = False
    actions: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out


@dataclass
class Event:
    """Something the bot did in a chat: a new message, an edit, a deletion."""

    seq: int
    kind: str
    chat_id: int
    message_id: int


@dataclass
class Fault:
    method: str  # a Bot API method name or "*"
    kind: str  # "429", "500", "502", "delay"
    count: int = 1
    retry_after: int = 1
    seconds: float = 0.0


class World:
    def __init__(self, bot_username: str = BOT_USERNAME, privacy: bool = True) -> None:
        self.bot_username = bot_username
        self.privacy = privacy
        self.bot_id = 0
        self.chats: dict[int, Chat] = {}
        self.updates: list[dict[str, Any]] = []
        # Like Telegram, update ids go up one by one from a starting point chosen at random
        # (Telegram picks a new random start after a week without updates).
        self.update_ids = itertools.count(random.randrange(10_000_000, 900_000_000))
        self.allowed_updates: list[str] | None = None
        self.webhook: dict[str, Any] | None = None
        self.commands: dict[str, list[dict[str, str]]] = {}
        self.callbacks: dict[str, dict[str, Any]] = {}
        self.inline_queries: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.calls: list[dict[str, Any]] = []
        self.unknown_methods: list[str] = []
        self.faults: list[Fault] = []
        self.events: list[Event] = []
        self.delivered: set[int] = set()  # update ids handed to the bot (polling or webhook)
        self.poller = 0  # the latest getUpdates request; older ones are terminated
        self.changed = asyncio.Event()  # set (and replaced) at every change: `notify`
        self._ids = itertools.count(1)

    # --- notifications -------------------------------------------------------------------
    async def notify(self) -> None:
        """Wake every waiter: the current event is set and a fresh one takes its place."""
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()

    async def wait_for(self, predicate: Any, timeout: float) -> bool:
        """Wait until `predicate()` is true or `timeout` seconds pass; returns the predicate.
        (An event per change, not an asyncio.Condition: on Python 3.11 a Condition's wait
        that timed out under load could leave its lock released and fail with "Lock is not
        acquired".) `asyncio.timeout`, not `asyncio.wait_for`: on Python 3.11 the latter returns
        when a change and a cancellation of the waiting task come at once, and the cancellation
        is lost (the server's webhook sender then did not stop)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return bool(predicate())
            try:
                async with asyncio.timeout(remaining):
                    await self.changed.wait()
            except TimeoutError:
                return bool(predicate())
        return True

    # --- the bot as a user --------------------------------------------------------------------
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Khabar (test)",
            "username": self.bot_username,
        }

    def me(self) -> dict[str, Any]:
        return {
            **self.bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    # --- chats and messages -------------------------------------------------------------------
    def chat(self, chat_id: int) -> Chat | None:
        return self.chats.get(chat_id)

    def ensure_chat(self, spec: dict[str, Any], user: dict[str, Any]) -> Chat:
        chat_id = int(spec["id"])
        chat = self.chats.get(chat_id)
        if chat is None:
            kind = spec.get("type") or ("private" if chat_id > 0 else "group")
            chat = Chat(
                chat_id,
                kind,
                title=spec.get("title") or (None if kind == "private" else f"Group {chat_id}"),
                username=spec.get("username")
                or (user.get("username") if kind == "private" else None),
                first_name=user.get("first_name") if kind == "private" else None,
            )
            self.chats[chat_id] = chat
        return chat

    def new_message(self, chat: Chat, sender: dict[str, Any], **fields: Any) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": chat.next_message_id,
            "from": sender,
            "chat": chat.as_json(),
            "date": int(time.time()),
        }
        chat.next_message_id += 1
        message.update({k: v for k, v in fields.items() if v is not None})
        chat.messages[message["message_id"]] = message
        return message

    def record_bot_event(self, kind: str, chat_id: int, message_id: int) -> None:
        self.events.append(Event(len(self.events) + 1, kind, chat_id, message_id))

    def bot_messages_since(self, chat_id: int, seq: int) -> list[Event]:
        return [e for e in self.events if e.chat_id == chat_id and e.seq > seq]

    def history(self, chat_id: int) -> list[dict[str, Any]]:
        chat = self.chats.get(chat_id)
        if chat is None:
            return []
        return [
            copy.deepcopy(m) for mid, m in sorted(chat.messages.items()) if mid not in chat.deleted
        ]

    # --- updates ------------------------------------------------------------------------------
    def push_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self.update_ids), kind: payload}
        self.updates.append(update)
        return update

    def pending(self, offset: int | None, limit: int) -> list[dict[str, Any]]:
        if offset is not None:
            if offset < 0:
                self.updates = self.updates[offset:]
            else:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
        allowed = self.allowed_updates
        visible = [u for u in self.updates if not allowed or _kind(u) in allowed]
        return visible[:limit]

    # --- users act -----------------------------------------------------------------------------
    def user_message(
        self,
        chat_spec: dict[str, Any],
        user: dict[str, Any],
        text: str | None = None,
        reply_to: int | None = None,
        document: dict[str, Any] | None = None,
        caption: str | None = None,
        media: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """A user's message in a chat; returns it and the update the bot gets (None if filtered)."""
        user = normalize_user(user)
        chat = self.ensure_chat(chat_spec, user)
        reply = None
        if reply_to is not None:
            reply = chat.messages.get(int(reply_to))
            if reply is None or reply_to in chat.deleted:
                raise LookupError(f"message {reply_to} not found in chat {chat.id}")
        fields: dict[str, Any] = {"reply_to_message": _shallow(reply) if reply else None}
        if text is not None:
            fields["text"] = text
            entities = self.detect_entities(text)
            if entities:
                fields["entities"] = entities
        if document is not None:
            fields["document"] = document
            if caption:
                fields["caption"] = caption
                entities = self.detect_entities(caption)
                if entities:
                    fields["caption_entities"] = entities
        fields.update(media or {})
        message = self.new_message(chat, user, **fields)
        if not self._bot_sees(chat, message):
            return message, None
        return message, self.push_update("message", copy.deepcopy(message))

    def _bot_sees(self, chat: Chat, message: dict[str, Any]) -> bool:
        """Group privacy mode: only commands, mentions and replies to the bot reach it."""
        if chat.type == "private" or not self.privacy:
            return True
        text = message.get("text") or message.get("caption") or ""
        reply = message.get("reply_to_message") or {}
        if (reply.get("from") or {}).get("id") == self.bot_id:
            return True
        for entity in message.get("entities", []) + message.get("caption_entities", []):
            if entity["type"] in ("bot_command", "mention"):
                piece = _utf16_slice(text, entity["offset"], entity["length"])
                if entity["type"] == "bot_command" and (
                    "@" not in piece or piece.lower().endswith("@" + self.bot_username.lower())
                ):
                    return True
                if entity["type"] == "mention" and piece[1:].lower() == self.bot_username.lower():
                    return True
        return False

    def detect_entities(self, text: str) -> list[dict[str, Any]]:
        """bot_command, mention, url and hashtag entities, as Telegram's clients produce them."""
        found = []
        for pattern, kind in (
            (r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{5,32})?", "bot_command"),
            (r"(?<!\w)@[A-Za-z0-9_]{5,32}", "mention"),
            (r"https?://[^\s<>]+", "url"),
            (r"(?<!\w)#\w+", "hashtag"),
        ):
            for match in re.finditer(pattern, text):
                if kind == "mention" and match.start() > 0 and text[match.start() - 1] == "/":
                    continue
                found.append(
                    {
                        "type": kind,
                        "offset": utf16_len(text[: match.start()]),
                        "length": utf16_len(match.group(0)),
                    }
                )
        return sorted(found, key=lambda e: e["offset"])

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids)}{int(time.time() * 1000) % 100000}"

    # --- faults -------------------------------------------------------------------------------
    def take_fault(self, method: str) -> Fault | None:
        for fault in self.faults:
            if fault.method in (method, "*") and fault.count > 0:
                fault.count -= 1
                if fault.count == 0:
                    self.faults.remove(fault)
                return fault
        return None


def _kind(update: dict[str, Any]) -> str:
    return next((k for k in update if k != "update_id"), "")


def normalize_user(spec: dict[str, Any]) -> dict[str, Any]:
    user = {
        "id": int(spec["id"]),
        "is_bot": False,
        "first_name": spec.get("first_name") or f"User{spec['id']}",
    }
    for key in ("last_name", "username", "language_code"):
        if spec.get(key):
            user[key] = spec[key]
    return user


def _shallow(message: dict[str, Any]) -> dict[str, Any]:
    """A replied-to message as Telegram embeds it: without its own reply_to_message."""
    return {k: copy.deepcopy(v) for k, v in message.items() if k != "reply_to_message"}


def _utf16_slice(text: str, offset: int, length: int) -> str:
    data = text.encode("utf-16-le")
    return data[offset * 2 : (offset + length) * 2].decode("utf-16-le", errors="replace")
