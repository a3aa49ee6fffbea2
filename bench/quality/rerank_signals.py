"""How far can the first passage improve with the signals Khabar has, without a reranker?

    python bench/quality/rerank_signals.py ../shared/eval [--sets xquad-en ...] [--out FILE]

For every question of each dev set, asks the retriever for its ten best passages (the bot's
own search) and reports:
- `ceiling@k`: the share of questions whose answer is in any of the first k passages; a
  perfect reranker of the first k would reach it as `passage_answer@1`;
- `passage_answer@1` when the first N passages are reordered by
  `cosine + a * best sentence cosine + b * word coverage - c * fused rank`, over a grid of
  a, b, c: every signal available offline without another model (the passage's cosine, its
  best sentence by the stored sentence vectors, the share of the question's words in it, and
  the hybrid ranking's own order).

Prints one line per setting, the best setting over all sets at once, and writes JSON.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from index.answer.retriever import Retriever  # noqa: E402
from index.articles import lexical  # noqa: E402
from index.evaluate import contains_answer, load_questions, prepare  # noqa: E402
from index.settings import Settings  # noqa: E402

SETS = ["xquad-en", "xquad-ru", "xquad-ru2en", "realtimeqa-dev"]
SENTENCE_WEIGHTS = (0.0, 0.5, 1.0)
COVERAGE_WEIGHTS = (0.0, 0.02, 0.04)
RANK_PENALTIES = (0.0, 0.01, 0.02)
DEPTHS = (3, 5)


def question_rows(retriever: Retriever, path: Path) -> list[dict[str, Any]]:
    """Per question, per passage of the ten: answer in it, cosine, best sentence, coverage."""
    rows = []
    for q in load_questions(path):
        hits = retriever.search(q.question, 10)
        passages = []
        for hit in hits:
            passages.append(
                {
                    "answer": contains_answer(hit.passage, q.answers),
                    "cosine": hit.score,
                    "sentence": hit.sentence_score,
                    "coverage": lexical.coverage(q.question, f"{hit.title}\n{hit.passage}"),
                }
            )
        rows.append({"passages": passages})
    return rows


def reranked(rows: list[dict[str, Any]], depth: int, a: float, b: float, c: float) -> float:
    right = 0
    for row in rows:
        top = row["passages"][:depth]
        if not top:
            continue
        scores = [
            p["cosine"] + a * p["sentence"] + b * p["coverage"] - c * i for i, p in enumerate(top)
        ]
        best = max(range(len(top)), key=lambda i: (scores[i], -i))
        right += top[best]["answer"]
    return round(100 * right / max(len(rows), 1), 1)


def ceiling(rows: list[dict[str, Any]], k: int) -> float:
    found = sum(any(p["answer"] for p in row["passages"][:k]) for row in rows)
    return round(100 * found / max(len(rows), 1), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="the folder of the evaluation sets")
    parser.add_argument("--sets", nargs="+", default=SETS)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/rerank.json")
    args = parser.parse_args()

    settings = Settings()
    data = {}
    for name in args.sets:
        folder = args.root / name
        data[name] = question_rows(prepare(settings, folder / "corpus"), folder / "questions.jsonl")
        print(f"{name}: {len(data[name])} questions asked", file=sys.stderr)

    ceilings = {
        name: {f"@{k}": ceiling(rows, k) for k in (1, 2, 3, 5, 10)} for name, rows in data.items()
    }
    for name, row in ceilings.items():
        print(f"{name:16} ceiling " + "  ".join(f"{k} {v:5.1f}" for k, v in row.items()))
    grid = []
    for depth, a, b, c in itertools.product(
        DEPTHS, SENTENCE_WEIGHTS, COVERAGE_WEIGHTS, RANK_PENALTIES
    ):
        scores = {name: reranked(rows, depth, a, b, c) for name, rows in data.items()}
        gain = min(scores[n] - ceilings[n]["@1"] for n in scores)
        grid.append(
            {"depth": depth, "sentence": a, "coverage": b, "rank": c, "gain": gain, **scores}
        )
        print(
            f"N={depth} a={a} b={b} c={c}: "
            + "  ".join(f"{n} {s:5.1f}" for n, s in scores.items())
            + f"  (worst gain {gain:+.1f})"
        )
    best = max(grid, key=lambda g: g["gain"])
    print(f"best on every set at once: {best}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"ceilings": ceilings, "grid": grid, "best": best}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
