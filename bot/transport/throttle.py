"""Answers per user per minute: a sliding window, with one friendly notice when exceeded."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from enum import Enum


class Verdict(Enum):
    ALLOW = "allow"
    NOTIFY = "notify"  # over the limit: tell the user once
    DROP = "drop"  # over the limit and already told


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._seen: dict[int, deque[float]] = {}
        self._notified: dict[int, float] = {}
        self._swept = clock()

    def check(self, user_id: int) -> Verdict:
        now = self._clock()
        if now - self._swept >= 60:  # at most once a minute: memory stays flat, checks stay O(1)
            self._swept = now
            self.forget_idle()
        window = self._seen.setdefault(user_id, deque())
        while window and now - window[0] >= 60:
            window.popleft()
        if len(window) < self.per_minute:
            window.append(now)
            self._notified.pop(user_id, None)
            return Verdict.ALLOW
        if user_id in self._notified and now - self._notified[user_id] < 60:
            return Verdict.DROP
        self._notified[user_id] = now
        return Verdict.NOTIFY

    def __len__(self) -> int:
        """How many users the limiter remembers."""
        return len(self._seen)

    def forget_idle(self) -> None:
        """Drop users with no recent questions, so memory stays flat."""
        now = self._clock()
        for user_id in [u for u, w in self._seen.items() if not w or now - w[-1] >= 60]:
            self._seen.pop(user_id, None)
            self._notified.pop(user_id, None)
