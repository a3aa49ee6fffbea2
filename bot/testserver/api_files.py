"""Files: documents sent by the bot, and getFile for documents users sent."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from . import limits
from .limits import bad
from .methods import Params, Upload, chat_of, method, reply_to
from .world import World


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
    chat = chat_of(world, params)
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
        reply_to_message=reply_to(chat, params),
    )
    world.record_bot_event("message", chat.id, message["message_id"])
    await world.notify()
    return copy.deepcopy(message)
