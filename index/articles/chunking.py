"""Splitting an article into passages along sentence and paragraph boundaries.

Pure: it takes the text and a function that gives each text's token spans (the model's own
tokenizer), and returns character spans into the text. Passages fill up to `target_tokens`,
prefer to end at a paragraph, and overlap their neighbour by up to `overlap_tokens` when they
break inside a paragraph. No passage exceeds `max_tokens`: an over-long sentence is cut at
token boundaries.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .sentences import sentence_spans

TokenSpans = Callable[[Sequence[str]], list[list[tuple[int, int]]]]
"""Maps texts to the character spans of their tokens (no special tokens)."""


@dataclass(frozen=True)
class Unit:
    start: int
    end: int
    tokens: int
    paragraph: int


@dataclass(frozen=True)
class PassageSpan:
    start: int
    end: int
    tokens: int


def paragraph_starts(text: str) -> list[int]:
    """Character offsets where paragraphs (blocks separated by blank lines) begin."""
    return [0] + [m.end() for m in re.finditer(r"\n\s*\n", text)]


def sentence_units(text: str, token_spans: TokenSpans, max_tokens: int) -> list[Unit]:
    """Sentences with their token counts; sentences longer than `max_tokens` are cut up."""
    spans = sentence_spans(text)
    if not spans:
        return []
    tokens = token_spans([text[s:e] for s, e in spans])
    starts = paragraph_starts(text)
    units: list[Unit] = []
    para = 0
    for (start, end), toks in zip(spans, tokens, strict=True):
        while para + 1 < len(starts) and starts[para + 1] <= start:
            para += 1
        if len(toks) <= max_tokens:
            units.append(Unit(start, end, max(len(toks), 1), para))
            continue
        for i in range(0, len(toks), max_tokens):
            piece = toks[i : i + max_tokens]
            piece_end = end if i + max_tokens >= len(toks) else start + toks[i + max_tokens][0]
            # The first piece starts where the sentence does: characters the tokenizer skips
            # (unknown symbols) before its first token belong to the text all the same.
            piece_start = start if i == 0 else start + piece[0][0]
            units.append(Unit(piece_start, _rstrip(text, start, piece_end), len(piece), para))
    return units


def chunk_text(
    text: str,
    token_spans: TokenSpans,
    target_tokens: int,
    max_tokens: int,
    overlap_tokens: int = 0,
) -> list[PassageSpan]:
    """Passages covering every sentence of `text`, in order."""
    target_tokens = min(target_tokens, max_tokens)
    units = sentence_units(text, token_spans, max_tokens)
    passages: list[PassageSpan] = []
    current: list[Unit] = []
    for unit in units:
        size = sum(u.tokens for u in current)
        new_paragraph = bool(current) and unit.paragraph != current[-1].paragraph
        full = size + unit.tokens > target_tokens
        early_break = new_paragraph and size >= 0.6 * target_tokens
        if current and (full or early_break):
            passages.append(_span(current))
            current = [] if new_paragraph else _overlap(current, overlap_tokens, unit, max_tokens)
        current.append(unit)
    if current:
        passages.append(_span(current))
    return passages


def _overlap(previous: list[Unit], overlap_tokens: int, nxt: Unit, max_tokens: int) -> list[Unit]:
    """The trailing sentences of `previous` that fit in the overlap budget and beside `nxt`."""
    kept: list[Unit] = []
    size = 0
    for unit in reversed(previous[1:]):
        if size + unit.tokens > overlap_tokens or size + unit.tokens + nxt.tokens > max_tokens:
            break
        kept.insert(0, unit)
        size += unit.tokens
    return kept


def _span(units: list[Unit]) -> PassageSpan:
    return PassageSpan(units[0].start, units[-1].end, sum(u.tokens for u in units))


def _rstrip(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end
