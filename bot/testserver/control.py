"""The control API under /_test/: act as users, read chats, inject faults. JSON over HTTP."""

from __future__ import annotations

import base64
import copy
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import api
from .world import Fault, World, normalize_user

if TYPE_CHECKING:
    from .server import TestServer

MAX_WAIT = 120.0
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


def add_routes(app: web.Application, server: TestServer) -> None:
    world = server.world
    handlers = _Handlers(world)
    r = app.router
    r.add_post("/_test/messages", handlers.message)
    r.add_post("/_test/documents", handlers.document)
    r.add_post("/_test/callbacks", handlers.press)
    r.add_get("/_test/callbacks/{id}", handlers.callback_answer)
    r.add_post("/_test/inline", handlers.inline)
    r.add_get("/_test/inline/{id}", handlers.inline_answer)
    r.add_get("/_test/chats/{chat_id}/messages", handlers.messages)
    r.add_get("/_test/chats/{chat_id}/actions", handlers.actions)
    r.add_post("/_test/chats/{chat_id}/block", handlers.block)
    r.add_get("/_test/calls", handlers.calls)
    r.add_get("/_test/commands", handlers.commands)
    r.add_get("/_test/updates", handlers.updates)
    r.add_post("/_test/updates", handlers.raw_update)
    r.add_post("/_test/faults", handlers.add_fault)
    r.add_get("/_test/faults", handlers.list_faults)
    r.add_delete("/_test/faults", handlers.clear_faults)
    r.add_get("/_test/health", handlers.health)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"ok": False, "error": message}, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
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


def _wait(request: web.Request) -> float:
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


class _Handlers:
    def __init__(self, world: World) -> None:
        self.world = world

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

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
        body = await _body(request)
        payload = body.get("update")
        if not isinstance(payload, dict):
            return _error(400, '"update" must be a JSON object (its fields, without update_id)')
        update = {"update_id": next(self.world.update_ids), **payload}
        self.world.updates.append(update)
        await self.world.notify()
        return web.json_response({"ok": True, "update_id": update["update_id"]})

    async def message(self, request: web.Request) -> web.Response:
        body = await _body(request)
        user, chat = self._user_and_chat(body)
        text = body.get("text")
        media = {k: body[k] for k in MEDIA if k in body}
        if not media and (not isinstance(text, str) or not text):
            return _error(
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
            return _error(404, str(exc))
        return await self._sent(message, update)

    async def document(self, request: web.Request) -> web.Response:
        body = await _body(request)
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
        body = await _body(request)
        user = body.get("from") or {}
        chat = self.world.chat(int(body.get("chat_id", 0)))
        if chat is None or "id" not in user:
            return _error(404, 'unknown chat, or no "from"')
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
                return _error(
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
            return _error(404, "unknown callback query")
        await self.world.wait_for(lambda: entry["answer"] is not None, _wait(request))
        return web.json_response({"ok": True, "answer": entry["answer"]})

    async def inline(self, request: web.Request) -> web.Response:
        body = await _body(request)
        user = body.get("from") or {}
        if "id" not in user:
            return _error(400, '"from" needs an "id"')
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
            return _error(404, "unknown inline query")
        await self.world.wait_for(lambda: entry["answer"] is not None, _wait(request))
        return web.json_response({"ok": True, "results": entry["answer"]})

    async def messages(self, request: web.Request) -> web.Response:
        """The chat's history; with ?wait=S, first wait up to S s for a new bot message or edit.

        "New" means after `since` (an event number from an earlier answer); by default, after
        the request arrived.
        """
        chat_id = int(request.match_info["chat_id"])
        since = int(request.query.get("since", len(self.world.events)))
        wait = _wait(request)
        if wait:
            await self.world.wait_for(
                lambda: bool(self.world.bot_messages_since(chat_id, since)), wait
            )
        events = self.world.bot_messages_since(chat_id, since)
        history = [view(self.world, m) for m in self.world.history(chat_id)]
        return web.json_response(
            {
                "ok": True,
                "messages": history,
                "events": [
                    {"seq": e.seq, "kind": e.kind, "message_id": e.message_id} for e in events
                ],
                "seq": len(self.world.events),
            }
        )

    async def actions(self, request: web.Request) -> web.Response:
        chat = self.world.chat(int(request.match_info["chat_id"]))
        return web.json_response({"ok": True, "actions": chat.actions if chat else []})

    async def block(self, request: web.Request) -> web.Response:
        body = await _body(request)
        chat = self.world.chat(int(request.match_info["chat_id"]))
        if chat is None:
            return _error(404, "unknown chat")
        chat.blocked = bool(body.get("blocked", True))
        return web.json_response({"ok": True})

    async def calls(self, request: web.Request) -> web.Response:
        method = request.query.get("method")
        calls = [c for c in self.world.calls if method is None or c["method"] == method]
        return web.json_response(
            {"ok": True, "calls": calls, "unknown_methods": self.world.unknown_methods}
        )

    async def commands(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "commands": self.world.commands})

    async def updates(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"ok": True, "pending": self.world.updates, "delivered": sorted(self.world.delivered)}
        )

    async def add_fault(self, request: web.Request) -> web.Response:
        body = await _body(request)
        kind = str(body.get("kind", ""))
        if kind not in ("429", "500", "502", "delay", "drop"):
            return _error(400, '"kind" is one of 429, 500, 502, delay, drop')
        self.world.faults.append(
            Fault(
                method=str(body.get("method", "*")),
                kind=kind,
                count=int(body.get("count", 1)),
                retry_after=int(body.get("retry_after", 1)),
                seconds=float(body.get("seconds", 0.0)),
            )
        )
        return web.json_response({"ok": True})

    async def list_faults(self, request: web.Request) -> web.Response:
        """The faults not yet acted out (a fault with count N is taken by the next N calls)."""
        return web.json_response(
            {"ok": True, "faults": [vars(fault) for fault in self.world.faults]}
        )

    async def clear_faults(self, request: web.Request) -> web.Response:
        self.world.faults.clear()
        return web.json_response({"ok": True})
