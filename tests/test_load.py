"""The bot under load, through the local Bot API server: many chats at once get exactly one
correct reply each; one user flooding does not slow the others down. (bench/load/bench_load.py runs
the same checks at 200 chats and 5,000 questions against the `khabar bot` process.)"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from bot.testserver.client import ChatRef, User
from index.answer.retriever import Retriever
from index.settings import Settings
from tests.botharness import Harness, expected_text, running_bot
from tests.waiting import until

QUESTIONS = [
    "When was the Organization of Turkic States founded?",
    "Which ports does the new Caspian ferry connect?",
    "How long does the ferry crossing take?",
    "What did visitors taste at the bazaar in Turkestan?",
    "Когда была основана Организация тюркских государств?",
    "Who won the 1966 FIFA World Cup final?",
    "<b>html</b> & question?",
    "OTS",
]
CHATS, EACH = 40, 10


async def _chat(tg: Harness, number: int, expected: dict[str, str]) -> list[str]:
    """One chat asks its questions one after another; returns what went wrong."""
    user, chat = User(20_000 + number, f"L{number}", "en"), ChatRef(20_000 + number)
    wrong = []
    for i in range(EACH):
        question = QUESTIONS[(number + i) % len(QUESTIONS)]
        sent = await tg.client.say(chat, user, question)
        replies, _ = await tg.client.replies(chat.id, sent["seq"], wait=60)
        if not replies:
            calls = (await tg.client.calls())["calls"]
            mine = [c for c in calls if str((c.get("params") or {}).get("chat_id")) == str(chat.id)]
            wrong.append(f"chat {chat.id}: no reply to {question!r}; its calls: {mine[-3:]}")
        elif replies[0]["text"].strip() != expected[question]:
            wrong.append(f"chat {chat.id}: {question!r} got {replies[0]['text'][:80]!r}")
    return wrong


async def test_many_chats_at_once_get_one_correct_reply_each(
    seed_index: Settings, embedder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    # Each reply is checked against its question's answer asked alone, so follow-ups (which
    # lean on the chat's previous question: test_bot.py) are off here.
    settings = seed_index.with_overrides(
        data_dir=tmp_path, answers_per_minute=10_000, telegram_max_rate=10_000, followup_minutes=0
    )
    retriever = Retriever(settings, embedder)
    expected = {q: expected_text(retriever, q) for q in QUESTIONS}
    assert sum("found nothing" in text for text in expected.values()) >= 1
    async with running_bot(settings, retriever) as tg:
        problems = await asyncio.gather(*(_chat(tg, n, expected) for n in range(CHATS)))
        wrong = [p for chat in problems for p in chat]
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert wrong == [], (wrong, warnings[:20])
        await tg.app.bot_data["poller"].idle()  # all handled: a duplicate would be sent by now
        for n in range(CHATS):
            history = (await tg.client.history(20_000 + n))["messages"]
            assert sum(m["from_bot"] for m in history) == EACH
        assert tg.service.batches > 0  # questions that arrived together were encoded together


async def test_a_flood_from_one_user_leaves_the_others_unaffected(
    seed_index: Settings, embedder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    settings = seed_index.with_overrides(data_dir=tmp_path, answers_per_minute=20)
    flooder, victim = User(30_001, "Flood", "en"), User(30_002, "Calm", "en")
    async with running_bot(settings, Retriever(settings, embedder)) as tg:
        # Warm up, then the victim's latency without a flood: the yardstick for the same
        # questions during it (a ratio on this machine, not seconds fixed for every machine).
        sent = await tg.client.say(ChatRef(victim.id), victim, QUESTIONS[0])
        await tg.client.replies(victim.id, sent["seq"], wait=30)
        calm = [await _latency(tg, victim, question) for question in QUESTIONS[:4]]

        flooded: list[int] = []

        async def flood() -> None:
            for i in range(500):
                await tg.client.say(ChatRef(flooder.id), flooder, f"{QUESTIONS[i % 4]} {i}")
                flooded.append(i)

        flooding = asyncio.create_task(flood())
        await until(lambda: flooded, what="the flood to begin")
        latencies = [await _latency(tg, victim, question) for question in QUESTIONS[:4]]
        await flooding
        await tg.app.bot_data["poller"].idle()
        history = (await tg.client.history(flooder.id))["messages"]
        texts = [m["text"] for m in history if m["from_bot"]]
        notices = [t for t in texts if "wait a minute" in t]
        assert len(notices) == 1  # one friendly notice, then silence
        assert len(texts) == 20 + 1  # the allowance, answered, and the notice
        assert max(latencies) <= 10 * max(calm) + 1.0, (latencies, calm)


async def _latency(tg, user: User, question: str) -> float:  # type: ignore[no-untyped-def]
    """Seconds from the user's question to the bot's one reply."""
    began = time.perf_counter()
    sent = await tg.client.say(ChatRef(user.id), user, question)
    replies, _ = await tg.client.replies(user.id, sent["seq"], wait=30)
    assert len(replies) == 1
    return time.perf_counter() - began
