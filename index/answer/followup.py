"""Follow-up questions: "Where was it founded?" after "When was the OTS founded?".

The bot keeps a conversation's previous question (`Context`: its text, and the article its
answer showed first) per chat and user for a few minutes. A question asked with one is answered
twice: on its own, exactly as any question; and searched with the previous question's words
before its own ("When was the OTS founded? Where was it founded?"), read on its own words, and
decided by the same rule on the mean of the carried search's cosine and its own, unless the
reader is sure of its answer alone (`decision.sure`); `Retriever.answer_many` does both for the
bot's whole batch at once. The carried answer wins when the question alone finds nothing, or
when the reader trusts its passage more (the same question read in both, so the scores
compare); otherwise, and for every question asked without a context, the answer is the one it
gets alone. A follow-up answered through its context says so (`Answer.continued_from`).
`bench/quality/followups.py` measured this against the alternatives (docs/quality.md,
"Follow-up questions").
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .decision import across_languages
from .hits import Answer

# A carried answer to a question that found nothing alone is shown only if, in the question's
# own language, the reader scores its passage at least this (span minus no-answer logits): the
# previous words may lead to a passage the question itself does not ask about ("OTS" after a
# question on the ferry). Across languages the reader's scores say little (docs/reader.md), so
# there the rule's cosine decides. -6 lost no follow-up on the bench (docs/quality.md).
CARRIED_READER_FLOOR = -6.0


@dataclass(frozen=True)
class Context:
    """What the conversation's previous question was about."""

    question: str
    article_id: str | None = None  # the article its answer showed first; None: found nothing
    title: str | None = None

    @classmethod
    def after(cls, question: str, answer: Answer) -> Context:
        """What a conversation keeps of `question`: its text, and the article its answer
        showed first (none when it found nothing)."""
        shown = answer.shown[0] if answer.found else None
        return cls(question, shown.article_id if shown else None, shown.title if shown else None)

    def carried(self, question: str) -> str:
        """The text a follow-up is searched with: the previous question's words first."""
        return f"{self.question} {question}"

    def named(self) -> str:
        """What a reply names as followed on from: the article, else the question."""
        return self.title or self.question


def follow(alone: Answer, carried: Answer, context: Context) -> Answer:
    """The answer to a question asked in `context`: `carried` (searched with the context) when
    it found something and `alone` found nothing (and, in one language, the reader does not
    rule its passage out: `CARRIED_READER_FLOOR`), or the reader trusts `carried`'s passage
    more; else `alone`. Without reader scores, only a question that found nothing alone is
    carried."""
    if not carried.found:
        return alone
    theirs = carried.shown[0].reader_score
    if alone.found:
        mine = alone.shown[0].reader_score
        if mine is None or theirs is None or theirs <= mine:
            return alone
    elif (
        theirs is not None
        and theirs < CARRIED_READER_FLOOR
        and not across_languages(alone.question, carried.shown[0])
    ):
        return alone
    return dataclasses.replace(carried, question=alone.question, continued_from=context.named())
