"""Telegram's limits on what a bot sends, with Telegram's error texts. Pure."""

from __future__ import annotations

import json
import re
from typing import Any

from .telegram_html import HtmlError, parse_html, utf16_len

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_BUTTONS = 100
MAX_CALLBACK_ANSWER = 200
MAX_INLINE_RESULTS = 50
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")


class ApiError(Exception):
    """A Bot API error response: HTTP status = error_code, Telegram's description."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def formatted(
    text: Any, parse_mode: Any, entities: Any, limit: int, what: str
) -> tuple[str, list[dict[str, Any]]]:
    """Text and entities as Telegram would store them, or the error Telegram gives."""
    if not isinstance(text, str):
        raise bad(f"{what} must be a string")
    found: list[dict[str, Any]] = []
    mode = (parse_mode or "").lower() if isinstance(parse_mode, str) else ""
    if mode == "html":
        try:
            text, found = parse_html(text)
        except HtmlError as exc:
            raise bad(str(exc)) from None
    elif mode in ("markdown", "markdownv2"):
        pass  # not used by Khabar: accepted as plain text
    elif mode:
        raise bad(f"unsupported parse_mode {parse_mode}")
    elif isinstance(entities, list):
        found = [e for e in entities if isinstance(e, dict)]
    text, found = _strip(text, found)
    if not text:
        raise bad(f"{what} is empty")
    if utf16_len(text) > limit:
        raise bad("message is too long" if what == "message text" else f"{what} is too long")
    return text, found


def _strip(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram trims leading and trailing whitespace and moves the entities with it."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    out = []
    for e in entities:
        start = max(e["offset"] - lead, 0)
        end = min(e["offset"] + e["length"] - lead, total)
        if end > start:
            out.append({**e, "offset": start, "length": end - start})
    return stripped, out


def keyboard(markup: Any) -> dict[str, Any] | None:
    """Validate an inline keyboard (other markups pass through)."""
    if markup is None or markup == "":
        return None
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except ValueError:
            raise bad("can't parse reply keyboard markup JSON object") from None
    if not isinstance(markup, dict):
        raise bad("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    buttons = [b for row in rows for b in row]
    if len(buttons) > MAX_BUTTONS:
        raise bad("too many buttons")
    for button in buttons:
        _button(button)
    return markup


def _button(button: Any) -> None:
    if (
        not isinstance(button, dict)
        or not isinstance(button.get("text"), str)
        or not button["text"].strip()
    ):
        raise bad(
            "BUTTON_TEXT_INVALID"
            if isinstance(button, dict)
            else "can't parse inline keyboard button"
        )
    actions = [
        k
        for k in (
            "url",
            "callback_data",
            "switch_inline_query",
            "switch_inline_query_current_chat",
            "copy_text",
            "web_app",
            "login_url",
            "pay",
            "callback_game",
            "switch_inline_query_chosen_chat",
        )
        if k in button
    ]
    if len(actions) != 1:
        raise bad(
            "can't parse inline keyboard button: exactly one of the optional fields must be used"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
            raise bad("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not re.match(r"(https?|tg)://\S+\Z", url):
            raise bad("BUTTON_URL_INVALID")


def commands(value: Any) -> list[dict[str, str]]:
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, list) or len(value) > 100:
        raise bad("commands must be an array of at most 100 BotCommand")
    for item in value:
        if not isinstance(item, dict) or not _COMMAND.fullmatch(str(item.get("command", ""))):
            raise bad("BOT_COMMAND_INVALID")
        if not 1 <= len(str(item.get("description", ""))) <= 256:
            raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
    return [{"command": i["command"], "description": i["description"]} for i in value]
