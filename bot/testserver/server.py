"""HTTP for the test server: the Bot API under /bot{token}/ and the control API under /_test/.

`TestServer` is importable (tests start it in-process on a free port) and runs as
`khabar testserver`. It listens on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from typing import Any

from aiohttp import BodyPartReader, ClientSession, ClientTimeout, web

from . import api, control
from .limits import ApiError
from .world import BOT_USERNAME, World

log = logging.getLogger(__name__)
TOKEN = re.compile(r"\A(\d{1,20}):[A-Za-z0-9_-]{1,64}\Z")
LOCALHOST = ("127.0.0.1", "localhost", "::1")


class TestServer:
    """A local Telegram Bot API server. `await start()`, use `.url`, `await stop()`."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = BOT_USERNAME,
        privacy: bool = True,
    ) -> None:
        if host not in LOCALHOST:
            raise ValueError("the test server listens on the loopback interface only")
        self.host, self.port = host, port
        self.world = World(bot_username, privacy)
        self._runner: web.AppRunner | None = None
        self._webhook_task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def app(self) -> web.Application:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/test/{method}", self._bot_api)
        app.router.add_route("*", "/bot{token}/{method}", self._bot_api)
        app.router.add_get("/file/bot{token}/test/{path:.+}", self._download)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        control.add_routes(app, self.world)
        return app

    async def start(self) -> TestServer:
        self._runner = web.AppRunner(self.app(), shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        server = getattr(site, "_server", None)
        if self.port == 0 and server is not None and server.sockets:
            self.port = server.sockets[0].getsockname()[1]
        self._webhook_task = asyncio.create_task(self._deliver_webhooks())
        return self

    async def stop(self) -> None:
        if self._webhook_task:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    # --- the Bot API ----------------------------------------------------------------------------
    async def _bot_api(self, request: web.Request) -> web.Response:
        token, name = request.match_info["token"], request.match_info["method"]
        at = time.time()  # when the call arrived (a long poll is recorded when it ends)
        match = TOKEN.match(token)
        if not match:
            return _reply(ApiError(401, "Unauthorized").payload(), 401)
        self.world.bot_id = int(match.group(1))
        handler = api.METHODS.get(name.lower())
        if handler is None:
            self.world.unknown_methods.append(name)
            self.world.calls.append({"method": name, "status": 404, "at": at})
            return _reply(ApiError(404, "Not Found").payload(), 404)
        try:
            raw, files = await _read_params(request)
            params = api.decode_params(raw)
            if await self._apply_fault(name):
                if request.transport is not None:
                    request.transport.close()  # the "connection drop" fault
                return web.Response(status=500)
            if name.lower() == "getupdates":
                result = await self._poll(params)
            else:
                result = await handler(self.world, params, files)
        except ApiError as exc:
            self.world.calls.append(
                {"method": name, "status": exc.code, "error": exc.description, "at": at}
            )
            return _reply(exc.payload(), exc.code)
        self.world.calls.append(
            {"method": name, "status": 200, "params": _loggable(params), "at": at}
        )
        return _reply({"ok": True, "result": result}, 200)

    async def _poll(self, params: dict[str, Any]) -> Any:
        return await api.long_poll(self.world, params)

    async def _apply_fault(self, method: str) -> bool:
        """Act out an injected fault; True when the connection should be dropped."""
        fault = self.world.take_fault(method)
        if fault is None:
            return False
        if fault.kind == "drop":
            return True
        if fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
        elif fault.kind == "429":
            raise ApiError(
                429, f"Too Many Requests: retry after {fault.retry_after}", fault.retry_after
            )
        else:
            raise ApiError(
                int(fault.kind), "Internal Server Error" if fault.kind == "500" else "Bad Gateway"
            )
        return False

    async def _download(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        for stored in self.world.files.values():
            if stored["file_path"] == path:
                return web.Response(body=stored["data"], content_type="application/octet-stream")
        return web.Response(status=404, text="Not Found")

    # --- webhooks -----------------------------------------------------------------------------
    async def _deliver_webhooks(self) -> None:
        """POST pending updates to the webhook one at a time, as Telegram does; retry failures."""
        world = self.world
        async with ClientSession(timeout=ClientTimeout(total=10)) as session:
            while True:
                await world.wait_for(lambda: bool(world.webhook and world.pending(None, 1)), 3600)
                hook = world.webhook
                batch = world.pending(None, 1)
                if not hook or not batch:
                    continue
                update = batch[0]
                headers = {"Content-Type": "application/json"}
                if hook.get("secret_token"):
                    headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
                try:
                    async with session.post(
                        hook["url"], data=json.dumps(update), headers=headers
                    ) as resp:
                        ok = 200 <= resp.status < 300
                except Exception:  # any delivery failure is retried, as Telegram does
                    ok = False
                if ok:
                    world.delivered.add(update["update_id"])
                    world.updates = [
                        u for u in world.updates if u["update_id"] != update["update_id"]
                    ]
                    await world.notify()
                else:
                    await asyncio.sleep(0.2)


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, api.Upload]]:
    params: dict[str, Any] = dict(request.query)
    files: dict[str, api.Upload] = {}
    if request.method != "POST" or not request.can_read_body:
        return params, files
    ctype = request.content_type
    if ctype == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON") from None
        if isinstance(body, dict):
            params.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()})
    elif ctype == "multipart/form-data":
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            data = bytes(await part.read())
            if part.filename is not None:
                files[part.name] = (part.filename, part.headers.get("Content-Type", ""), data)
            else:
                params[part.name] = data.decode("utf-8", "replace")
    else:
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params, files


def _loggable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k != "certificate"}


def _reply(payload: dict[str, Any], status: int) -> web.Response:
    return web.json_response(payload, status=status)
