"""Would reading more passages help? The reader as a reranker of the first passages, and which
signals tell answerable questions across languages from unanswerable ones.

    python bench/reader/reader_passages.py ../shared/eval [--limit 600] [--depth 3] [--out FILE]
    python bench/reader/reader_passages.py --replay FILE   # the tables again, from FILE

The region's sets (news-region, news-region-x2en, each question in several languages) are read
whole, whatever the limit, and reported per language; realtimeqa-dev's news is also asked
news-region's questions (in six languages), which it cannot answer: declines per language.

For the first `limit` questions of each development set (and the two unanswerable pairings
`khabar eval` uses: realtimeqa-dev's questions against xquad-en's corpus, xquad-ru's against
realtimeqa-dev's), searches as the bot does, reads the first `depth` passages with the shipped
reader, and keeps for each: cosine, the cosine rule's margin, the reader's score, whether the
passage and its excerpt hold the answer. Then, offline, with the shipped decision
(`decision.decide`'s rule, replayed on those numbers):
- `first`: the first passage, as Khabar answers (about `khabar eval`'s figures on these
  questions);
- `switch m d`: among the first d passages, the one whose reader score plus 250 x (its cosine
  minus the first's) beats the first's by at least m logits ("confident c": the others read
  only when the first scores under c); whether Khabar answers is the first passage's to say;
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from index.answer import decision  # noqa: E402
from index.evaluate import contains_answer, language_of, load_questions, prepare  # noqa: E402
from index.reader.pairs import NEGATIVE  # noqa: E402
from index.reader.score import token_f1  # noqa: E402
from index.settings import Settings  # noqa: E402

SETS = ["xquad-en", "xquad-ru", "xquad-ru2en", "realtimeqa-dev"]
REGION = ["news-region", "news-region-x2en"]  # read whole, reported per language
UNANSWERABLE = [
    ("xquad-en", "realtimeqa-dev"),
    ("realtimeqa-dev", "xquad-ru"),
    ("realtimeqa-dev", "news-region"),
]
LANGS = ["en", "ru", "az", "kk", "tr", "uz"]
EXCERPT_WEIGHTS = (0.0, 1.0, 2.0, 4.0, 8.0, 100.0)
Row = dict[str, Any]


def collect(root: Path, limit: int, depth: int, out: Path) -> list[Row]:
    settings = Settings(reader="on")
    sets = SETS + [s for s in REGION if (root / s).is_dir()]
    pairs = [(c, q) for c, q in UNANSWERABLE if (root / c).is_dir() and (root / q).is_dir()]
    jobs = [(s, s, False) for s in sets] + [(c, q, True) for c, q in pairs]
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
            whole = asked in REGION
            for q in load_questions(root / asked / "questions.jsonl")[: None if whole else limit]:
                hits = retriever.search(q.question, k=10)
                readings = stage.reader.read(q.question, [h.passage for h in hits[:depth]])
                passages = []
                for i, h in enumerate(hits):
                    p = passage_signals(q.question, h, rule, q.answers)
                    if i < depth:
                        read = stage._with(q.question, h, readings[i])
                        p.update(
                            score=read.reader_score,
                            excerpt_holds=contains_answer(read.excerpt, q.answers),
                            f1=token_f1(read.bold, q.answers),
                        )
                    if i == 0 and readings and readings[0] is not None:
                        p.update(sentence_signals(readings[0], h.sentence_similarity))
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
                    "lang": language_of(q.id),
                    "stands_out": bool(hits) and decision.stands_out(q.question, hits, rule.lead),
                    "passages": passages,
                }
                rows.append(row)
                f.write(json.dumps(row) + "\n")
            took = time.perf_counter() - started
            print(f"{asked} against {corpus}: {took:.0f} s", file=sys.stderr, flush=True)
    return rows


def passage_signals(question: str, hit: Any, rule: Any, answers: list[str]) -> Row:
    """What the decision reads of a hit besides the reader: its cosine, the cosine rule's
    margin, whether it is across languages, whether it holds the answer, its article."""
    return {
        "cos": hit.score,
        "margin": decision.confidence(question, hit, rule)
        - decision.threshold_for(question, hit, rule),
        "across": decision.across_languages(question, hit),
        "holds": contains_answer(hit.passage, answers),
        "article": hit.article_id,
    }


def sentence_signals(reading: Any, similarity: tuple[float, ...]) -> Row:
    """The first passage's sentences: the model's best similarity to the question, and that of
    the sentence the reader's best span lies in (both None without sentence vectors)."""
    spans = reading.sentences
    if not similarity or not spans or len(similarity) != len(spans):
        return {"sentence_cos": None, "read_sentence_cos": None}
    scores = [NEGATIVE if r is None else r.score for r in spans]
    best = max(range(len(scores)), key=lambda j: scores[j])
    return {"sentence_cos": max(similarity), "read_sentence_cos": similarity[best]}


