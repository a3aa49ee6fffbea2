"""Telegram's HTML parse mode: the tags and entities it accepts, turned into text + entities.

Pure. `parse_html` returns the plain text and the message entities (offsets and lengths in
UTF-16 code units, as Telegram sends them) or raises `HtmlError` with Telegram's wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[^<>]*?)?)\s*(/?)>")
_ATTR = re.compile(r"""([A-Za-z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_ENTITY = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]*);")


class HtmlError(ValueError):
    """Telegram's "Can't parse entities: ..." refusal."""


@dataclass
class _Open:
    name: str
    entity: dict[str, Any]
    start: int  # UTF-16 offset in the output
    children: list[str] = field(default_factory=list)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities of a Telegram-HTML message, or `HtmlError`."""
    out: list[str] = []
    length = 0
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    pos = 0
    while pos < len(source):
        ch = source[pos]
        if ch == "<":
            match = _TAG.match(source, pos)
            if not match:
                raise HtmlError(
                    "Can't parse entities: unsupported start tag at byte offset "
                    f"{_byte(source, pos)}"
                )
            closing, name, attrs, _ = match.groups()
            name = name.lower()
            if closing:
                _close(stack, name, source, pos, length, entities)
            else:
                stack.append(_open(name, attrs, stack, source, pos, length))
            pos = match.end()
            continue
        if ch == "&":
            match = _ENTITY.match(source, pos)
            if match:
                text = _decode_entity(match.group(1), source, pos)
                pos = match.end()
            else:
                text, pos = "&", pos + 1  # a lone ampersand is kept, as Telegram does
        else:
            end = pos
            while end < len(source) and source[end] not in "<&":
                end += 1
            text, pos = source[pos:end], end
        out.append(text)
        length += utf16_len(text)
    if stack:
        raise HtmlError(
            "Can't parse entities: can't find end tag corresponding to start tag "
            f'"{stack[-1].name}"'
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _byte(source: str, pos: int) -> int:
    return len(source[:pos].encode("utf-8"))


def _open(name: str, attrs: str, stack: list[_Open], source: str, pos: int, length: int) -> _Open:
    where = f"at byte offset {_byte(source, pos)}"
    values = {
        m.group(1).lower(): next((g for g in m.groups()[1:] if g is not None), "")
        for m in _ATTR.finditer(attrs or "")
    }
    if (
        stack
        and stack[-1].name in ("code", "pre")
        and not (stack[-1].name == "pre" and name == "code")
    ):
        raise HtmlError(f'Can\'t parse entities: unsupported start tag "{name}" {where}')
    entity: dict[str, Any]
    if name in _SIMPLE:
        entity = {"type": _SIMPLE[name]}
        if name == "code" and stack and stack[-1].name == "pre":
            language = values.get("class", "")
            if language.startswith("language-") and len(language) > 9:
                stack[-1].entity["language"] = language[9:]
            entity = {"type": "_code_in_pre"}
    elif name == "span":
        if values.get("class") != "tg-spoiler":
            raise HtmlError(f'Can\'t parse entities: unsupported start tag "span" {where}')
        entity = {"type": "spoiler"}
    elif name == "a":
        href = values.get("href", "")
        user = re.fullmatch(r"tg://user\?id=(\d+)", href)
        if user:
            entity = {
                "type": "text_mention",
                "user": {"id": int(user.group(1)), "is_bot": False, "first_name": "User"},
            }
        elif href:
            entity = {"type": "text_link", "url": _unescape(href)}
        else:
            entity = {"type": "_plain"}  # <a> without href is kept as plain text
    elif name == "blockquote":
        if any(o.name == "blockquote" for o in stack):
            raise HtmlError(f'Can\'t parse entities: unsupported start tag "blockquote" {where}')
        entity = {"type": "expandable_blockquote" if "expandable" in values else "blockquote"}
    elif name == "tg-emoji":
        if not values.get("emoji-id", "").isdigit():
            raise HtmlError(f"Can't parse entities: custom emoji identifier is invalid {where}")
        entity = {"type": "custom_emoji", "custom_emoji_id": values["emoji-id"]}
    elif name == "tg-time":
        entity = {"type": "date_time", "unix_time": int(values.get("unix", "0") or 0)}
    else:
        raise HtmlError(f'Can\'t parse entities: unsupported start tag "{name}" {where}')
    return _Open(name, entity, length)


def _close(
    stack: list[_Open],
    name: str,
    source: str,
    pos: int,
    length: int,
    entities: list[dict[str, Any]],
) -> None:
    where = f"at byte offset {_byte(source, pos)}"
    if not stack:
        raise HtmlError(f"Can't parse entities: unexpected end tag {where}")
    top = stack[-1]
    if top.name != name:
        raise HtmlError(
            f'Can\'t parse entities: unmatched end tag {where}, expected "</{top.name}>", '
            f'found "</{name}>"'
        )
    stack.pop()
    entity = top.entity
    if entity["type"].startswith("_") or length == top.start:
        return
    entities.append({**entity, "offset": top.start, "length": length - top.start})


def _decode_entity(body: str, source: str, pos: int) -> str:
    if body.startswith("#"):
        code = int(body[2:], 16) if body[1:2] in ("x", "X") else int(body[1:])
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise HtmlError(
                f"Can't parse entities: invalid character code at byte offset {_byte(source, pos)}"
            )
        return chr(code)
    if body in _NAMED:
        return _NAMED[body]
    raise HtmlError(
        f'Can\'t parse entities: unsupported HTML entity "&{body};" '
        f"at byte offset {_byte(source, pos)}"
    )


def _unescape(value: str) -> str:
    return _ENTITY.sub(lambda m: _NAMED.get(m.group(1), m.group(0)), value)
