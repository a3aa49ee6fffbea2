"""Explore the no-answer rule: top cosine alone, or top cosine plus its lead over the rest.

    python bench/quality/decline_rule.py ../shared/eval [--model multilingual-e5-small]

For answerable pairs (a set's questions against its corpus) and unanswerable pairs (another
set's questions), records each question's top cosine c1 and its lead over the mean of the next
nine, then prints, for rules `c1 + lead_weight * lead >= T`, the share declined in each pair.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from index.articles import lexical  # noqa: E402
from index.evaluate import load_questions, prepare  # noqa: E402
from index.settings import Settings  # noqa: E402

PAIRS = [
    ("xquad-en", "xquad-en", True),
    ("xquad-ru", "xquad-ru", True),
    ("xquad-en", "xquad-ru2en", True),
    ("realtimeqa-dev", "realtimeqa-dev", True),
    ("xquad-en", "realtimeqa-dev", False),
    ("realtimeqa-dev", "xquad-en", False),
    ("realtimeqa-dev", "xquad-ru", False),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path)
    parser.add_argument("--model", default="multilingual-e5-small")
    parser.add_argument("--feature", choices=["lead", "coverage"], default="lead")
    parser.add_argument("--weights", default="0,1,2,4")
    args = parser.parse_args()
    base = Settings(_env_file=None, model=args.model)  # type: ignore[call-arg]
    data: dict[str, tuple[np.ndarray, np.ndarray, bool]] = {}
    retrievers = {}
    for corpus, questions, answerable in PAIRS:
        if corpus not in retrievers:
            retrievers[corpus] = prepare(base, args.root / corpus / "corpus")
        retriever = retrievers[corpus]
        qs = load_questions(args.root / questions / "questions.jsonl")
        vectors = retriever.encode([q.question for q in qs])
        c1, lead = [], []
        for q, v in zip(qs, vectors, strict=True):
            ranked = retriever._rank(retriever._snapshot, q.question, v, 50)
            scores = sorted((s for _, s in ranked), reverse=True)[:10]
            c1.append(scores[0])
            if args.feature == "coverage":
                top = retriever._snapshot.text.passages([ranked[0][0]])[ranked[0][0]]
                lead.append(lexical.coverage(q.question, top.article.title + "\n" + top.text))
            else:
                lead.append(scores[0] - float(np.mean(scores[1:])) if len(scores) > 1 else 0.0)
        data[f"{corpus}<-{questions}"] = (np.array(c1), np.array(lead), answerable)
        print(
            f"{corpus}<-{questions}: c1 median {np.median(c1):.3f}, lead median "
            f"{np.median(lead):.3f}",
            flush=True,
        )
    names = list(data)
    for weight in (float(w) for w in args.weights.split(",")):
        print(f"\nrule c1 + {weight} * lead >= T   (share declined)")
        print("T        " + "  ".join(f"{n[:24]:>24}" for n in names))
        values = {n: data[n][0] + weight * data[n][1] for n in names}
        for t in np.quantile(np.concatenate(list(values.values())), np.linspace(0.05, 0.95, 19)):
            print(f"{t:.4f}  " + "  ".join(f"{(values[n] < t).mean():>24.3f}" for n in names))


if __name__ == "__main__":
    main()