@dataclass(frozen=True)
class Policy:
    """Which passage is shown and whether Khabar answers, replayed on the recorded numbers as
    `decision.decide` does: the first passage search found decides (its reader score at the
    threshold 0, else the line `score + 250 x cosine margin` against `floor` in one language
    and `cross_floor` across languages; None there: the cosine rule); among the first `depth`
    passages, the one whose score + 250 x (its cosine - the first's) beats the first's by
    `margin` is shown (`decision.shown_first`)."""

    name: str
    floor: float
    depth: int = 1
    margin: float = 0.0
    cross_floor: float | None = None
    cross_lead: bool = False  # across languages, the top hit must also stand out (lead rule)
    confident: float | None = None  # the others are read only when the first scores under it
    # Across languages, the top hit's lead over other articles on the line, about this pivot
    # (`decision.CROSS_READER_LEAD`'s cap); None: not counted
    lead_pivot: float | None = None

    def read(self, row: Row) -> list[Row]:
        read = [p for p in row["passages"][: self.depth] if p.get("score") is not None]
        if self.confident is not None and read and read[0]["score"] >= self.confident:
            return read[:1]
        return read

    def pick(self, row: Row) -> int:
        read = self.read(row)
        if not read:
            return 0
        first = read[0]["cos"]
        line = [p["score"] + decision.READER_COSINE_WEIGHT * (p["cos"] - first) for p in read]
        best = max(range(len(read)), key=lambda i: line[i])
        return best if line[best] >= line[0] + self.margin else 0

    def answers(self, row: Row) -> bool:
        p = row["passages"][0]
        if p["score"] >= 0.0:
            return True
        line = p["score"] + decision.READER_COSINE_WEIGHT * p["margin"]
        if not p["across"]:
            return bool(line >= self.floor)
        ahead = lead(row)
        if self.lead_pivot is not None and ahead is not None:
            cap, _ = decision.CROSS_READER_LEAD["multilingual-e5-small"]
            line += decision.READER_COSINE_WEIGHT * (min(ahead, cap) - self.lead_pivot)
        if self.cross_floor is not None:
            stands = row["stands_out"] if self.cross_lead else True
            return bool(line >= self.cross_floor and stands)
        return bool(p["margin"] >= 0 and row["stands_out"])

    def outcome(self, row: Row) -> tuple[bool, bool, bool, float]:
        """(answered, the excerpt shown first holds the answer, the passage does, span F1)."""
        if not row["passages"]:
            return False, False, False, 0.0
        said = self.answers(row)
        p = row["passages"][self.pick(row) if said else 0]
        return said, said and p["excerpt_holds"], p["holds"], p["f1"] if said else 0.0


def policies(floor: float, depth: int) -> list[Policy]:
    out = [Policy("first", floor), Policy("first, across 3", floor, cross_floor=3.0)]
    for pivot in (0.005, 0.01, 0.015, 0.02):
        out.append(
            Policy(f"first, across 3, lead - {pivot:g}", floor, cross_floor=3.0, lead_pivot=pivot)
        )
    for d in range(2, depth + 1):
        for m in (0.0, 1.0, 2.0, 3.0, 4.0):
            for confident in (None, 2.0):
                name = f"switch {m:g} {d}" + (
                    "" if confident is None else f", confident {confident:g}"
                )
                out.append(Policy(name + ", across 3", floor, d, m, 3.0, confident=confident))
    for cross_floor in (0.0, 1.0, 2.0, 4.0):
        out.append(
            Policy(
                f"switch 2 2, confident 2, across {cross_floor:g}",
                floor,
                2,
                2.0,
                cross_floor,
                confident=2.0,
            )
        )
    return out


