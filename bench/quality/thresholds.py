"""Choose the no-answer threshold: declined answerable vs declined unanswerable questions.

    python bench/quality/thresholds.py --model multilingual-e5-small --retriever hybrid \
        --pair ../shared/eval/xquad-en:../shared/eval/xquad-en \
        --pair ../shared/eval/xquad-en:../shared/eval/realtimeqa-dev ...

A pair CORPUS_SET:QUESTION_SET asks QUESTION_SET's questions against CORPUS_SET's corpus; it is
answerable when both are the same set (or parallel sets sharing articles), unanswerable
otherwise. Prints, for each threshold, the share declined in every pair.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from index.evaluate import load_questions, prepare  # noqa: E402
from index.settings import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="multilingual-e5-small")
    parser.add_argument("--retriever", default="hybrid")
    parser.add_argument("--pair", action="append", required=True)
    parser.add_argument(
        "--answerable",
        action="append",
        default=[],
        help="pairs (as given) whose questions the corpus answers",
    )
    args = parser.parse_args()
    base = Settings(_env_file=None, model=args.model, retriever=args.retriever)  # type: ignore[call-arg]
    tops: dict[str, np.ndarray] = {}
    for pair in args.pair:
        corpus_set, question_set = (Path(p) for p in pair.split(":"))
        retriever = prepare(base, corpus_set / "corpus")
        questions = load_questions(question_set / "questions.jsonl")
        scores = []
        for q in questions:
            hits = retriever.search(q.question, 1)
            scores.append(hits[0].score if hits else 0.0)
        tops[pair] = np.array(scores)
        print(f"{pair}: median top score {np.median(scores):.3f}", flush=True)
    print("\nthreshold  " + "  ".join(f"{p.split('/')[-1][:22]:>22}" for p in tops))
    for threshold in (
        np.arange(0.70, 0.92, 0.01) if "e5" in args.model else np.arange(0.1, 0.6, 0.025)
    ):
        row = [f"{(t < threshold).mean():>22.3f}" for t in tops.values()]
        print(f"{threshold:>9.3f}  " + "  ".join(row))


if __name__ == "__main__":
    main()
