"""A client of the test server's control API: used by the terminal chat and by the tests."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class User:
    id: int
    first_name: str = "Reader"
    language_code: str = "en"
    username: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "first_name": self.first_name,
            "language_code": self.language_code,
        }
        if self.username:
            out["username"] = self.username
        return out


@dataclass(frozen=True)
class ChatRef:
    id: int
    type: str = "private"
    title: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.title:
            out["title"] = self.title
        return out


class ControlClient:
    """`await client.say(chat, user, "question")` then `await client.replies(chat, seq)`."""

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=timeout)

    async def close(self) -> None:
        await self.http.aclose()

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(path, json=body)
        data: dict[str, Any] = response.json()
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {data.get('error', response.text)}")
        return data

    async def say(
        self, chat: ChatRef, user: User, text: str, reply_to: int | None = None
    ) -> dict[str, Any]:
        """The user sends `text`; the answer holds the message and `seq` to wait from."""
        body: dict[str, Any] = {"chat": chat.as_json(), "from": user.as_json(), "text": text}
        if reply_to is not None:
            body["reply_to_message_id"] = reply_to
        return await self._post("/_test/messages", body)

    async def raw_update(self, payload: dict[str, Any]) -> int:
        """Queue `payload` as an update, whatever it holds; returns its update_id."""
        sent = await self._post("/_test/updates", {"update": payload})
        return int(sent["update_id"])

    async def send_document(
        self, chat: ChatRef, user: User, file_name: str, data: bytes, caption: str | None = None
    ) -> dict[str, Any]:
        body = {
            "chat": chat.as_json(),
            "from": user.as_json(),
            "file_name": file_name,
            "content_base64": base64.b64encode(data).decode("ascii"),
        }
        if caption:
            body["caption"] = caption
        return await self._post("/_test/documents", body)

    async def press(
        self,
        chat_id: int,
        message_id: int,
        user: User,
        text: str | None = None,
        data: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "chat_id": chat_id,
            "message_id": message_id,
            "from": user.as_json(),
        }
        if data is not None:
            body["data"] = data
        else:
            body["text"] = text
        return await self._post("/_test/callbacks", body)

    async def callback_answer(self, query_id: str, wait: float = 10) -> dict[str, Any] | None:
        response = await self.http.get(
            f"/_test/callbacks/{query_id}", params={"wait": wait}, timeout=wait + 30
        )
        answer: dict[str, Any] | None = response.json().get("answer")
        return answer

    async def inline(self, user: User, query: str, wait: float = 15) -> list[dict[str, Any]] | None:
        started = await self._post("/_test/inline", {"from": user.as_json(), "query": query})
        response = await self.http.get(
            f"/_test/inline/{started['inline_query_id']}", params={"wait": wait}, timeout=wait + 30
        )
        results: list[dict[str, Any]] | None = response.json().get("results")
        return results

    async def history(
        self, chat_id: int, since: int | None = None, wait: float = 0
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"wait": wait}
        if since is not None:
            params["since"] = since
        # The server answers after at most `wait` seconds: the client waits longer, so that a
        # missing reply reads as "no reply" rather than as a client time-out.
        response = await self.http.get(
            f"/_test/chats/{chat_id}/messages", params=params, timeout=wait + 30
        )
        data: dict[str, Any] = response.json()
        return data

    async def replies(
        self, chat_id: int, since: int, wait: float = 30
    ) -> tuple[list[dict[str, Any]], int]:
        """The bot's messages (new or edited) in the chat after event `since`, waiting for one;
        and the event number to continue from."""
        data = await self.history(chat_id, since=since, wait=wait)
        ids = list(dict.fromkeys(e["message_id"] for e in data["events"] if e["kind"] != "delete"))
        by_id = {m["message_id"]: m for m in data["messages"]}
        return [by_id[i] for i in ids if i in by_id], int(data["seq"])

    async def calls(self, method: str | None = None) -> dict[str, Any]:
        response = await self.http.get(
            "/_test/calls", params={"method": method} if method else None
        )
        data: dict[str, Any] = response.json()
        return data

    async def fault(self, kind: str, method: str = "*", **options: Any) -> None:
        await self._post("/_test/faults", {"kind": kind, "method": method, **options})