def table(rows: list[Row], floor: float, depth: int) -> None:
    by: dict[tuple[str, bool], list[Row]] = defaultdict(list)
    for r in rows:
        by[(r["set"], r["unanswerable"])].append(r)  # no passage found: counted, not answered
    pairs = [(c, q) for c, q in UNANSWERABLE if by[(q, True)]]
    print("sets: " + " / ".join(SETS) + "; declined: " + " / ".join(f"{q}->{c}" for c, q in pairs))
    print("| policy | answer@1 | passage_answer@1 | span_f1 | declined_unanswerable |")
    print("|---|---|---|---|---|")
    every = policies(floor, depth)
    for policy in every:
        cells: dict[str, list[str]] = defaultdict(list)
        for s in SETS:
            group = by[(s, False)]
            if not group:
                continue
            n = len(group)
            seen = [policy.outcome(r) for r in group]
            cells["a1"].append(f"{100 * sum(o[1] for o in seen) / n:.1f}")
            cells["p1"].append(f"{100 * sum(o[2] for o in seen) / n:.1f}")
            cells["f1"].append(f"{sum(o[3] for o in seen) / n:.3f}")
        for c, q in pairs:
            group = [r for r in by[(q, True)] if r["corpus"] == c]
            cells["dec"].append(f"{sum(not policy.outcome(r)[0] for r in group) / len(group):.3f}")
        print(
            f"| {policy.name} | "
            + " | ".join("/".join(cells[k]) for k in ("a1", "p1", "f1", "dec"))
            + " |"
        )
    region_table(by, every)
    signal_tables(by, depth)


def region_table(by: dict[tuple[str, bool], list[Row]], every: list[Policy]) -> None:
    """Per language: questions whose excerpt shown first holds the answer (of each language's
    questions) in news-region and news-region-x2en, and the share of news-region's questions
    declined against realtimeqa-dev's news."""
    if not by[("news-region", False)]:
        return
    print("\nper language (" + " / ".join(LANGS) + "): answer@1 count, and declined share")
    print("| policy | news-region | news-region-x2en | declined (news-region -> realtimeqa) |")
    print("|---|---|---|---|")
    for policy in every:
        cells = []
        for name in REGION:
            group = by[(name, False)]
            cells.append(
                " / ".join(
                    str(sum(policy.outcome(r)[1] for r in group if r.get("lang") == lang))
                    for lang in LANGS
                    if any(r.get("lang") == lang for r in group)
                )
            )
        unanswerable = by[("news-region", True)]
        shares = []
        for lang in LANGS:
            mine = [r for r in unanswerable if r.get("lang") == lang]
            if mine:
                shares.append(f"{sum(not policy.outcome(r)[0] for r in mine) / len(mine):.2f}")
        cells.append(" / ".join(shares))
        print(f"| {policy.name} | " + " | ".join(cells) + " |")


def signal_tables(by: dict[tuple[str, bool], list[Row]], depth: int) -> None:
    """The reader's weight in the excerpt's choice, and the AUC of each signal across
    languages."""
    print("\nthe excerpt of a first passage that holds the answer holds it (%), by the reader's")
    print("weight in choosing it (KHABAR_READER_EXCERPT_WEIGHT; 1 ships, 100: the reader alone)")
    for name in SETS + REGION:
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
            *(
                [
                    (
                        "reader score - best of the next passages",
                        lambda r: (
                            r["passages"][0]["score"]
                            - max(p["score"] for p in r["passages"][1:depth])
                        ),
                    )
                ]
                if depth > 1  # recorded with one passage read: there is no next one
                else []
            ),
            ("lead over other articles", lambda r: lead(r) or 0.0),
        ]:
            value = auc([signal(r) for r in answerable], [signal(r) for r in unanswerable])
            print(f"- {name}: {value:.3f}")


def lead(row: Row) -> float | None:
    """The top passage's cosine over the best of another article's (`decision.lead`); None
    when the recorded passages are all of one article."""
    top = row["passages"][0]
    others = [p["cos"] for p in row["passages"] if p["article"] != top["article"]]
    return float(top["cos"] - max(others)) if others else None


def auc(positive: list[float], negative: list[float]) -> float:
    p, n = np.array(positive)[:, None], np.array(negative)[None, :]
    return float((p > n).mean() + 0.5 * (p == n).mean())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path, nargs="?", help="the folder holding the sets")
    parser.add_argument("--replay", type=Path, help="print the tables from this --out file")
    parser.add_argument("--limit", type=int, default=600)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/reader-passages.jsonl")
    args = parser.parse_args()
    if args.replay is not None:
        with args.replay.open(encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
    elif args.root is None:
        parser.error("give the folder holding the evaluation sets, or --replay FILE")
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        rows = collect(args.root, args.limit, args.depth, args.out)
    floor = Settings().reader_floor
    from index.reader.model import read_card

    recipe_floor = read_card()["recipe"]["floor"]
    table(rows, recipe_floor if floor is None else floor, args.depth)


if __name__ == "__main__":
    main()
