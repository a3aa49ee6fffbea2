"""Follow-up questions: "Where was it founded?" after "When was the OTS founded?".

A conversation's question before this one (`Context`: its text and the article its answer
showed first) is kept by the bot, per chat and user, for a few minutes. The follow-up is first
answered on its own, exactly as any question; only when that finds nothing is it answered
within the earlier answer's article, by the same reader and decision as every answer. So a
question that stands on its own, or starts a new subject, gets the answer it would get alone,
and a follow-up that needs the earlier article says so (`Answer.continued_from`).
`bench/quality/followups.py` measured the choice (docs/quality.md, "Follow-up questions").
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .hits import Answer


@dataclass(frozen=True)
class Context:
    """What the conversation's previous question was about."""

    question: str
    article_id: str | None  # the article its answer showed first; None when it found nothing
    title: str | None = None


def follow(alone: Answer, within: Answer) -> Answer:
    """A follow-up that found nothing alone (`alone`) answered within the previous answer's
    article (`within`): that answer, marked as continued, when it found one."""
    if not within.found:
        return alone
    return dataclasses.replace(within, question=alone.question, continued_from=within.shown[0])
