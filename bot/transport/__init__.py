"""Telegram traffic. In: every update journaled before it is confirmed, by long polling or
webhook, dispatched as its own task, with /healthz and /metrics. Out: calls within Telegram's
flood limits, repeated when Telegram asks (`outbound.py`), and each reader's answers per minute
(`throttle.py`). It never decides what to answer.
"""
