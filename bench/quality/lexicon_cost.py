"""What searching a question's English stems costs (`index.lexicon`, in `Retriever._rank`).

    python bench/quality/lexicon_cost.py ../shared/eval [--repeat 5] [--limit 300]

For each development set, the same retriever's ranking (`_rank`: dense search, BM25 and their
fusion; no reader, no excerpt) of every question, with the lexicon and without it, taken in
turns question by question so that both see the machine alike: the median and p95 in
milliseconds, their ratio, how many stems a question adds (median), and the time of
`translations` alone in microseconds.
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
from index.answer.retriever import CANDIDATES  # noqa: E402
from index.evaluate import load_questions, prepare  # noqa: E402
from index.settings import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path, help="the folder holding the evaluation sets")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--limit", type=int, default=300, help="questions a set")
    args = parser.parse_args()
    print("| set | questions | stems added (median) | translations µs | rank ms off / on (p50) |")
    print("|---|---|---|---|---|")
    for name in present_sets(args.root):
        retriever = prepare(Settings(reader="off"), args.root / name / "corpus")
        lexicon = retriever.lexicon
        assert lexicon is not None, "the lexicon is off (KHABAR_LEXICON)"
        questions = [q.question for q in load_questions(args.root / name / "questions.jsonl")]
        questions = questions[: args.limit]
        vectors = retriever.encode(questions)
        snap = retriever._snapshot
        off: list[float] = []
        on: list[float] = []
        lookups: list[float] = []
        added: list[int] = []
        for question, vector in zip(questions, vectors, strict=True):
            for _ in range(args.repeat):
                for timings, use in ((off, None), (on, lexicon)):
                    retriever.lexicon = use
                    started = time.perf_counter()
                    retriever._rank(snap, question, vector, CANDIDATES)
                    timings.append((time.perf_counter() - started) * 1000)
                retriever.lexicon = lexicon
                started = time.perf_counter()
                found = retriever.translations(question)
                lookups.append((time.perf_counter() - started) * 1e6)
            added.append(len(found))
        ratio = statistics.median(on) / statistics.median(off)
        print(
            f"| {name} | {len(questions)} | {statistics.median(added)} | "
            f"{statistics.median(lookups):.0f} | {statistics.median(off):.2f} / "
            f"{statistics.median(on):.2f} ({ratio:.2f}×); p95 {p95(off):.2f} / {p95(on):.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
