"""Fusing the dense and lexical rankings. Pure.

Each candidate keeps its cosine similarity (what the no-answer threshold reads) and gains a
lexical bonus: its BM25 score relative to the best BM25 score for this question, times a
weight. Unlike reciprocal-rank fusion, a weak ranking can only nudge, never drown, a strong
one: with a small weight, a passage the model finds clearly closer still wins, and among
passages the model finds about equally close, the one sharing the question's words wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def fuse(
    dense: Sequence[tuple[int, float]],
    lexical: Sequence[tuple[int, float]],
    cosine: Mapping[int, float],
    weight: float,
) -> list[tuple[int, float]]:
    """Candidates of both rankings as (passage id, cosine), best first by the fused score."""
    best = max((score for _, score in lexical), default=0.0)
    bonus = {pid: weight * score / best for pid, score in lexical} if best > 0 else {}
    candidates = dict.fromkeys([pid for pid, _ in dense] + [pid for pid, _ in lexical])
    fused = sorted(candidates, key=lambda pid: cosine[pid] + bonus.get(pid, 0.0), reverse=True)
    return [(pid, cosine[pid]) for pid in fused]
