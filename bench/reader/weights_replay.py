"""Two sets of reader weights side by side, on the same questions, and the decision replayed.

    python bench/reader/weights_replay.py collect ../shared/eval --limit 200 --out rows.jsonl
    python bench/reader/weights_replay.py collect ../shared/eval --reader across --out across.jsonl
    KHABAR_READER_ACROSS_WEIGHTS=DIR python bench/reader/weights_replay.py collect ../shared/eval \
        --reader across --jobs news-region news-region-x2en xquad-ru2en news-region! xquad-ru! \
        --out dir-across.jsonl
    python bench/reader/weights_replay.py report rows-shipped.jsonl rows-new.jsonl [--match W]
    python bench/reader/weights_replay.py report rows.jsonl --across across.jsonl \
        --cross-threshold 0 2 3
    python bench/reader/weights_replay.py collect ../shared/eval --reader across \
        --jobs xquad-en realtimeqa-dev realtimeqa-dev! --out across-en.jsonl
    python bench/reader/weights_replay.py veto rows.jsonl across-en.jsonl

`collect` searches every development set as the bot does (the region sets whole, the others'
first `limit` questions, and the unanswerable pairings `khabar eval` uses), reads the first
three passages with one reader (`--reader within`: `index/reader/weights/`, the default;
`--reader across`: `index/reader/weights-across/`; to measure other weights, name their folder
in KHABAR_READER_WEIGHTS or KHABAR_READER_ACROSS_WEIGHTS), and writes
per passage: cosine, the cosine rule's margin, whether the question and passage differ in
language, whether the kind check passes it over, the reader's score, whether the passage, the
span and the excerpt hold the answer, and how well the span's sentence matches the question
(`runtime.sentence_match`, the reader's own hidden states).

`report` replays `decision.decide` on those numbers (the first passage deciding, or the next
read one where the kind check passes it over; the second read when the first is not sure; the
one beating the first by `reader_switch` shown) at several pairs of floors (in one language,
across languages), and prints answer@1 and declines per set, and the region sets per language.
The country check (`reader.contrast`) is not replayed. `--match W` adds W x the difference of
the span's sentence match to the line that chooses which read passage is shown (0: as shipped).
`--across FILE` replays the two readers as Khabar runs them (`reader.routing`): each passage in
the question's language as the rows read it, each in another as FILE's (collected with
`--reader across`); `--cross-threshold T ...` replays each threshold across languages (the score
from which a passage answers there: `decision.Rule.reader_cross_threshold`). For weights whose
scores sit elsewhere, `--threshold T` replays the threshold in one language (the first reader's
card: 0) and `--floors=F/C,F/C...` the floors in one language and across languages.

`--rescue=A/W` replays a later passage answering where the first declines: the first of the
next two whose score reaches A across languages or W in one (measured, not shipped).

`veto` replays the second reader as a veto in one language (measured, not shipped): an answer
whose first passage, in the question's language, the first reader scores under SURE is kept
only where the second reader (FILE, `collect --reader across` on the same sets) scores that
passage at least VETO; at the shipped floors, for xquad-en, realtimeqa-dev and realtimeqa-dev's
questions against xquad-en's articles.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from reader_passages import passage_signals  # noqa: E402  (bench/reader, this script's folder)

from index.answer import decision  # noqa: E402
from index.articles.lexical import languages_differ  # noqa: E402
from index.articles.sentences import sentence_spans  # noqa: E402
from index.evaluate import contains_answer, language_of, load_questions, prepare  # noqa: E402
from index.reader.model import ACROSS_WEIGHTS_DIR  # noqa: E402
from index.reader.pairs import dateline_end  # noqa: E402
from index.reader.runtime import OnnxReader, ensure_onnx, sentence_match  # noqa: E402
from index.settings import Settings  # noqa: E402

Row = dict[str, Any]
LANGS = ["en", "ru", "az", "kk", "tr", "uz"]
REGION = ("news-region", "news-region-x2en")
JOBS = [  # (corpus, questions, unanswerable)
    ("news-region", "news-region", False),
    ("news-region-x2en", "news-region-x2en", False),
    ("realtimeqa-dev", "news-region", True),
    ("xquad-ru2en", "xquad-ru2en", False),
    ("xquad-en", "xquad-en", False),
    ("xquad-ru", "xquad-ru", False),
    ("realtimeqa-dev", "realtimeqa-dev", False),
    ("xquad-en", "realtimeqa-dev", True),
    ("realtimeqa-dev", "xquad-ru", True),
]
DEPTH = 3
FLOORS = [(-2.0, 3.0), (-3.0, 3.0), (-1.0, 3.0), (-2.0, 2.0), (-2.0, 4.0), (-4.0, 2.0)]


def collect(
    root: Path, limit: int, out: Path, which: str = "within", only: Sequence[str] = ()
) -> None:
    settings = Settings(reader="on", reader_across="off")
    with out.open("w", encoding="utf-8") as f:
        for corpus, asked, unanswerable in JOBS:
            if not (root / corpus).is_dir() or not (root / asked).is_dir():
                continue
            if only and asked + ("!" if unanswerable else "") not in only:
                continue
            retriever = prepare(settings, root / corpus / "corpus")
            stage, rule = retriever.reader, retriever.rule
            assert stage is not None
            reader = stage.reader
            assert isinstance(reader, OnnxReader)  # with KHABAR_READER_ACROSS off
            if which == "across":
                weights = settings.reader_across_weights or ACROSS_WEIGHTS_DIR
                reader = OnnxReader(
                    ensure_onnx(settings.model_cache, weights),
                    weights_dir=weights,
                    kind_margin=reader.kind_margin,
                    match_weight=reader.match_weight,
                )
            questions = load_questions(root / asked / "questions.jsonl")
            for q in questions if asked in REGION else questions[:limit]:
                hits = retriever.search(q.question, k=10)
                pairs = [reader.pair(q.question, h.passage) for h in hits[:DEPTH]]
                starts, ends, states = reader.logits(pairs) if pairs else ([], [], [])
                passages = []
                for i, h in enumerate(hits):
                    p = passage_signals(q.question, h, rule, q.answers)
                    p["kind_ok"] = not decision.passed_over(q.question, h, rule)
                    if i < len(pairs):
                        n = len(pairs[i].ids)
                        sentences = sentence_spans(h.passage)
                        match = sentence_match(pairs[i], states[i][:n], sentences)
                        across = languages_differ(q.question, h.passage, h.lang)
                        lean = tuple(reader.match_weight * m for m in match) if across else ()
                        reading = reader._reading(
                            pairs[i],
                            starts[i][:n],
                            ends[i][:n],
                            sentences,
                            dateline_end(h.passage),
                            reader._kind_spans(q.question, h.passage),
                            reader.kind_margin,
                            lean,
                        )
                        if reading is not None:
                            read = stage._with(q.question, h, reading)
                            k = next(
                                (j for j, (a, b) in enumerate(sentences) if a <= reading.start < b),
                                None,
                            )
                            p.update(
                                score=reading.score,
                                excerpt_holds=contains_answer(read.excerpt, q.answers),
                                span_holds=contains_answer(
                                    h.passage[reading.start : reading.end], q.answers
                                ),
                                match=match[k] if k is not None and match else None,
                            )
                    passages.append(p)
                row = {"set": asked, "unanswerable": unanswerable, "id": q.id}
                row.update(lang=language_of(q.id), passages=passages)
                f.write(json.dumps(row) + "\n")
            print(f"{asked} against {corpus}", file=sys.stderr, flush=True)


def verdict(
    passages: list[Row], floor: float, cross: float, sure_across: float = 0.0, within: float = 0.0
) -> bool:
    """`decision.reader_verdict` on recorded numbers (the country check left out); `within`:
    the threshold in one language (the first reader's card: 0)."""
    p = passages[0]
    if p["score"] >= (sure_across if p["across"] else within):
        return True
    line = p["score"] + decision.READER_COSINE_WEIGHT * p["margin"]
    if not p["across"]:
        return bool(line >= floor)
    others = [o["cos"] for o in passages if o["article"] != p["article"]]
    if others:
        cap, pivot = decision.CROSS_READER_LEAD["multilingual-e5-small"]
        line += decision.READER_COSINE_WEIGHT * (min(p["cos"] - max(others), cap) - pivot)
    return bool(line >= cross)


def outcome(
    row: Row,
    floor: float,
    cross: float,
    match: float,
    sure_across: float = 0.0,
    within: float = 0.0,
) -> tuple[bool, bool]:
    """(answered, the excerpt shown first holds the answer), as `decision.decide` with two
    passages read, `reader_confident` 2 and `reader_switch` 2 (the shipped settings)."""
    read = [p for p in row["passages"][:2] if p.get("score") is not None]
    if not read:
        return False, False
    if not read[0]["kind_ok"]:
        read = [p for p in read[1:] if p["kind_ok"]]
        if not read:
            return False, False
    start = row["passages"].index(read[0])
    if not verdict(row["passages"][start:], floor, cross, sure_across, within):
        return False, False
    first = read[0]
    if start == 0 and first["score"] >= within + 2.0:
        read = read[:1]

    def line(p: Row) -> float:
        value = p["score"] + decision.READER_COSINE_WEIGHT * (p["cos"] - first["cos"])
        if match and p.get("match") is not None and first.get("match") is not None:
            value += match * (p["match"] - first["match"])
        return float(value)

    best = max(read, key=line)
    shown = best if line(best) >= line(first) + 2.0 else first
    return True, bool(shown["excerpt_holds"])


def routed(rows: list[Row], across: Path) -> list[Row]:
    """`rows` with each passage in another language than its question as `across` read it."""
    theirs = {(r["set"], r["unanswerable"], r["id"]): r for r in _rows(across)}
    out = []
    for row in rows:
        other = theirs.get((row["set"], row["unanswerable"], row["id"]))
        if other is None:  # a set FILE was not collected on (`collect --jobs`): read as in rows
            out.append(row)
            continue
        passages = []
        for mine, its in zip(row["passages"], other["passages"], strict=True):
            assert mine["article"] == its["article"], "the two files searched differently"
            passages.append(its if mine["across"] else mine)
        out.append({**row, "passages": passages})
    return out


def _rows(path: Path) -> list[Row]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def rescued(row: Row, rescue: tuple[float, float] | None) -> tuple[bool, bool] | None:
    """Measured, not shipped (`report --rescue=A/W`): where the first passage declines, the
    first of the next two the kind check keeps whose score reaches A (across languages) or W
    (in one) answers, its excerpt shown; None where none does."""
    if rescue is None:
        return None
    for p in row["passages"][1:DEPTH]:
        least = rescue[0] if p["across"] else rescue[1]
        if p.get("score") is not None and p["kind_ok"] and p["score"] >= least:
            return True, bool(p["excerpt_holds"])
    return None


def report(
    files: list[Path],
    match: float,
    across: Path | None = None,
    sure: Sequence[float] = (0.0,),
    within: float = 0.0,
    floors: Sequence[tuple[float, float]] = FLOORS,
    rescue: tuple[float, float] | None = None,
) -> None:
    sets = ["xquad-en", "xquad-ru", "xquad-ru2en", "realtimeqa-dev", *REGION]
    refused = ["realtimeqa-dev!", "xquad-ru!", "news-region!"]
    print("| rows | floors | " + " | ".join(sets + refused) + " | region | x2en |")
    for path, sure_across in ((p, t) for p in files for t in sure):
        rows = _rows(path)
        if across is not None:
            rows = routed(rows, across)
        name = path.name + (f" + {across.name} (sure at {sure_across:g})" if across else "")
        name += f" (rescue {rescue[0]:g}/{rescue[1]:g})" if rescue else ""
        for floor, cross in floors:
            tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            langs: dict[tuple[str, str], int] = defaultdict(int)
            for row in rows:
                said, holds = outcome(row, floor, cross, match, sure_across, within)
                if not said:
                    said, holds = rescued(row, rescue) or (said, holds)
                key = row["set"] + ("!" if row["unanswerable"] else "")
                tally[key][0] += (not said) if row["unanswerable"] else holds
                tally[key][1] += 1
                if row["set"] in REGION and not row["unanswerable"]:
                    langs[(row["set"], row["lang"])] += holds
            cells = [f"{100 * tally[s][0] / tally[s][1]:.1f}" if tally[s][1] else "" for s in sets]
            cells += [f"{tally[s][0] / tally[s][1]:.3f}" if tally[s][1] else "" for s in refused]
            region = " / ".join(str(langs[("news-region", lang)]) for lang in LANGS)
            x2en = " / ".join(str(langs[("news-region-x2en", lang)]) for lang in LANGS[1:])
            print(f"| {name} | {floor:g} / {cross:g} | " + " | ".join(cells), end="")
            print(f" | {region} | {x2en} |")


def veto(rows_path: Path, across_path: Path) -> None:
    """The table of `veto` (module docstring): per SURE and VETO, answer@1 and declines."""
    mine = {(r["set"], r["unanswerable"], r["id"]): r for r in _rows(rows_path)}
    theirs = {(r["set"], r["unanswerable"], r["id"]): r for r in _rows(across_path)}
    keys = [k for k in theirs if k in mine]
    names = sorted({k[0] + ("!" if k[1] else "") for k in keys})
    print("| sure | veto | " + " | ".join(names) + " |")
    print("|---" * (2 + len(names)) + "|")
    for sure, least in [(None, None)] + [(s, v) for s in (1.0, 4.0) for v in (-4.0, -2.0, 0.0)]:
        tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for key in keys:
            said, holds = outcome(mine[key], -2.0, 3.0, 0.0, 4.0, 0.0)
            first, its = mine[key]["passages"][0], theirs[key]["passages"][0]
            unsure = not first["across"] and first.get("score") is not None
            vetoed = its.get("score") is None or its["score"] < (least or 0.0)
            if said and sure is not None and unsure and first["score"] < sure and vetoed:
                said, holds = False, False
            name = key[0] + ("!" if key[1] else "")
            tally[name][0] += (not said) if key[1] else holds
            tally[name][1] += 1
        cells = [
            f"{tally[n][0] / tally[n][1]:.3f}"
            if n.endswith("!")
            else f"{100 * tally[n][0] / tally[n][1]:.1f}"
            for n in names
        ]
        label = "off | off" if sure is None else f"{sure:g} | {least:g}"
        print(f"| {label} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    c = commands.add_parser("collect")
    c.add_argument("root", type=Path, help="the folder holding the evaluation sets")
    c.add_argument("--limit", type=int, default=200)
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--reader", choices=["within", "across"], default="within")
    c.add_argument(
        "--jobs",
        nargs="+",
        default=[],
        help="only these question sets (a set against an unanswerable corpus: NAME!), e.g. the "
        "ones across languages for --reader across: news-region news-region-x2en "
        "xquad-ru2en news-region! xquad-ru!",
    )
    r = commands.add_parser("report")
    r.add_argument("files", type=Path, nargs="+")
    r.add_argument("--match", type=float, default=0.0)
    r.add_argument("--across", type=Path, help="rows collected with --reader across")
    r.add_argument("--cross-threshold", type=float, nargs="+", default=[0.0])
    r.add_argument("--threshold", type=float, default=0.0, help="in one language (the card's)")
    r.add_argument(
        "--floors",
        default="",
        help='pairs FLOOR/CROSS_FLOOR to replay, "--floors=-2/3,-1/2" (default: six near -2/3)',
    )
    r.add_argument(
        "--rescue",
        default="",
        help="A/W: a later passage scoring A across languages or W in one answers where the "
        "first declines (measured, not shipped)",
    )
    v = commands.add_parser("veto")
    v.add_argument("rows", type=Path, help="rows collected with --reader within")
    v.add_argument("across", type=Path, help="the same sets collected with --reader across")
    args = parser.parse_args()
    if args.command == "veto":
        veto(args.rows, args.across)
    elif args.command == "collect":
        collect(args.root.resolve(), args.limit, args.out, args.reader, args.jobs)
    else:
        floors = [
            (float(a), float(b))
            for a, b in (f.split("/") for f in args.floors.replace(",", " ").split())
        ] or FLOORS
        rescue = tuple(float(x) for x in args.rescue.split("/")) if args.rescue else None
        report(
            args.files,
            args.match,
            args.across,
            args.cross_threshold,
            args.threshold,
            floors,
            (rescue[0], rescue[1]) if rescue else None,
        )


if __name__ == "__main__":
    main()
