"""Would reading more passages help? The reader as a reranker of the first passages, and which
signals tell answerable questions across languages from unanswerable ones.

    python bench/reader/reader_passages.py ../shared/eval [--limit 600] [--depth 3] [--out FILE]

For the first `limit` questions of each development set (and the two unanswerable pairings
`khabar eval` uses: realtimeqa-dev's questions against xquad-en's corpus, xquad-ru's against
realtimeqa-dev's), searches as the bot does, reads the first `depth` passages with the shipped
reader, and keeps for each: cosine, the cosine rule's margin, the reader's score, whether the
passage and its excerpt hold the answer. Then, offline, with the shipped decision
(`decision.decide`'s rule, replayed on those numbers):
- `first`: the first passage, as Khabar answers (about `khabar eval`'s figures on these
  questions);
- `switch m d`: among the first d passages, the one whose reader score beats the first's by at
  least m logits (m = 0: the reader's order alone);
- for the first passages that hold the answer, how often the excerpt does with the reader's
  belief weighted 0-100 in choosing it (`KHABAR_READER_EXCERPT_WEIGHT`);
- for questions across languages, the AUC of each signal of the first passage between Russian
  questions about English Wikipedia whose first passage holds the answer (xquad-ru2en) and
  Russian questions that English news cannot answer (xquad-ru against realtimeqa-dev).
Writes the per-question numbers as JSON lines (`--out`) and prints a table.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from index.answer import decision  # noqa: E402
from index.evaluate import contains_answer, load_questions, prepare  # noqa: E402
from index.reader.score import token_f1  # noqa: E402
from index.settings import Settings  # noqa: E402

SETS = ["xquad-en", "xquad-ru", "xquad-ru2en", "realtimeqa-dev"]
UNANSWERABLE = [("xquad-en", "realtimeqa-dev"), ("realtimeqa-dev", "xquad-ru")]
EXCERPT_WEIGHTS = (0.0, 1.0, 2.0, 4.0, 8.0, 100.0)
Row = dict[str, Any]


def collect(root: Path, limit: int, depth: int, out: Path) -> list[Row]:
    settings = Settings(reader="on")
    jobs = [(s, s, False) for s in SETS] + [(c, q, True) for c, q in UNANSWERABLE]
    rows: list[Row] = []
    with out.open("w", encoding="utf-8") as f:
        for corpus, asked, unanswerable in jobs:
            retriever = prepare(settings, root / corpus / "corpus")
            stage, rule = retriever.reader, retriever.rule
            assert stage is not None
            weighted = {w: copy.copy(stage) for w in EXCERPT_WEIGHTS}
            for w, variant in weighted.items():
                variant.excerpt_weight = w
            started = time.perf_counter()
            for q in load_questions(root / asked / "questions.jsonl")[:limit]:
                hits = retriever.search(q.question, k=10)
                readings = stage.reader.read(q.question, [h.passage for h in hits[:depth]])
                passages = []
                for i, h in enumerate(hits):
                    p: Row = {
                        "cos": h.score,
                        "margin": decision.confidence(q.question, h, rule)
                        - decision.threshold_for(q.question, h, rule),
                        "across": decision.across_languages(q.question, h),
                        "holds": contains_answer(h.passage, q.answers),
                        "article": h.article_id,
                    }
                    if i < depth:
                        read = stage._with(q.question, h, readings[i])
                        p.update(
                            score=read.reader_score,
                            excerpt_holds=contains_answer(read.excerpt, q.answers),
                            f1=token_f1(read.bold, q.answers),
                        )
                    if i == 0 and readings and readings[0] is not None:
                        p["excerpt_holds_at"] = {  # the reader's weight in the excerpt's choice
                            str(w): contains_answer(
                                weighted[w]._with(q.question, h, readings[0]).excerpt,
                                q.answers,
                            )
                            for w in EXCERPT_WEIGHTS
                        }
                    passages.append(p)
                row = {
                    "set": asked,
                    "corpus": corpus,
                    "unanswerable": unanswerable,
                    "id": q.id,
                    "stands_out": bool(hits) and decision.stands_out(q.question, hits, rule.lead),
                    "passages": passages,
                }
                rows.append(row)
                f.write(json.dumps(row) + "\n")
            took = time.perf_counter() - started
            print(f"{asked} against {corpus}: {took:.0f} s", file=sys.stderr, flush=True)
    return rows


def answers(row: Row, pick: int, floor: float) -> bool:
    """The shipped decision (`decision.decide`) replayed on the recorded numbers."""
    p = row["passages"][pick]
    if p["score"] >= 0.0:
        return True
    if not p["across"]:
        return bool(p["score"] + decision.READER_COSINE_WEIGHT * p["margin"] >= floor)
    return bool(p["margin"] >= 0 and (row["stands_out"] if pick == 0 else True))


def switch(margin: float, depth: int) -> Callable[[Row], int]:
    def pick(row: Row) -> int:
        read = [p for p in row["passages"][:depth] if p.get("score") is not None]
        best = 0
        for i in range(1, len(read)):
            if read[i]["score"] >= read[0]["score"] + margin and (
                best == 0 or read[i]["score"] > read[best]["score"]
            ):
                best = i
        return best

    return pick


def table(rows: list[Row], floor: float, depth: int) -> None:
    by: dict[tuple[str, bool], list[Row]] = defaultdict(list)
    for r in rows:
        by[(r["set"], r["unanswerable"])].append(r)  # no passage found: counted, not answered
    policies: list[tuple[str, Callable[[Row], int]]] = [("first", lambda r: 0)]
    policies += [(f"switch {m} {d}", switch(m, d)) for d in range(2, depth + 1) for m in (0, 2, 4)]
    print("| policy | answer@1 | passage_answer@1 | span_f1 | declined_unanswerable |")
    print("|---|---|---|---|---|")
    for name, pick in policies:
        cells: dict[str, list[str]] = defaultdict(list)
        for s in SETS:
            group = by[(s, False)]
            if not group:
                continue
            n = len(group)
            chosen = [(r, pick(r)) for r in group if r["passages"]]
            said = [(r, i) for r, i in chosen if answers(r, i, floor)]
            cells["a1"].append(
                f"{100 * sum(r['passages'][i]['excerpt_holds'] for r, i in said) / n:.1f}"
            )
            cells["p1"].append(f"{100 * sum(r['passages'][i]['holds'] for r, i in chosen) / n:.1f}")
            cells["f1"].append(f"{sum(r['passages'][i]['f1'] for r, i in said) / n:.3f}")
        for c, q in UNANSWERABLE:
            group = [r for r in by[(q, True)] if r["corpus"] == c]
            if group:
                declined = sum(
                    not (r["passages"] and answers(r, pick(r), floor)) for r in group
                ) / len(group)
                cells["dec"].append(f"{declined:.3f}")
        print(
            f"| {name} | "
            + " | ".join("/".join(cells[k]) for k in ("a1", "p1", "f1", "dec"))
            + " |"
        )
    print("\nthe excerpt of a first passage that holds the answer holds it (%), by the reader's")
    print("weight in choosing it (KHABAR_READER_EXCERPT_WEIGHT; 1 ships, 100: the reader alone)")
    for name in SETS:
        held = [
            r["passages"][0]["excerpt_holds_at"]
            for r in by[(name, False)]
            if r["passages"]
            and r["passages"][0]["holds"]
            and "excerpt_holds_at" in r["passages"][0]
        ]
        if held:
            shares = [
                f"{w:g}: {100 * sum(h[str(w)] for h in held) / len(held):.1f}"
                for w in EXCERPT_WEIGHTS
            ]
            print(f"- {name} ({len(held)}): " + ", ".join(shares))
    answerable = [
        r for r in by[("xquad-ru2en", False)] if r["passages"] and r["passages"][0]["holds"]
    ]
    unanswerable = [r for r in by[("xquad-ru", True)] if r["passages"]]
    if answerable and unanswerable:
        print(
            "\nacross languages, first passage: AUC answerable (ru2en, holding the answer) "
            "vs unanswerable (xquad-ru against news)"
        )
        for name, signal in [
            ("reader score", lambda r: r["passages"][0]["score"]),
            ("cosine margin", lambda r: r["passages"][0]["margin"]),
            (
                "reader score - best of the next passages",
                lambda r: (
                    r["passages"][0]["score"] - max(p["score"] for p in r["passages"][1:depth])
                ),
            ),
            ("lead over other articles", lead),
        ]:
            value = auc([signal(r) for r in answerable], [signal(r) for r in unanswerable])
            print(f"- {name}: {value:.3f}")


def lead(row: Row) -> float:
    top = row["passages"][0]
    others = [p["cos"] for p in row["passages"] if p["article"] != top["article"]]
    return float(top["cos"] - max(others)) if others else 0.0


def auc(positive: list[float], negative: list[float]) -> float:
    p, n = np.array(positive)[:, None], np.array(negative)[None, :]
    return float((p > n).mean() + 0.5 * (p == n).mean())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path, help="the folder holding the evaluation sets")
    parser.add_argument("--limit", type=int, default=600)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/reader-passages.jsonl")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rows = collect(args.root, args.limit, args.depth, args.out)
    floor = Settings().reader_floor
    from index.reader.model import read_card

    recipe_floor = read_card()["recipe"]["floor"]
    table(rows, recipe_floor if floor is None else floor, args.depth)


if __name__ == "__main__":
    main()
