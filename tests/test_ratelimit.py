"""The per-user answer limit: a sliding minute, one notice, and no memory of idle users."""

from __future__ import annotations

from bot.transport.throttle import RateLimiter, Verdict


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_minute_window_with_one_notice() -> None:
    clock = Clock()
    limiter = RateLimiter(2, clock)
    assert [limiter.check(7) for _ in range(4)] == [
        Verdict.ALLOW,
        Verdict.ALLOW,
        Verdict.NOTIFY,
        Verdict.DROP,
    ]
    assert limiter.check(8) is Verdict.ALLOW  # another user has a window of their own
    clock.now += 60
    assert limiter.check(7) is Verdict.ALLOW


def test_idle_users_are_forgotten_as_questions_go_on() -> None:
    clock = Clock()
    limiter = RateLimiter(5, clock)
    for user in range(1000):
        limiter.check(user)
    assert len(limiter) == 1000
    clock.now += 61
    limiter.check(5000)  # the next question, a minute later, sweeps the idle windows
    assert len(limiter) == 1
    for second in range(300):  # a steady trickle of new users never piles up
        clock.now += 1
        limiter.check(10_000 + second)
    assert len(limiter) <= 121


async def test_a_call_that_waited_for_a_connection_is_sent_once_later() -> None:
    """In a flood every connection to Telegram can be busy: python-telegram-bot then gives up
    before sending ("Pool timeout … Request was *not* sent"), and that reply was lost. The
    limiter repeats such a call; a call that timed out after it was sent is not repeated (the
    reader would get it twice). A real HTTP server that answers slowly, the real request
    class with a pool of one connection."""
    import asyncio
    import json

    import pytest
    from telegram.error import TimedOut
    from telegram.ext import ExtBot
    from telegram.request import HTTPXRequest

    from bot.transport.outbound import RetryingRateLimiter

    calls: dict[str, int] = {}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if not head:
                return
            lines = head.decode().split("\r\n")
            method = lines[0].split()[1].rsplit("/", 1)[1]
            length = next(
                (int(x.split(":")[1]) for x in lines if x.lower().startswith("content-length")), 0
            )
            await reader.readexactly(length)
            calls[method] = calls.get(method, 0) + 1
            if method == "getMe":
                result: object = {"id": 1, "is_bot": True, "first_name": "K", "username": "k"}
            else:
                await asyncio.sleep(0.6)
                result = True
            body = json.dumps({"ok": True, "result": result}).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            await writer.drain()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    request = HTTPXRequest(connection_pool_size=1, pool_timeout=0.2, read_timeout=5.0)
    bot = ExtBot(
        "1:test",
        base_url=f"http://127.0.0.1:{port}/bot",
        request=request,
        get_updates_request=HTTPXRequest(),
        rate_limiter=RetryingRateLimiter(backoff=0.3),
    )
    async with server, bot:
        # Three at once through one connection: two wait past the pool timeout, are repeated,
        # and every call reaches the server exactly once.
        results = await asyncio.gather(*(bot.do_api_request("slowCall") for _ in range(3)))
        assert results == [True, True, True] and calls["slowCall"] == 3
        # A timeout after sending is not repeated.
        with pytest.raises(TimedOut):
            await bot.do_api_request("slowCall", read_timeout=0.1)
        assert calls["slowCall"] == 4
