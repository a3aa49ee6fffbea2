"""SQuAD's token F1 between a predicted answer and the reference answers (pure)."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.IGNORECASE)
_PUNCTUATION = set(string.punctuation) | set("«»“”„‘’—–…")


def squad_tokens(text: str) -> list[str]:
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return _ARTICLES.sub(" ", text).split()


def token_f1(prediction: str, answers: Iterable[str]) -> float:
    """The best F1 of `prediction`'s tokens against any answer's (SQuAD v1.1's metric)."""
    predicted = squad_tokens(prediction)
    best = 0.0
    for answer in answers:
        truth = squad_tokens(answer)
        if not predicted or not truth:
            best = max(best, float(predicted == truth))
            continue
        same = sum((Counter(predicted) & Counter(truth)).values())
        if same:
            precision, recall = same / len(predicted), same / len(truth)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best
