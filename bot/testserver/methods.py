"""How the test server's Bot API methods are registered and read their parameters; the methods
themselves live in api_*.py, one module per area."""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable
from typing import Any

from .limits import ApiError, bad
from .world import Chat, World

Params = dict[str, Any]
Upload = tuple[str, str, bytes]  # file name, content type, bytes
Method = Callable[[World, Params, dict[str, Upload]], Awaitable[Any]]
METHODS: dict[str, Method] = {}
_JSON_FIELDS = {
    "chat_id",
    "message_id",
    "reply_markup",
    "entities",
    "caption_entities",
    "timeout",
    "offset",
    "limit",
    "allowed_updates",
    "reply_parameters",
    "link_preview_options",
    "disable_notification",
    "protect_content",
    "show_alert",
    "cache_time",
    "results",
    "is_personal",
    "commands",
    "scope",
    "from_chat_id",
    "message_thread_id",
    "drop_pending_updates",
    "max_connections",
    "disable_web_page_preview",
    "reply_to_message_id",
    "allow_sending_without_reply",
    "button",
}


def method(name: str) -> Callable[[Method], Method]:
    def register(fn: Method) -> Method:
        METHODS[name.lower()] = fn
        return fn

    return register


def decode_params(raw: dict[str, Any]) -> Params:
    """python-telegram-bot sends every non-string value JSON-encoded in a form field."""
    params: Params = {}
    for key, value in raw.items():
        if key in _JSON_FIELDS and isinstance(value, str):
            try:
                params[key] = json.loads(value)
                continue
            except ValueError:
                pass
        params[key] = value
    return params


def chat_of(world: World, params: Params, for_sending: bool = True) -> Chat:
    chat_id = params.get("chat_id")
    if chat_id is None or chat_id == "":
        raise bad("chat_id is empty")
    chat = None
    if isinstance(chat_id, str) and chat_id.startswith("@"):
        chat = next(
            (c for c in world.chats.values() if c.username and "@" + c.username == chat_id), None
        )
    else:
        try:
            chat = world.chat(int(chat_id))
        except (TypeError, ValueError):
            raise bad("chat not found") from None
    if chat is None:
        raise bad("chat not found")
    if for_sending and chat.blocked:
        raise ApiError(403, "Forbidden: bot was blocked by the user")
    return chat


def int_param(params: Params, key: str, default: int | None = None) -> int | None:
    value = params.get(key, default)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad(f"invalid {key} specified") from None


def reply_to(chat: Chat, params: Params) -> dict[str, Any] | None:
    target = params.get("reply_parameters")
    message_id = (
        target.get("message_id")
        if isinstance(target, dict)
        else int_param(params, "reply_to_message_id")
    )
    if message_id is None:
        return None
    message = chat.messages.get(int(message_id))
    if message is None or int(message_id) in chat.deleted:
        allow = isinstance(target, dict) and target.get("allow_sending_without_reply")
        if allow or params.get("allow_sending_without_reply"):
            return None
        raise bad("message to be replied not found")
    return {k: copy.deepcopy(v) for k, v in message.items() if k != "reply_to_message"}
