"""The control API under /_test/: act as users, read chats, inject faults. JSON over HTTP."""

from __future__ import annotations

import base64
import copy
from typing import Any

from aiohttp import web

from . import api
from .control_common import error_response, read_body, view, wait_seconds
from .control_inspect import Inspect
from .world import World, normalize_user

# Message kinds a test can send besides text, as Telegram's JSON objects (e.g. a sticker).
MEDIA = ("sticker", "photo", "voice", "video", "location", "contact", "animation")
STICKER = {
    "file_id": "STK1",
    "file_unique_id": "stk1",
    "type": "regular",
    "width": 512,
    "height": 512,
    "is_animated": False,
    "is_video": False,
    "emoji": "👍",
}


def add_routes(app: web.Application, world: World) -> None:
    handlers = _Handlers(world)
    inspect = Inspect(world)
    r = app.router
    r.add_post("/_test/messages", handlers.message)
    r.add_post("/_test/documents", handlers.document)
    r.add_post("/_test/callbacks", handlers.press)
    r.add_get("/_test/callbacks/{id}", handlers.callback_answer)
    r.add_post("/_test/inline", handlers.inline)
    r.add_get("/_test/inline/{id}", handlers.inline_answer)
    r.add_get("/_test/chats/{chat_id}/messages", inspect.messages)
    r.add_get("/_test/chats/{chat_id}/actions", inspect.actions)
    r.add_post("/_test/chats/{chat_id}/block", inspect.block)
    r.add_get("/_test/calls", inspect.calls)
    r.add_get("/_test/commands", inspect.commands)
    r.add_get("/_test/updates", inspect.updates)
    r.add_post("/_test/updates", handlers.raw_update)
    r.add_post("/_test/faults", inspect.add_fault)
    r.add_get("/_test/faults", inspect.list_faults)
    r.add_delete("/_test/faults", inspect.clear_faults)
    r.add_get("/_test/health", inspect.health)


class _Handlers:
    def __init__(self, world: World) -> None:
        self.world = world

    def _user_and_chat(self, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        user = body.get("from") or {}
        if "id" not in user:
            raise web.HTTPBadRequest(
                text='{"ok": false, "error": "\\"from\\" needs an \\"id\\""}',
                content_type="application/json",
            )
        chat = body.get("chat") or {"id": user["id"], "type": "private"}
        if "id" not in chat:
            raise web.HTTPBadRequest(
                text='{"ok": false, "error": "\\"chat\\" needs an \\"id\\""}',
                content_type="application/json",
            )
        return user, chat

    async def raw_update(self, request: web.Request) -> web.Response:
        """Queue any JSON object as an update (the server gives it its update_id), to see how
        the bot copes with what Telegram might one day send: unknown or missing fields."""
        body = await read_body(request)
        payload = body.get("update")
        if not isinstance(payload, dict):
            return error_response(
                400, '"update" must be a JSON object (its fields, without update_id)'
            )
        update = {"update_id": next(self.world.update_ids), **payload}
        self.world.updates.append(update)
        await self.world.notify()
        return web.json_response({"ok": True, "update_id": update["update_id"]})

    async def message(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        user, chat = self._user_and_chat(body)
        text = body.get("text")
        media = {k: body[k] for k in MEDIA if k in body}
        if not media and (not isinstance(text, str) or not text):
            return error_response(
                400, '"text" must be a non-empty string (or send one of ' + ", ".join(MEDIA) + ")"
            )
        try:
            message, update = self.world.user_message(
                chat,
                user,
                text=text if isinstance(text, str) and text else None,
                reply_to=body.get("reply_to_message_id"),
                media=media,
            )
        except LookupError as exc:
            return error_response(404, str(exc))
        return await self._sent(message, update)

    async def document(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        user, chat = self._user_and_chat(body)
        if "content_base64" in body:
            data = base64.b64decode(body["content_base64"])
        else:
            data = str(body.get("content", "")).encode("utf-8")
        document = api.store_file(
            self.world, str(body.get("file_name", "")), str(body.get("mime_type", "")), data
        )
        message, update = self.world.user_message(
            chat, user, document=document, caption=body.get("caption")
        )
        return await self._sent(message, update)

    async def _sent(self, message: dict[str, Any], update: dict[str, Any] | None) -> web.Response:
        """The answer to a user's message: it, the event number to wait from, its update."""
        seq = len(self.world.events)  # before notifying: the bot may reply during the await
        await self.world.notify()
        return web.json_response(
            {
                "ok": True,
                "message": view(self.world, message),
                "seq": seq,
                "update_id": update["update_id"] if update else None,
            }
        )

    async def press(self, request: web.Request) -> web.Response:
        """Press a button of a bot message: by `data`, by button `text`, or forged `data`."""
        body = await read_body(request)
        user = body.get("from") or {}
        chat = self.world.chat(int(body.get("chat_id", 0)))
        if chat is None or "id" not in user:
            return error_response(404, 'unknown chat, or no "from"')
        message = chat.messages.get(int(body.get("message_id", 0)))
        data = body.get("data")
        if message is not None and data is None:
            buttons = [
                b
                for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
                for b in row
            ]
            match = next((b for b in buttons if b.get("text") == body.get("text")), None)
            if match is None or "callback_data" not in match:
                return error_response(
                    404, f"no button {body.get('text')!r} with callback data on that message"
                )
            data = match["callback_data"]
        query_id = self.world.new_id("CB")
        query: dict[str, Any] = {
            "id": query_id,
            "from": normalize_user(user),
            "chat_instance": str(chat.id),
            "data": data,
        }
        if message is not None and message["message_id"] not in chat.deleted:
            query["message"] = copy.deepcopy(message)
        self.world.callbacks[query_id] = {"query": query, "answer": None}
        update = self.world.push_update("callback_query", query)
        seq = len(self.world.events)  # before notifying: the bot may reply during the await
        await self.world.notify()
        return web.json_response(
            {
                "ok": True,
                "callback_query_id": query_id,
                "seq": seq,
                "update_id": update["update_id"],
            }
        )

    async def callback_answer(self, request: web.Request) -> web.Response:
        entry = self.world.callbacks.get(request.match_info["id"])
        if entry is None:
            return error_response(404, "unknown callback query")
        await self.world.wait_for(lambda: entry["answer"] is not None, wait_seconds(request))
        return web.json_response({"ok": True, "answer": entry["answer"]})

    async def inline(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        user = body.get("from") or {}
        if "id" not in user:
            return error_response(400, '"from" needs an "id"')
        query_id = self.world.new_id("IQ")
        query = {
            "id": query_id,
            "from": normalize_user(user),
            "query": str(body.get("query", "")),
            "offset": "",
            "chat_type": body.get("chat_type", "sender"),
        }
        self.world.inline_queries[query_id] = {"query": query, "answer": None}
        update = self.world.push_update("inline_query", query)
        await self.world.notify()
        return web.json_response(
            {"ok": True, "inline_query_id": query_id, "update_id": update["update_id"]}
        )

    async def inline_answer(self, request: web.Request) -> web.Response:
        entry = self.world.inline_queries.get(request.match_info["id"])
        if entry is None:
            return error_response(404, "unknown inline query")
        await self.world.wait_for(lambda: entry["answer"] is not None, wait_seconds(request))
        return web.json_response({"ok": True, "results": entry["answer"]})
