"""What reading more passages costs a question: each question asked of two configurations one
after the other in one process (`KHABAR_READER_PASSAGES` 1 and the shipped value), so both see
the same machine at the same moment. p50 / p95 ms per set. With `--kinds`: the shipped
passages, the kind of answer asked (`KHABAR_READER_KINDS`) off and on instead; with `--match`,
the sentences' match with the question across languages (`KHABAR_READER_MATCH_WEIGHT`) off
and on.

    python bench/reader/passages_speed.py ../shared/eval [--limit 200] [--passages 1 2] [--kinds]
        [--match]

Write the CPU beside the figures (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import present_sets  # noqa: E402
from index.evaluate import load_questions, prepare  # noqa: E402
from index.settings import Settings  # noqa: E402


def p50_p95(times: list[float]) -> str:
    ordered = sorted(times)
    return f"{statistics.median(ordered):.1f} / {ordered[int(0.95 * (len(ordered) - 1))]:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path, help="the folder holding the evaluation sets")
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--passages", type=int, nargs="+", default=[1, Settings().reader_passages])
    parser.add_argument("--kinds", action="store_true", help="pair kinds off and on instead")
    parser.add_argument("--match", action="store_true", help="pair the match off and on instead")
    args = parser.parse_args()
    configs: list[tuple[str, dict[str, Any]]] = (
        [(f"kinds {k}", {"reader_kinds": k}) for k in ("off", "on")]
        if args.kinds
        else [
            ("match off", {"reader_match_weight": 0.0}),
            ("match on", {"reader_match_weight": Settings().reader_match_weight}),
        ]
        if args.match
        else [(f"{n} passage(s)", {"reader_passages": n}) for n in args.passages]
    )
    print("| set | " + " | ".join(f"{label}, p50 / p95 ms" for label, _ in configs) + " |")
    print("|---|" + "---|" * len(configs))
    for name in present_sets(args.root):
        corpus = args.root / name / "corpus"
        retrievers = [prepare(Settings(reader="on", **over), corpus) for _, over in configs]
        for r in retrievers:
            r.answer("warm-up question")
        times: list[list[float]] = [[] for _ in retrievers]
        for q in load_questions(args.root / name / "questions.jsonl")[: args.limit]:
            for r, mine in zip(retrievers, times, strict=True):
                started = time.perf_counter()
                r.answer(q.question, k=10)
                mine.append(1000 * (time.perf_counter() - started))
        print(f"| {name} | " + " | ".join(p50_p95(t) for t in times) + " |", flush=True)


if __name__ == "__main__":
    main()
