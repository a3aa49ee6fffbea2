"""How the reader's runs should be cut: what a token costs in a run of 1 to 16 pairs, and what
reading a batch of pairs costs with each bound on a run's padding (`runtime.runs`).

    python bench/reader/read_runs.py ../shared [--reader within|across] [--precision float32]
        [--pairs 192] [--batch 16] [--slack 0 0.05 0.1 0.25 1e9] [--repeats 5]

1. A token's cost by run size: runs of 1, 2, 4, 8 and 16 pairs of one length (128, 224 and 320
   tokens, the reader's usual range), the median of several runs each. Where a token costs
   about the same in a run of eight as alone, a token of padding is waste.
2. The pairs, from `../shared/train` (as `int8_variants.py` builds them: TyDi / TQuAD questions
   with their contexts, NTREX sentences against a paragraph in another language; never the
   evaluation sets), read `--batch` at a time as the bot reads the first passages of the
   questions waiting together (`OnnxReader.read_pairs`), once with each bound on a run's padding
   (`1e9`: runs of 8 whatever their lengths, as before). Every bound is run in each round, in
   turn, `--repeats` rounds; it prints each bound's median seconds, its ratio to the widest in the
   same rounds, the tokens read and padded, the runs, and how far its scores move from the
   widest's (padding should move only the float rounding).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench/reader"))

from int8_variants import MODELS, training_pairs  # noqa: E402

from index.reader import model as reader_model  # noqa: E402
from index.reader import runtime  # noqa: E402


def token_cost(reader: runtime.OnnxReader, lengths: tuple[int, ...] = (128, 224, 320)) -> None:
    session = reader._session
    for length in lengths:
        costs = []
        for size in (1, 2, 4, 8, 16):
            feed = {
                "input_ids": np.full((size, length), 5, dtype=np.int64),
                "attention_mask": np.ones((size, length), dtype=np.int64),
            }
            session.run(None, feed)
            seconds = []
            for _ in range(max(3, 16 // size)):
                start = time.perf_counter()
                session.run(None, feed)
                seconds.append(time.perf_counter() - start)
            costs.append(f"{size}: {statistics.median(seconds) / size / length * 1e6:.0f}")
        print(f"{length} tokens, µs a token in a run of " + ", ".join(costs))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("shared", type=Path, help="the shared folder (its train/)")
    parser.add_argument("--reader", choices=["within", "across"], default="within")
    parser.add_argument("--precision", choices=["float32", "int8"], default="float32")
    parser.add_argument("--pairs", type=int, default=192)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--slack", type=float, nargs="+", default=[0, 0.05, 0.1, 0.25, 1e9])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    weights = (
        reader_model.WEIGHTS_DIR if args.reader == "within" else reader_model.ACROSS_WEIGHTS_DIR
    )
    folder = runtime.ensure_onnx(MODELS, weights)
    reader = runtime.OnnxReader(folder, precision=args.precision, weights_dir=weights)
    pairs = training_pairs(args.shared, args.pairs)
    reader.read_pairs(pairs[:4])
    print(f"the {args.reader} reader, {args.precision}")
    token_cost(reader)

    slacks = sorted(args.slack, reverse=True)  # the widest first: the others are checked on it
    lengths = [len(reader.pair(q, p).ids) for q, p in pairs]
    seconds: dict[float, list[float]] = {s: [] for s in slacks}
    readings: dict[float, list[runtime.Reading | None]] = {}
    for _ in range(args.repeats):
        for slack in slacks:
            runtime.OnnxReader.pad_slack = slack
            start = time.perf_counter()
            got: list[runtime.Reading | None] = []
            for begin in range(0, len(pairs), args.batch):
                got += reader.read_pairs(pairs[begin : begin + args.batch])
            seconds[slack].append(time.perf_counter() - start)
            readings.setdefault(slack, got)
    widest = slacks[0]
    for slack in slacks:
        cut = [
            runtime.runs(lengths[b : b + args.batch], runtime.READ_BATCH, slack)
            for b in range(0, len(pairs), args.batch)
        ]
        padded = sum(
            len(run) * max(lengths[b * args.batch + i] for i in run)
            for b, batch in enumerate(cut)
            for run in batch
        )
        moved = max(
            abs(a.score - b.score)
            for a, b in zip(readings[widest], readings[slack], strict=True)
            if a and b
        )
        ratio = statistics.median(
            w / s for w, s in zip(seconds[widest], seconds[slack], strict=True)
        )
        print(
            f"slack {slack:g}: {statistics.median(seconds[slack]):.2f} s for {len(pairs)} pairs, "
            f"{ratio:.2f}x as fast as slack {widest:g} | {sum(lengths)} tokens, "
            f"{padded - sum(lengths)} padding, {sum(len(c) for c in cut)} runs | "
            f"scores moved at most {moved:.5f}"
        )


if __name__ == "__main__":
    main()
