"""Follow-up questions: what the bot remembers of a conversation (in memory, per chat and user,
for minutes), and how a follow-up is answered, through the real index and the real bot."""

from __future__ import annotations

import logging

import pytest

from bot.messages.i18n import sentence
from bot.stores.conversations import Conversations
from index.answer import Answer, Hit
from index.model.quiet import third_party_quiet
from khabar.report import format_answer


def _hit(article: str = "trend/ots.md", excerpt: str = "Founded in 2009.") -> Hit:
    return Hit(
        rank=1, score=0.9, article_id=article, title="OTS", date=None, source=None, url=None,
        lang="en", passage=excerpt, passage_start=0, passage_end=len(excerpt), excerpt=excerpt,
        excerpt_start=0, excerpt_end=len(excerpt), answer_start=0, answer_end=len(excerpt),
        sentence_score=0.9,
    )  # fmt: skip


def _found(article: str = "trend/ots.md") -> Answer:
    hit = _hit(article)
    return Answer("q", [hit], True, [hit])


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_last_question_is_kept_per_chat_and_user_for_minutes_only() -> None:
    clock = Clock()
    memory = Conversations(minutes=10, clock=clock)
    memory.remember(-100, 1, "When was the OTS founded?", _found())
    context = memory.context(-100, 1)
    assert context is not None and context.article_id == "trend/ots.md"
    assert context.question == "When was the OTS founded?"
    assert memory.context(-100, 2) is None  # another reader in the same group
    assert memory.context(1, 1) is None  # the same reader in another chat
    clock.now += 10 * 60 - 1
    assert memory.context(-100, 1) is not None
    clock.now += 2
    assert memory.context(-100, 1) is None  # more than ten minutes ago


def test_only_the_last_question_counts_and_a_declined_one_has_no_article() -> None:
    memory = Conversations(minutes=10)
    memory.remember(5, 5, "first", _found("a.md"))
    memory.remember(5, 5, "second", Answer("second", [], False, []))
    context = memory.context(5, 5)
    assert context is not None and context.question == "second" and context.article_id is None


def test_new_forgets_and_zero_minutes_keeps_nothing() -> None:
    memory = Conversations(minutes=10)
    memory.remember(5, 5, "q", _found())
    assert memory.forget(5, 5) is True
    assert memory.context(5, 5) is None and memory.forget(5, 5) is False
    off = Conversations(minutes=0)
    off.remember(5, 5, "q", _found())
    assert off.context(5, 5) is None


def test_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.stores.conversations as module

    monkeypatch.setattr(module, "MAX_KEPT", 3)
    memory = Conversations(minutes=10)
    for user in range(5):
        memory.remember(1, user, f"q{user}", _found())
    assert memory.context(1, 0) is None and memory.context(1, 1) is None
    assert all(memory.context(1, user) is not None for user in (2, 3, 4))


def test_an_error_reason_ends_the_sentence_once() -> None:
    assert sentence("the file is binary, not text") == "the file is binary, not text."
    assert sentence("fix it, then try again.") == "fix it, then try again."
    assert sentence("Really?") == "Really?" and sentence("") == ""


def test_ask_shows_an_interview_quote_without_nested_quotes_or_double_spaces() -> None:
    text = '"Founded in 2009 on the ancient land of Nakhchivan.\n\nJoint initiatives cover a lot."'
    hit = _hit(excerpt=text)
    shown = format_answer(Answer("q", [hit], True, [hit]))
    assert '“"' not in shown and '"”' not in shown
    assert "Nakhchivan. Joint" in shown and "  Joint" not in shown
    assert shown.startswith('1. │ "Founded in 2009')


def test_third_party_chatter_goes_to_debug_and_ours_stays(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    with third_party_quiet():
        logging.warning("Please consider to run pre-processing before quantization.")
        logging.getLogger("index.model.onnx_export").warning("exporting, once")
        logging.error("a real failure of the quantiser")
    messages = [r.getMessage() for r in caplog.records]
    assert "exporting, once" in messages and "a real failure of the quantiser" in messages
    assert not any("pre-processing" in m for m in messages)
    logging.warning("after the export, the root logger is heard again")
    assert caplog.records[-1].getMessage().startswith("after the export")
