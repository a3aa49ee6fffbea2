"""The bot's answer service: questions arriving together are encoded in one batch, with the
same answers as one at a time; one failing question does not fail the others."""

from __future__ import annotations

import asyncio

from bot.service import AnswerService
from index.answer.followup import Context
from index.answer.retriever import Retriever
from index.model.embedder import Embedder
from index.settings import Settings

QUESTIONS = [
    "When was the Organization of Turkic States founded?",
    "How long does the ferry from Baku to Aktau take?",
    "Who won the 1966 FIFA World Cup final?",
    "What fruit was shown at the Turkestan harvest festival?",
    "",
    "Where was the 12th Summit of the OTS held?",
] * 3


async def test_concurrent_questions_are_batched_with_the_same_answers(
    seed_index: Settings, embedder: Embedder
) -> None:
    retriever = Retriever(seed_index, embedder)
    alone = [retriever.answer(q) for q in QUESTIONS]
    service = AnswerService(seed_index, retriever)
    try:
        together = await asyncio.gather(*(service.answer(q) for q in QUESTIONS))
    finally:
        service.close()
    assert service.batches < len(QUESTIONS)  # arrivals while the model was busy went together
    for one, timed in zip(alone, together, strict=True):
        other = timed.answer
        assert other.found == one.found
        assert [h.article_id for h in other.hits] == [h.article_id for h in one.hits]
        assert [h.excerpt for h in other.shown] == [h.excerpt for h in one.shown]
        for a, b in zip(one.hits, other.hits, strict=True):
            assert abs(a.score - b.score) < 1e-4
    assert service.answered == len(QUESTIONS)


async def test_a_failing_question_fails_alone(seed_index: Settings, embedder: Embedder) -> None:
    class Fragile(Retriever):
        def answer(self, question: str, k: int | None = None, context=None):  # type: ignore[no-untyped-def]
            if "explode" in question:
                raise RuntimeError("boom")
            return super().answer(question, k, context)

        def answer_many(self, questions, ks=None, contexts=None):  # type: ignore[no-untyped-def]
            if any("explode" in q for q in questions):
                raise RuntimeError("boom")
            return super().answer_many(questions, ks, contexts)

    service = AnswerService(seed_index, Fragile(seed_index, embedder))
    try:
        asked = ["When was the OTS founded?", "please explode", "Ferry to Aktau?"] * 2
        results = await asyncio.gather(*(service.answer(q) for q in asked), return_exceptions=True)
    finally:
        service.close()
    failed = [q for q, r in zip(asked, results, strict=True) if isinstance(r, Exception)]
    assert failed == ["please explode", "please explode"]
    assert all(r.answer.hits for r in results if not isinstance(r, BaseException))


async def test_follow_ups_in_a_batch_and_one_failing_in_its_conversation(
    seed_index: Settings, embedder: Embedder
) -> None:
    """Follow-ups wait in the batch like any question, with the answers they get one by one;
    one whose conversation step fails gets its answer alone, and the others theirs."""

    class Fragile(Retriever):
        def answer_many(self, questions, ks=None, contexts=None):  # type: ignore[no-untyped-def]
            if any(c is not None and "explode" in c.question for c in contexts or []):
                raise RuntimeError("boom")
            return super().answer_many(questions, ks, contexts)

    retriever = Fragile(seed_index, embedder)
    asked = [
        ("When was the OTS founded?", Context("please explode")),
        ("Where was it founded?", Context("When was the Organization of Turkic States founded?")),
        ("How long does the ferry from Baku to Aktau take?", None),
    ] * 2
    expected = [
        retriever.answer(q, context=c if c and "explode" not in c.question else None)
        for q, c in asked
    ]
    service = AnswerService(seed_index, retriever)
    try:
        got = await asyncio.gather(*(service.answer(q, context=c) for q, c in asked))
    finally:
        service.close()
    assert service.batches < len(asked) + 2  # they went together before the failure split them
    for want, timed in zip(expected, got, strict=True):
        assert timed.answer.found == want.found
        assert [h.excerpt for h in timed.answer.shown] == [h.excerpt for h in want.shown]
        assert timed.answer.continued_from == want.continued_from
    assert any(timed.answer.continued_from for timed in got)  # a follow-up was carried
