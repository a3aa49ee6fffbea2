"""Waiting for something to become true, instead of sleeping for a guessed time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


def wait_until(condition: Callable[[], object], *, timeout: float = 30, what: str = "") -> None:
    """Return as soon as `condition()` is true; fail after `timeout` seconds, saying `what`."""
    deadline = time.monotonic() + timeout
    pause = 0.005
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what or condition}")
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


async def until(
    condition: Callable[[], object | Awaitable[object]], *, timeout: float = 30, what: str = ""
) -> None:
    """`wait_until` for the event loop; `condition` may be a coroutine function."""
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        value = condition()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what or condition}")
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.1)
