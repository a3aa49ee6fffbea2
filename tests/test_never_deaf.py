"""Never alive but deaf: whatever Telegram sends, the next question is answered.

Telegram may one day send a field python-telegram-bot does not know, or leave one out. Here the
local Bot API server hands the real bot arbitrary JSON as updates (missing, unknown and wrongly
typed fields, huge values), and after each batch a normal question must get its answer.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.testserver.client import ChatRef, User
from bot.transport.journal import UpdateJournal
from index.answer.retriever import Retriever
from index.settings import Settings
from tests.botharness import Harness, running_bot
from tests.waiting import until

QUESTION = "When was the Organization of Turkic States founded?"
PROBES = itertools.count(1)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["x" * 5000, "", "\x00", "😀" * 100]),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
ids = st.one_of(st.integers(-(10**12), 10**12), json_values)
chats = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"id": ids, "type": st.sampled_from(["private", "group", "supergroup", "channel", "?"])},
        optional={"title": json_values, "unknown": json_values},
    ),
)
users = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"id": ids, "is_bot": json_values, "first_name": json_values},
        optional={"language_code": json_values, "unknown": json_values},
    ),
)
messages = st.fixed_dictionaries(
    {"message_id": ids, "date": ids, "chat": chats},
    optional={
        "from": users,
        "text": json_values,
        "entities": json_values,
        "sticker": json_values,
        "document": json_values,
        "reply_to_message": json_values,
        "a_field_from_the_future": json_values,
    },
)
updates = st.one_of(
    st.dictionaries(
        st.sampled_from(["message", "callback_query", "inline_query"]),
        messages | json_values,
        max_size=2,
    ),
    st.dictionaries(st.text(max_size=12), json_values, max_size=3),
)


@pytest.fixture
async def bot(seed_index: Settings, embedder, tmp_path: Path) -> AsyncIterator[Harness]:  # type: ignore[no-untyped-def]
    settings = seed_index.with_overrides(data_dir=tmp_path / "data")
    async with running_bot(settings, Retriever(settings, embedder)) as harness:
        yield harness


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(batch=st.lists(updates, min_size=1, max_size=4))
async def test_any_update_leaves_the_bot_answering(
    bot: Harness, batch: list[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    for payload in batch:
        await bot.client.raw_update(payload)
    probe = -(10**13) - next(PROBES)  # a chat id no generated update uses
    with caplog.at_level(logging.WARNING):
        replies = await bot.ask(ChatRef(probe, "private"), User(probe, "Probe", "en"), QUESTION)
    assert len(replies) == 1 and "Founded in 2009" in replies[0]["text"], replies
    poller = bot.app.bot_data["poller"]
    assert poller.healthy and poller.state == "connected"
    assert "x" * 200 not in caplog.text  # what an update held is not logged


async def test_an_unreadable_update_is_logged_skipped_and_marked_done(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    # The one that stopped polling for good: a sticker without the fields python-telegram-bot
    # requires (seen as "TypeError: Sticker.__init__() missing 6 required positional arguments").
    sticker = {
        "message_id": 5,
        "date": 0,
        "chat": {"id": 4242, "type": "private"},
        "from": {"id": 4242, "is_bot": False, "first_name": "S"},
        "sticker": {"file_id": "x"},
    }
    with caplog.at_level(logging.WARNING):
        update_id = await bot.client.raw_update({"message": sticker})
        replies = await bot.ask(ChatRef(4243, "private"), User(4243, "Q", "en"), QUESTION)
    assert "Founded in 2009" in replies[0]["text"]
    assert f"update {update_id} (message) could not be read (TypeError): skipped" in caplog.text
    assert bot.app.bot_data["poller"].unreadable == 1
    journal = UpdateJournal(bot.settings.data_dir / "bot.sqlite", bot.app.bot.id)
    try:
        # Marked done (the question, once its handler returns, a moment after its reply is
        # sent; the sticker at once): a restart tries neither again.
        await until(lambda: journal.unfinished() == [], timeout=10, what="all marked done")
        assert journal.record([]) == []
    finally:
        journal.close()


async def test_polling_that_fails_ends_the_wait_so_the_process_exits(bot: Harness) -> None:
    """Anything that stops polling (here the journal's disk failing) must not leave the bot
    up but deaf: the poller ends with the error, and `until_stopped` (what `khabar bot` waits
    in) raises it, so the process exits non-zero and its supervisor restarts it."""
    from bot.serve import until_stopped

    poller = bot.app.bot_data["poller"]

    def broken(updates: object) -> list[object]:
        raise OSError(28, "No space left on device")

    poller.dispatcher.journal.record = broken  # type: ignore[method-assign]
    await bot.client.say(ChatRef(4300, "private"), User(4300, "D", "en"), QUESTION)
    with pytest.raises(OSError, match="No space left"):
        await asyncio.wait_for(until_stopped(poller), timeout=30)
