"""What the kind check costs a question (`kinds.may_answer`, in `decision.reader_verdict`).

    python bench/reader/kind_check_cost.py ../shared/eval [--repeat 5]

For every question of each development set whose words ask for a kind (a year, a number, a
percentage), the first passage search finds; then `may_answer` on each, timed without its
cache (as for a passage seen the first time), median and p95 in microseconds, and the share of
those questions whose first passage holds nothing of the kind.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import p95, present_sets  # noqa: E402
from index.evaluate import load_questions, prepare  # noqa: E402
from index.reader import kinds  # noqa: E402
from index.settings import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path, help="the folder holding the evaluation sets")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print("| set | questions of a kind | first passage holds none | median µs | p95 µs |")
    print("|---|---|---|---|---|")
    for name in present_sets(args.root):
        retriever = prepare(Settings(reader="off"), args.root / name / "corpus")
        asked = [
            q.question
            for q in load_questions(args.root / name / "questions.jsonl")
            if kinds.expected(q.question) is not None
        ]
        firsts = [(q, hits[0]) for q in asked if (hits := retriever.search(q))]
        times: list[float] = []
        none = 0
        for question, hit in firsts:
            for _ in range(args.repeat):
                kinds._answers.cache_clear()
                start = time.perf_counter()
                holds = kinds.may_answer(question, hit.passage, hit.lang)
                times.append((time.perf_counter() - start) * 1e6)
            none += not holds
        print(
            f"| {name} | {len(firsts)} | {none} | {statistics.median(times):.0f} "
            f"| {p95(times):.0f} |"
        )


if __name__ == "__main__":
    main()
