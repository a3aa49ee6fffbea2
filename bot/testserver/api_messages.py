"""Messages: send, edit, delete, chat actions, button presses and inline answers."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

from . import limits
from .limits import bad
from .methods import Params, Upload, chat_of, int_param, method, reply_to
from .world import Chat, World


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
    chat = chat_of(world, params)
    text, entities = _message_text(params)
    markup = limits.keyboard(params.get("reply_markup"))
    reply = reply_to(chat, params)
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
    message_id = int_param(params, "message_id")
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
    chat = chat_of(world, params)
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
    chat = chat_of(world, params)
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
    chat = chat_of(world, params, for_sending=False)
    message_id = int_param(params, "message_id")
    if message_id not in chat.messages or message_id in chat.deleted:
        raise bad("message to delete not found")
    chat.deleted.add(message_id)
    world.record_bot_event("delete", chat.id, message_id)
    await world.notify()
    return True


@method("sendChatAction")
async def send_chat_action(world: World, params: Params, files: dict[str, Upload]) -> Any:
    chat = chat_of(world, params)
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
