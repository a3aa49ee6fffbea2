"""getUpdates: long polling for the updates users' messages made."""

from __future__ import annotations

import copy
from typing import Any

from .limits import ApiError
from .methods import Params, Upload, int_param, method
from .world import World


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
    offset = int_param(params, "offset")
    limit = max(1, min(int_param(params, "limit", 100) or 100, 100))
    timeout = max(0, min(int_param(params, "timeout", 0) or 0, 50))
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
