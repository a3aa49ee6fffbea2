"""The bot's own settings: getMe, webhooks, commands, getChat."""

from __future__ import annotations

import json
from typing import Any

from . import limits
from .limits import bad
from .methods import Params, Upload, chat_of, method
from .world import World


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
async def getchat_of(world: World, params: Params, files: dict[str, Upload]) -> Any:
    chat = chat_of(world, params, for_sending=False)
    return {**chat.as_json(), "accent_color_id": 0, "max_reaction_count": 11}
