"""Training examples for the reader, from `spans.jsonl` (extractive QA with character offsets).

Each question gives a positive (a window of its context that holds the answer, the span as the
target) and, for some questions, negatives whose target is "no answer" (`<s>`): the context in
the same language that BM25 over Khabar's own stems ranks highest without holding the answer
(a hard one), and a random context of the same language or a random news paragraph. Questions
are held out by title, so no held-back context was seen in training.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..articles import lexical
from ..errors import KhabarError
from .pairs import QUESTION_PREFIX, Specials, make_pair, passage_budget, token_span

HELD_OUT = 20  # one title in 20 (5%) is held back for validation


@dataclass(frozen=True)
class Example:
    ids: list[int]
    start: int  # sequence positions of the answer's first and last token; 0, 0: no answer
    end: int
    first: int  # the passage's tokens: positions first..last-1
    last: int
    answers: tuple[str, ...]  # for validation: the answer texts ("" when none)
    passage: str
    offsets: list[tuple[int, int]]
    # What it was made from, for a training pack (`pack.py`): the question (with its prefix) and
    # the passage's first token in the window.
    question: str = ""
    window: int = 0
    kind: str = "spans"  # what made it (`cross.py`'s kinds), for the validation curve


@dataclass(frozen=True)
class Row:
    id: str
    lang: str
    title: str
    question: str
    context: str
    answers: tuple[tuple[str, int], ...]


def read_rows(path: Path) -> list[Row]:
    if not path.is_file():
        raise KhabarError(f"{path} is missing: the reader trains on spans.jsonl (../shared/train)")
    rows = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
                answers = tuple((str(a["text"]), int(a["start"])) for a in r["answers"])
                rows.append(
                    Row(
                        str(r["id"]),
                        str(r["lang"]),
                        str(r.get("title", "")),
                        r["question"],
                        r["context"],
                        answers,
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise KhabarError(f"{path} line {number} is not a QA example ({exc})") from None
    return rows


def held_out(row: Row) -> bool:
    return held_back(row.title)


def held_back(key: str) -> bool:
    """Whether what `key` names (a title, a document) is held back for validation: one in
    HELD_OUT, by a hash of it."""
    return int(hashlib.sha1(key.encode()).hexdigest(), 16) % HELD_OUT == 0


def holds(text: str, answers: Sequence[str]) -> bool:
    """Whether `text` holds any of `answers`, case aside: then it is no negative for them."""
    low = text.lower()
    return any(a.lower() in low for a in answers)


def news_paragraphs(folder: Path | None, limit: int = 3000) -> list[str]:
    """Paragraphs of a folder of plain-text articles (bbc-news), as random English negatives."""
    if folder is None:
        return []
    out: list[str] = []
    for path in sorted(folder.rglob("*.txt")):
        text = path.read_bytes().decode("utf-8", errors="replace")
        out += [p.strip() for p in text.split("\n\n")[1:] if len(p.split()) >= 25]
        if len(out) >= limit:
            break
    return out[:limit]


class Bm25:
    """BM25 over contexts, in Khabar's stems (`lexical.terms`), for the hard negatives."""

    def __init__(self, texts: Sequence[str], langs: Sequence[str]) -> None:
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.lengths = []
        for i, (text, lang) in enumerate(zip(texts, langs, strict=True)):
            stems = lexical.terms(text, lang)
            self.lengths.append(len(stems))
            for stem, count in Counter(stems).items():
                self.postings[stem].append((i, count))
        self.average = sum(self.lengths) / max(len(self.lengths), 1)

    def top(self, question: str, lang: str, k: int) -> list[int]:
        """The `k` best contexts, ties by index: the same under every PYTHONHASHSEED (the
        question's stems in their order, not a set's), so training rows are reproducible."""
        scores: dict[int, float] = defaultdict(float)
        n = len(self.lengths)
        for stem in dict.fromkeys(lexical.terms(question, lang)):
            posting = self.postings.get(stem, [])
            idf = math.log(1 + (n - len(posting) + 0.5) / (len(posting) + 0.5))
            for i, tf in posting:
                norm = tf + 1.2 * (0.25 + 0.75 * self.lengths[i] / self.average)
                scores[i] += idf * tf * 2.2 / norm
        return sorted(scores, key=lambda i: (-scores[i], i))[:k]


class Builder:
    """Turns rows into examples with one tokenizer (`index.tokens`), remembering contexts."""

    def __init__(self, tokenizer: Any, specials: Specials, max_length: int) -> None:
        self.tokenizer = tokenizer
        self.specials = specials
        self.max_length = max_length
        self._cache: dict[str, tuple[list[int], list[tuple[int, int]]]] = {}

    def tokens(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        if text not in self._cache:
            self._cache[text] = self.tokenizer.encode([text], for_model=False)[0]
        return self._cache[text]

    def example(
        self,
        question: str,
        context: str,
        answers: Sequence[tuple[str, int]],
        rng: random.Random,
        kind: str = "spans",
    ) -> Example | None:
        asked = QUESTION_PREFIX + question
        q_ids, _ = self.tokens(asked)
        p_ids, offsets = self.tokens(context)
        budget = passage_budget(len(q_ids), self.max_length)
        spare = max(len(p_ids) - budget, 0)
        target = None
        if answers:
            text, start = answers[0]
            span = token_span(offsets, start, start + len(text))
            if span is None:
                return None
            low, high = max(0, span[1] - budget + 1), min(span[0], spare)
            if low > high:
                return None  # an answer longer than the window
            window = rng.randint(low, high)
            target = (span[0] - window, span[1] - window)
        else:
            window = rng.randint(0, spare)
        pair = make_pair(q_ids, p_ids, offsets, self.specials, self.max_length, window)
        start, end = (0, 0) if target is None else (pair.first + target[0], pair.first + target[1])
        return Example(
            pair.ids,
            start,
            end,
            pair.first,
            pair.last,
            tuple(a for a, _ in answers) or ("",),
            context,
            pair.offsets,
            asked,
            window,
            kind,
        )


def build_examples(
    rows: Sequence[Row],
    builder: Builder,
    news: Sequence[str],
    seed: int,
    hard_share: float = 0.5,
    random_share: float = 0.25,
) -> Iterator[Example]:
    """Positives for every row and negatives for a share of them, in a seeded order."""
    rng = random.Random(seed)
    contexts = sorted({r.context for r in rows})
    lang_of = {r.context: r.lang for r in rows}
    by_lang: dict[str, list[str]] = defaultdict(list)
    for c in contexts:
        by_lang[lang_of[c]].append(c)
    bm25 = Bm25(contexts, [lang_of[c] for c in contexts])
    order = list(rows)
    rng.shuffle(order)
    for row in order:
        positive = builder.example(row.question, row.context, row.answers, rng)
        if positive is not None:
            yield positive
        answers = [a for a, _ in row.answers]
        if rng.random() < hard_share:
            for i in bm25.top(row.question, row.lang, 8):
                c = contexts[i]
                if lang_of[c] == row.lang and not holds(c, answers):
                    negative = builder.example(row.question, c, (), rng)
                    if negative is not None:
                        yield negative
                    break
        if rng.random() < random_share:
            pool = news if (row.lang == "en" and news and rng.random() < 0.5) else by_lang[row.lang]
            c = rng.choice(pool)
            if not holds(c, answers):
                negative = builder.example(row.question, c, (), rng)
                if negative is not None:
                    yield negative
