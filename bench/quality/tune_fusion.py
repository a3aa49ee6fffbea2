"""Choose the hybrid weight: passage_answer@1 of dense, lexical and fused rankings per set.

    python bench/quality/tune_fusion.py ../shared/eval/xquad-en ../shared/eval/xquad-ru ... \
        [--model multilingual-e5-small] [--weights 0,0.05,0.1,0.2,0.3,0.5]

Each question's dense and lexical candidates are computed once; every fusion variant is then
scored offline on the same candidates (weighted score fusion, and equal-weight RRF for
reference). One configuration must serve every set.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from index.answer import fusion  # noqa: E402
from index.articles.lexical import query_terms  # noqa: E402
from index.evaluate import article_of, contains_answer, load_questions, prepare  # noqa: E402
from index.settings import Settings  # noqa: E402


def rrf(dense: list[tuple[int, float]], lexical: list[tuple[int, float]]) -> list[int]:
    score: dict[int, float] = {}
    for ranking in (dense, lexical):
        for rank, (pid, _) in enumerate(ranking):
            score[pid] = score.get(pid, 0.0) + 1 / (60 + rank)
    return sorted(score, key=lambda p: -score[p])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--model", default="multilingual-e5-small")
    parser.add_argument("--weights", default="0,0.02,0.03,0.05,0.1,0.2")
    parser.add_argument("--chunk-tokens", type=int, default=None)
    args = parser.parse_args()
    weights = [float(w) for w in args.weights.split(",")]
    base = Settings(_env_file=None, model=args.model)  # type: ignore[call-arg]
    if args.chunk_tokens:
        base = base.with_overrides(chunk_tokens=args.chunk_tokens)
    table = {}
    for folder in args.sets:
        retriever = prepare(base, folder / "corpus")
        snap = retriever._snapshot
        questions = load_questions(folder / "questions.jsonl")
        vectors = retriever.encode([q.question for q in questions])
        results: dict[str, list[int]] = {}
        for q, vector in zip(questions, vectors, strict=True):
            scores, ids = snap.vectors.search(vector[None, :], 50)
            dense = [(int(i), float(s)) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0]
            lexical = snap.text.lexical_search(query_terms(q.question), 50)
            cosine = dict(dense)
            missing = [pid for pid, _ in lexical if pid not in cosine]
            if missing:
                extra = snap.vectors.vectors(np.array(missing, dtype=np.int64)) @ vector
                cosine.update(zip(missing, (float(c) for c in extra), strict=True))
            rows = snap.text.passages(list(cosine))
            ok = {pid: contains_answer(rows[pid].text, q.answers) for pid in rows}
            variants = {
                "dense": [p for p, _ in dense],
                "lexical": [p for p, _ in lexical],
                "rrf": rrf(dense, lexical),
            }
            for w in weights:
                variants[f"w={w}"] = [p for p, _ in fusion.fuse(dense, lexical, cosine, w)]
            for name, ranking in variants.items():
                hit = bool(ranking) and ok.get(ranking[0], False)
                art = bool(ranking) and article_of(rows[ranking[0]].article.id) == q.article
                results.setdefault(name, [0, 0])
                results[name][0] += hit
                results[name][1] += art
        n = len(questions)
        table[folder.name] = {
            k: (round(100 * v[0] / n, 1), round(100 * v[1] / n, 1)) for k, v in results.items()
        }
        print(folder.name, json.dumps(table[folder.name]), flush=True)
    names = list(next(iter(table.values())))
    print(
        "\nvariant        "
        + "  ".join(f"{s[:14]:>14}" for s in table)
        + "   (passage_answer@1, article@1)"
    )
    for name in names:
        print(
            f"{name:<14} "
            + "  ".join(f"{table[s][name][0]:>6} {table[s][name][1]:>6}" for s in table)
        )


if __name__ == "__main__":
    main()
