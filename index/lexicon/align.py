"""IBM Model 1 over stemmed sentence pairs, both directions, and the pairs both agree on. Pure.

Model 1 (Brown et al., 1993) learns p(target word | source word) from sentence pairs alone, by
expectation maximisation: every target word is explained by some source word of its sentence
(or by none, NULL), in proportion to how well each explains it so far. Trained both ways, a pair
keeps the geometric mean of its two probabilities, so a word that co-occurs with everything
(or is explained by NULL) scores low in one direction and is dropped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

NULL = ""
ITERATIONS = 8
FLOOR = 0.1  # geometric mean of the two directions' probabilities under which a pair is dropped
KEEP = 3  # translations kept per stem


Translations = dict[str, list[tuple[str, float]]]  # source stem → [(target stem, score)]


def model1(
    sources: Sequence[Sequence[str]], targets: Sequence[Sequence[str]], iterations: int
) -> dict[tuple[str, str], float]:
    """p(target | source) for every pair that co-occurs in some sentence pair."""
    t: dict[tuple[str, str], float] = defaultdict(lambda: 1.0)
    for _ in range(iterations):
        counts: dict[tuple[str, str], float] = defaultdict(float)
        totals: dict[str, float] = defaultdict(float)
        for source, target in zip(sources, targets, strict=True):
            explainers = [*source, NULL]
            for word in target:
                weights = [t[(s, word)] for s in explainers]
                norm = sum(weights)
                for s, w in zip(explainers, weights, strict=True):
                    share = w / norm
                    counts[(s, word)] += share
                    totals[s] += share
        t = defaultdict(float, {pair: c / totals[pair[0]] for pair, c in counts.items()})
    return dict(t)


def align(
    sources: Sequence[Sequence[str]],
    targets: Sequence[Sequence[str]],
    iterations: int = ITERATIONS,
    floor: float = FLOOR,
    keep: int = KEEP,
) -> Translations:
    """Each source stem's `keep` best target stems by sqrt(p(t|s) · p(s|t)) ≥ floor, best first.

    Sentences are lists of distinct stems; order does not matter to Model 1."""
    forward_p = model1(sources, targets, iterations)
    backward_p = model1(targets, sources, iterations)
    found: Translations = defaultdict(list)
    for (s, t), p in forward_p.items():
        if s == NULL:
            continue
        score = (p * backward_p.get((t, s), 0.0)) ** 0.5
        if score >= floor:
            found[s].append((t, round(score, 3)))
    return {s: sorted(v, key=lambda p: (-p[1], p[0]))[:keep] for s, v in sorted(found.items())}
