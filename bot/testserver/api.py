"""The Bot API methods the test server implements, on top of `World`."""

from __future__ import annotations

import copy
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from . import limits
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


def _chat(world: World, params: Params, for_sending: bool = True) -> Chat:
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


def _int(params: Params, key: str, default: int | None = None) -> int | None:
    value = params.get(key, default)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad(f"invalid {key} specified") from None


def _reply_to(chat: Chat, params: Params) -> dict[str, Any] | None:
    target = params.get("reply_parameters")
    message_id = (
        target.get("message_id")
        if isinstance(target, dict)
        else _int(params, "reply_to_message_id")
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


@method("getMe")
async def get_me(world: World, params: Params, files: dict[str, Upload]) -> Any:
    return world.me()


@method("logOut")
async def log_out(world: World, params: Params, files: dict[str, Upload]) -> Any:
    return True


@method("close")
async def close(world: World, params: Params, files: dict[str, Upload]) -> Any:
    return True


@method("setWebhook")
async def set_webhook(world: World, params: Params, files: dict[str, Upload]) -> Any:
    url = params.get("url") or ""
    if not url:
        world.webhook = None
        return True
    if not str(url).startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise bad("bad webhook: HTTPS url must be provided for webhook")
    secret = params.get("secret_token")
    if secret is not None and not (
        1 <= len(secret) <= 256 and all(c.isalnum() or c in "_-" for c in secret)
    ):
        raise bad("secret token contains unallowed characters")
    if params.get("drop_pending_updates"):
        world.updates.clear()
    world.webhook = {
        "url": url,
        "secret_token": secret,
        "allowed_updates": params.get("allowed_updates"),
    }
    if params.get("allowed_updates") is not None:
        world.allowed_updates = params.get("allowed_updates") or None
    await world.notify()
    return True


@method("deleteWebhook")
async def delete_webhook(world: World, params: Params, files: dict[str, Upload]) -> Any:
    world.webhook = None
    if params.get("drop_pending_updates"):
        world.updates.clear()
    return True


@method("getWebhookInfo")
async def get_webhook_info(world: World, params: Params, files: dict[str, Upload]) -> Any:
    hook = world.webhook or {}
    return {
        "url": hook.get("url", ""),
        "has_custom_certificate": False,
        "pending_update_count": len(world.updates),
    }


def _message_text(params: Params) -> tuple[str, list[dict[str, Any]]]:
    """A message's text and entities after parsing, within Telegram's limits."""
    return limits.formatted(
        params.get("text", ""),
        params.get("parse_mode"),
        params.get("entities"),
        limits.MAX_TEXT,
        "message text",
    )


@method("sendMessage")
async def send_message(world: World, params: Params, files: dict[str, Upload]) -> Any:
    chat = _chat(world, params)
    text, entities = _message_text(params)
    markup = limits.keyboard(params.get("reply_markup"))
    reply = _reply_to(chat, params)
    message = world.new_message(
        chat,
        world.bot_user(),
        text=text,
        entities=entities or None,
        reply_markup=markup if markup and "inline_keyboard" in markup else None,
        reply_to_message=reply,
    )
    world.record_bot_event("message", chat.id, message["message_id"])
    await world.notify()
    return copy.deepcopy(message)


def _own_message(world: World, chat: Chat, params: Params, what: str) -> dict[str, Any]:
    message_id = _int(params, "message_id")
    message = chat.messages.get(message_id or 0)
    if message is None or message_id in chat.deleted:
        raise bad(f"message to {what} not found")
    if message["from"].get("id") != world.bot_id:
        raise bad(f"message can't be {what}ed" if what == "edit" else f"message can't be {what}d")
    return message


@method("editMessageText")
async def edit_message_text(world: World, params: Params, files: dict[str, Upload]) -> Any:
    if params.get("inline_message_id"):
        return True  # inline messages live in other users' chats: nothing to record here
    chat = _chat(world, params)
    message = _own_message(world, chat, params, "edit")
    text, entities = _message_text(params)
    markup = limits.keyboard(params.get("reply_markup"))
    return await _apply_edit(
        world, chat, message, {"text": text, "entities": entities or None, "reply_markup": markup}
    )


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(world: World, params: Params, files: dict[str, Upload]) -> Any:
    if params.get("inline_message_id"):
        return True
    chat = _chat(world, params)
    message = _own_message(world, chat, params, "edit")
    markup = limits.keyboard(params.get("reply_markup"))
    return await _apply_edit(world, chat, message, {"reply_markup": markup})


async def _apply_edit(
    world: World, chat: Chat, message: dict[str, Any], change: dict[str, Any]
) -> Any:
    new = {k: v for k, v in change.items()}
    if all(message.get(k) == v for k, v in new.items()):
        raise bad(
            "message is not modified: specified new message content and reply markup are "
            "exactly the same as a current content and reply markup of the message"
        )
    for key, value in new.items():
        if value is None:
            message.pop(key, None)
        else:
            message[key] = value
    message["edit_date"] = int(time.time())
    world.record_bot_event("edit", chat.id, message["message_id"])
    await world.notify()
    return copy.deepcopy(message)


@method("deleteMessage")
async def delete_message(world: World, params: Params, files: dict[str, Upload]) -> Any:
    chat = _chat(world, params, for_sending=False)
    message_id = _int(params, "message_id")
    if message_id not in chat.messages or message_id in chat.deleted:
        raise bad("message to delete not found")
    chat.deleted.add(message_id)
    world.record_bot_event("delete", chat.id, message_id)
    await world.notify()
    return True


@method("sendChatAction")
async def send_chat_action(world: World, params: Params, files: dict[str, Upload]) -> Any:
    chat = _chat(world, params)
    action = params.get("action")
    allowed = {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
    if action not in allowed:
        raise bad("wrong parameter action in request")
    chat.actions.append(str(action))
    return True


def _unanswered(queries: dict[str, dict[str, Any]], query_id: Any) -> dict[str, Any]:
    """A callback or inline query that exists and has not been answered yet."""
    query = queries.get(str(query_id))
    if query is None or query.get("answer") is not None:
        raise bad("query is too old and response timeout expired or query ID is invalid")
    return query


@method("answerCallbackQuery")
async def answer_callback_query(world: World, params: Params, files: dict[str, Upload]) -> Any:
    query = _unanswered(world.callbacks, params.get("callback_query_id"))
    text = params.get("text") or ""
    if len(text) > limits.MAX_CALLBACK_ANSWER:
        raise bad("MESSAGE_TOO_LONG")
    query["answer"] = {
        "text": text,
        "show_alert": bool(params.get("show_alert")),
        "url": params.get("url"),
    }
    await world.notify()
    return True


@method("answerInlineQuery")
async def answer_inline_query(world: World, params: Params, files: dict[str, Upload]) -> Any:
    query = _unanswered(world.inline_queries, params.get("inline_query_id"))
    results = params.get("results")
    if isinstance(results, str):
        results = json.loads(results)
    if not isinstance(results, list) or len(results) > limits.MAX_INLINE_RESULTS:
        raise bad("RESULTS_TOO_MUCH")
    seen = set()
    for result in results:
        if not isinstance(result, dict) or not result.get("id") or result["id"] in seen:
            raise bad(
                "RESULT_ID_DUPLICATE"
                if isinstance(result, dict) and result.get("id") in seen
                else "RESULT_ID_INVALID"
            )
        seen.add(result["id"])
        content = result.get("input_message_content") or {}
        if "message_text" in content:
            limits.formatted(
                content["message_text"],
                content.get("parse_mode"),
                content.get("entities"),
                limits.MAX_TEXT,
                "message text",
            )
        limits.keyboard(result.get("reply_markup"))
    query["answer"] = results
    await world.notify()
    return True


@method("setMyCommands")
async def set_my_commands(world: World, params: Params, files: dict[str, Upload]) -> Any:
    world.commands[_scope_key(params)] = limits.commands(params.get("commands", []))
    return True


@method("getMyCommands")
async def get_my_commands(world: World, params: Params, files: dict[str, Upload]) -> Any:
    return world.commands.get(_scope_key(params), [])


@method("deleteMyCommands")
async def delete_my_commands(world: World, params: Params, files: dict[str, Upload]) -> Any:
    world.commands.pop(_scope_key(params), None)
    return True


def _scope_key(params: Params) -> str:
    scope = params.get("scope") or {"type": "default"}
    return f"{json.dumps(scope, sort_keys=True)}|{params.get('language_code') or ''}"


@method("getChat")
async def get_chat(world: World, params: Params, files: dict[str, Upload]) -> Any:
    chat = _chat(world, params, for_sending=False)
    return {**chat.as_json(), "accent_color_id": 0, "max_reaction_count": 11}


@method("getFile")
async def get_file(world: World, params: Params, files: dict[str, Upload]) -> Any:
    stored = world.files.get(str(params.get("file_id")))
    if stored is None:
        raise bad("invalid file_id")
    return {k: stored[k] for k in ("file_id", "file_unique_id", "file_size", "file_path")}


def store_file(world: World, name: str, mime: str, data: bytes) -> dict[str, Any]:
    """Keep an uploaded file; returns its Document JSON."""
    unique = hashlib.sha1(data + name.encode("utf-8", "replace")).hexdigest()[:16]
    file_id = world.new_id("DOC") + unique
    path = f"documents/file_{len(world.files) + 1}{_suffix(name)}"
    world.files[file_id] = {
        "file_id": file_id,
        "file_unique_id": unique,
        "file_size": len(data),
        "file_path": path,
        "data": data,
    }
    document = {"file_id": file_id, "file_unique_id": unique, "file_size": len(data)}
    if name:
        document["file_name"] = name
    if mime:
        document["mime_type"] = mime
    return document


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    suffix = name[dot:] if dot > 0 else ""
    return suffix if suffix[1:].isalnum() and len(suffix) <= 8 else ""


@method("sendDocument")
async def send_document(world: World, params: Params, files: dict[str, Upload]) -> Any:
    chat = _chat(world, params)
    upload = files.get("document")
    if upload is not None:
        document = store_file(world, *upload)
    elif isinstance(params.get("document"), str) and params["document"] in world.files:
        stored = world.files[params["document"]]
        document = {
            "file_id": stored["file_id"],
            "file_unique_id": stored["file_unique_id"],
            "file_size": stored["file_size"],
        }
    else:
        raise bad("there is no document in the request")
    caption, entities = None, None
    if params.get("caption"):
        caption, entities = limits.formatted(
            params["caption"],
            params.get("parse_mode"),
            params.get("caption_entities"),
            limits.MAX_CAPTION,
            "message caption",
        )
    markup = limits.keyboard(params.get("reply_markup"))
    message = world.new_message(
        chat,
        world.bot_user(),
        document=document,
        caption=caption,
        caption_entities=entities or None,
        reply_markup=markup,
        reply_to_message=_reply_to(chat, params),
    )
    world.record_bot_event("message", chat.id, message["message_id"])
    await world.notify()
    return copy.deepcopy(message)


@method("getUpdates")
async def get_updates(world: World, params: Params, files: dict[str, Upload]) -> Any:
    raise AssertionError("getUpdates is served by the server itself")  # pragma: no cover


async def long_poll(world: World, params: Params) -> list[dict[str, Any]]:
    if world.webhook:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )
    offset = _int(params, "offset")
    limit = max(1, min(_int(params, "limit", 100) or 100, 100))
    timeout = max(0, min(_int(params, "timeout", 0) or 0, 50))
    if "allowed_updates" in params and params["allowed_updates"] is not None:
        world.allowed_updates = list(params["allowed_updates"]) or None
    world.pending(offset, limit)
    # Like Telegram, a newer getUpdates request terminates an older one still waiting.
    world.poller += 1
    mine = world.poller
    await world.notify()
    await world.wait_for(lambda: world.poller != mine or bool(world.pending(None, limit)), timeout)
    if world.poller != mine:
        raise ApiError(
            409,
            "Conflict: terminated by other getUpdates request; make sure that only one bot "
            "instance is running",
        )
    batch = world.pending(None, limit)
    world.delivered.update(u["update_id"] for u in batch)
    return copy.deepcopy(batch)
