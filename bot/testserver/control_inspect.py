"""The control API's reading side: chats' messages and actions, calls the bot made, pending
updates, injected faults."""

from __future__ import annotations

from aiohttp import web

from .control_common import error_response, read_body, view, wait_seconds
from .world import Fault, World


class Inspect:
    def __init__(self, world: World) -> None:
        self.world = world

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def messages(self, request: web.Request) -> web.Response:
        """The chat's history; with ?wait=S, first wait up to S s for a new bot message or edit.

        "New" means after `since` (an event number from an earlier answer); by default, after
        the request arrived.
        """
        chat_id = int(request.match_info["chat_id"])
        since = int(request.query.get("since", len(self.world.events)))
        wait = wait_seconds(request)
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
        body = await read_body(request)
        chat = self.world.chat(int(request.match_info["chat_id"]))
        if chat is None:
            return error_response(404, "unknown chat")
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
        body = await read_body(request)
        kind = str(body.get("kind", ""))
        if kind not in ("429", "500", "502", "delay", "drop"):
            return error_response(400, '"kind" is one of 429, 500, 502, delay, drop')
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
