"""What the control API's handlers share: reading a request, answering an error, showing a
message."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .world import World

MAX_WAIT = 120.0


def error_response(status: int, message: str) -> web.Response:
    return web.json_response({"ok": False, "error": message}, status=status)


async def read_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(
            text='{"ok": false, "error": "the body must be JSON"}', content_type="application/json"
        ) from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text='{"ok": false, "error": "the body must be a JSON object"}',
            content_type="application/json",
        )
    return body


def wait_seconds(request: web.Request) -> float:
    try:
        return max(0.0, min(float(request.query.get("wait", 0)), MAX_WAIT))
    except ValueError:
        return 0.0


def view(world: World, message: dict[str, Any]) -> dict[str, Any]:
    """A message as the control API shows it: who sent it, text, entities, buttons."""
    out = {
        "message_id": message["message_id"],
        "from_bot": message["from"].get("id") == world.bot_id
        and message["from"].get("is_bot", False),
        "from": message["from"],
        "date": message["date"],
        "text": message.get("text") or message.get("caption"),
        "entities": message.get("entities") or message.get("caption_entities") or [],
        "buttons": (message.get("reply_markup") or {}).get("inline_keyboard", []),
    }
    for key in ("edit_date", "document"):
        if key in message:
            out[key] = message[key]
    if message.get("reply_to_message"):
        out["reply_to_message_id"] = message["reply_to_message"]["message_id"]
    return out
