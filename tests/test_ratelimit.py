"""The per-user answer limit: a sliding minute, one notice, and no memory of idle users."""

from __future__ import annotations

from bot.ratelimit import RateLimiter, Verdict


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
