"""Webhook mode that loses no question and answers none twice, as polling does (`poller.py`).

Telegram POSTs each update to the webhook and retries it until it gets a 2xx answer. Here the
update is journaled (`journal.py`) before the 200 goes back, and handled by the `Dispatcher`:
a process killed with questions in hand handles them after its restart, and an update
Telegram delivers twice is handled once. Calls without the secret token are refused (403).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging

from aiohttp import web
from telegram import Bot, Update

from .dispatch import Dispatcher

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1 << 20  # Telegram's updates are a few kB; a message is at most 4,096 characters


class WebhookServer:
    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        *,
        path: str,
        secret: str | None,
        listen: str,
        port: int,
    ) -> None:
        self.dispatcher = dispatcher
        self.bot = bot
        self.path = "/" + path.strip("/")
        self.secret = secret
        self.listen, self.port = listen, port
        self.refused = 0  # calls without the right secret token
        self.failures = 0  # setWebhook calls that failed (retried)
        self.webhook_set = False  # Telegram has been told where to send updates
        self.unreadable = 0  # updates that could not be read (logged, acknowledged, skipped)
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(self.path, self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.listen, self.port).start()
        log.info("webhook listening on %s:%d%s", self.listen, self.port, self.path)

    @property
    def healthy(self) -> bool:
        """Listening, and the webhook is set at Telegram."""
        return self._runner is not None and self.webhook_set

    async def stop(self) -> None:
        """Stop taking updates (Telegram keeps them until a replica acknowledges them)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if self.secret is not None and not hmac.compare_digest(given, self.secret):
            self.refused += 1
            return web.Response(status=403)
        try:
            data = json.loads(await request.read())
        except ValueError:
            return web.Response(status=400, text="not JSON")
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return web.Response(status=400, text="not an update")
        try:
            update = Update.de_json(data, self.bot)
        except Exception as exc:  # a field python-telegram-bot does not know: skip this one
            self.unreadable += 1
            kinds = ", ".join(str(k) for k in list(data)[:3] if k != "update_id") or "empty"
            log.warning(
                "update %d (%s) could not be read (%s): skipped",
                data["update_id"],
                kinds,
                type(exc).__name__,
            )
            await asyncio.to_thread(self.dispatcher.journal.skip, [data["update_id"]])
            return web.Response()
        await self.dispatcher.receive([update])  # journaled: now Telegram may forget it
        return web.Response()
