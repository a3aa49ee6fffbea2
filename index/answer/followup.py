"""Follow-up questions: "Where was it founded?" after "When was the OTS founded?".

The bot keeps a conversation's previous question (`Context`: its text, and the article its
answer showed first) per chat and user for a few minutes. A question asked with one is answered
twice: on its own, exactly as any question, and searched with the previous question's words
before its own ("When was the OTS founded? Where was it founded?"), then read and decided on its
own words by the same reader and rule. The carried answer wins when the question alone finds
nothing, or when the reader trusts its passage more (the same question read in both, so the
scores compare); otherwise, and for every question asked without a context, the answer is the
one it gets alone. A follow-up answered through its context says so (`Answer.continued_from`).
`bench/quality/followups.py` measured this against the alternatives (docs/quality.md,
"Follow-up questions").
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .hits import Answer


@dataclass(frozen=True)
class Context:
    """What the conversation's previous question was about."""

    question: str
    article_id: str | None = None  # the article its answer showed first; None: found nothing
    title: str | None = None

    def carried(self, question: str) -> str:
        """The text a follow-up is searched with: the previous question's words first."""
        return f"{self.question} {question}"

    def named(self) -> str:
        """What a reply names as followed on from: the article, else the question."""
        return self.title or self.question


def follow(alone: Answer, carried: Answer, context: Context) -> Answer:
    """The answer to a question asked in `context`: `carried` (searched with the context) when
    it found something and `alone` found nothing, or the reader trusts `carried`'s passage more;
    else `alone`. Without reader scores, only a question that found nothing alone is carried."""
    if not carried.found:
        return alone
    if alone.found:
        mine, theirs = alone.shown[0].reader_score, carried.shown[0].reader_score
        if mine is None or theirs is None or theirs <= mine:
            return alone
    return dataclasses.replace(carried, question=alone.question, continued_from=context.named())
