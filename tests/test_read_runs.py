"""How the reader cuts the pairs it reads together into runs (`runtime.runs`): padding is
waste, since a token costs about as much in a run of eight as alone (docs/benchmarks.md,
section 10)."""

from __future__ import annotations

import random

from index.reader.runtime import PAD_SLACK, READ_BATCH, runs


def padding(lengths: list[int], cut: list[list[int]]) -> int:
    return sum(
        len(run) * max(lengths[i] for i in run) - sum(lengths[i] for i in run) for run in cut
    )


def test_runs_read_every_pair_once_shortest_first_within_the_bounds() -> None:
    pick = random.Random(5)
    for _ in range(200):
        lengths = [pick.randint(20, 512) for _ in range(pick.randint(1, 40))]
        slack = pick.choice([0.0, PAD_SLACK, 0.25])
        cut = runs(lengths, READ_BATCH, slack)
        assert sorted(i for run in cut for i in run) == list(range(len(lengths)))
        flat = [lengths[i] for run in cut for i in run]
        assert flat == sorted(lengths)
        for run in cut:
            assert 1 <= len(run) <= READ_BATCH
            own = sum(lengths[i] for i in run)
            assert len(run) * max(lengths[i] for i in run) <= (1 + slack) * own + 1e-9


def test_equal_lengths_share_a_run_and_unequal_ones_are_not_padded() -> None:
    assert runs([100] * 20) == [list(range(8)), list(range(8, 16)), list(range(16, 20))]
    # 100 and 300 together would pad the first by 200 tokens: two runs, no padding
    cut = runs([300, 100, 101, 299])
    assert cut == [[1, 2], [3, 0]]
    assert padding([300, 100, 101, 299], cut) == 2
    # with no bound on padding, runs of READ_BATCH by length, as the reader cut them before
    pick = random.Random(7)
    lengths = [pick.randint(50, 400) for _ in range(19)]
    loose = runs(lengths, READ_BATCH, float("inf"))
    assert [len(r) for r in loose] == [8, 8, 3]
    assert padding(lengths, runs(lengths)) < padding(lengths, loose)
