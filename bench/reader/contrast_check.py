"""Whose answer is it? The country check (`index/reader/contrast.py`) measured on the training
material, not on the development sets:

    python bench/reader/contrast_check.py ../shared/train [--held-back] [--years] [--out FILE]
    python bench/reader/contrast_check.py --replay FILE    # the tables again, from FILE
    python bench/reader/contrast_check.py --cost           # its time, on the shipped corpus

Every question of `spans.jsonl` (English and Turkish), AfriQA's English translations and the
NTREX number questions in all 36 pairings of the six languages (`cross.number_rows`) that names
one country its passage names beside another, or holds one year its passage holds beside
another, is an *answerable* case; the same question with its country (its year) swapped for
the passage's other one ("Kazakhstan" -> "Azerbaijan", "2004" -> "2006") is an *unanswerable*
twin (the passage answers for the other one). The shipped reader reads each, and the
questions `contrast.contrasts` makes from it; then, for each margin, among the cases the reader
answers (score at least -2, the floor in one language): the share of unanswerable twins the
check catches and of answerable questions it loses, by source and by the question's language.

The reader was trained on these rows (all but one document or title in twenty; `--held-back`
keeps only those, too few to say much), and on some of their swapped twins, so its scores on
them are surer than on news it never saw: read the losses as a lower bound.

Every answer is also checked by a rule that reads no question (measured, not shipped: the
table after the margins' one): the answer's own title names another country, the nearest country
in the WINDOW words before it in its sentence not being the one asked about ("President of the
Republic of Azerbaijan Ilham Aliyev" for Kazakhstan's president).

`--years` measures the same check for a year the question holds and the passage holds beside
others ("the 2004 tsunami" also asked as "the 2011 tsunami"): measured, not shipped
(docs/reader.md, "Whose answer is it?").
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

MARGINS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
ANSWERED = -2.0  # the reader's floor in one language: cases under it are declined anyway


# A year as `kinds` reads one: four digits from 1000 to 2099, not inside a longer number.
YEAR = re.compile(r"(?<![\d.,])(?:1[0-9]{3}|20[0-9]{2})(?![\d]|[.,]\d)")


def years(question: str, passage: str) -> list[str]:
    """Measured, not shipped: the question asked about each other year the passage holds (the
    nearest first, at most two), when the question holds one year the passage holds too."""
    asked = set(YEAR.findall(question))
    if len(asked) != 1:
        return []
    year = asked.pop()
    held = dict.fromkeys(YEAR.findall(passage))
    if year not in held:
        return []
    others = sorted((y for y in held if y != year), key=lambda y: (abs(int(y) - int(year)), y))
    return [_with_year(question, year, new) for new in others[:2]]


WINDOWS = (2, 3, 4, 6, 8)
SENTENCE_END = re.compile(r"[.!?]\s|\n")


def titled_at(question: str, q_lang: str, passage: str, p_lang: str, start: int) -> int | None:
    """The smallest of WINDOWS at which the title rule refutes the answer starting at `start`:
    the words before it in its sentence name a country, and the nearest such words within the
    window name another one than the question, which they do not name (None: at none)."""
    from index.reader import swaps

    if p_lang not in swaps.LANGS:
        return None
    order = ([q_lang] if q_lang in swaps.LANGS else []) + [x for x in swaps.LANGS if x != q_lang]
    asked = next(
        (a for lang in order if (a := swaps.countries_in(question, lang, True, any_case=True))),
        [],
    )
    if len(asked) != 1:
        return None
    cut = max((m.end() for m in SENTENCE_END.finditer(passage, 0, start)), default=0)
    words = passage[cut:start].split()
    for window in WINDOWS:
        named = swaps.countries_in(" ".join(words[-window:]), p_lang)
        if named:
            return None if asked[0] in named else window
    return None


def _with_year(question: str, old: str, new: str) -> str:
    return YEAR.sub(lambda m: new if m.group() == old else m.group(), question)


def checked(question: str, q_lang: str, passage: str, p_lang: str, with_years: bool) -> list[str]:
    """The questions the check reads: the shipped country contrasts, and with `with_years` the
    year ones."""
    from index.reader import contrast

    made = contrast.contrasts(question, q_lang, passage, p_lang)
    return made + (years(question, passage) if with_years else [])


def cases(train: Path, held_only: bool, with_years: bool) -> list[dict[str, Any]]:
    from index.reader import contrast, cross
    from index.reader.examples import held_back, held_out, read_rows

    rows: list[tuple[str, str, str, str, str]] = []
    for r in read_rows(train / "spans.jsonl"):
        if r.lang in ("en", "tr") and (not held_only or held_out(r)):
            rows.append(("spans", r.question, r.lang, r.context, r.lang))
    for a in cross._read_jsonl(train / "cross" / "afriqa.jsonl"):
        if a.get("context_lang") == "en" and (not held_only or held_back(f"afriqa-{a['title']}")):
            rows.append(("afriqa", str(a["question_en"]), "en", str(a["context"]), "en"))
    docs = cross.ntrex_documents(train / "parallel" / "ntrex.jsonl")
    docs = {d: lines for d, lines in docs.items() if not held_only or held_back(d)}
    for c in cross.number_rows(docs, random.Random(7), pairings=36):
        if c.kind == "number":
            rows.append(("ntrex", c.question, c.q_lang, c.context, c.p_lang))
    out = []
    for source, question, q_lang, passage, p_lang in rows:
        twins = [
            ("country", contrast.contrasts(question, q_lang, passage, p_lang)),
            ("year", years(question, passage) if with_years else []),
        ]
        twins = [(entity, made) for entity, made in twins if made]
        if not twins:
            continue
        common = dict(source=source, ql=q_lang, pl=p_lang, p=passage)
        out.append({**common, "entity": twins[0][0], "q": question, "answerable": True})
        # its twins: the country (the year) swapped for the passage's other one, which the
        # passage answers for
        out += [{**common, "entity": e, "q": made[0], "answerable": False} for e, made in twins]
    return out


def read(found: list[dict[str, Any]], with_years: bool) -> list[dict[str, Any]]:
    from index.answer.reading import ReaderStage
    from index.settings import Settings

    reader = ReaderStage.from_settings(Settings(reader="on")).reader  # type: ignore[call-arg]
    out = []
    for case in found:
        others = checked(case["q"], case["ql"], case["p"], case["pl"], with_years)
        readings = reader.read_pairs([(case["q"], case["p"])] + [(o, case["p"]) for o in others])
        first = readings[0]
        if first is None:
            continue
        out.append(
            {
                **{k: v for k, v in case.items() if k != "p"},
                "score": first.score,
                "span": [first.start, first.end],
                "caught_at": _caught_at(first, readings[1:], case["p"]),
                "titled_at": titled_at(case["q"], case["ql"], case["p"], case["pl"], first.start),
            }
        )
    return out


def _caught_at(first: Any, others: list[Any], passage: str) -> float | None:
    """The largest margin at which the check refutes the answer (None: at none of MARGINS)."""
    from index.reader import contrast

    caught = [m for m in MARGINS if contrast.refuted(first, others, m, passage)]
    return max(caught) if caught else None


def report(rows: list[dict[str, Any]]) -> None:
    answered = [r for r in rows if r["score"] >= ANSWERED]
    print(f"{len(rows)} cases, {len(answered)} answered by the reader (score >= {ANSWERED})\n")
    print("| margin | twins caught | answerable lost | " + " | ".join(_groups(answered)) + " |")
    print("|---" * (3 + len(_groups(answered))) + "|")
    for m in MARGINS:
        tally: Counter[tuple[str, ...]] = Counter()
        for r in answered:
            fired = r["caught_at"] is not None and r["caught_at"] >= m
            for key in (("all",), (r["source"],), (r["entity"],), ("lang", r["ql"])):
                kind = ("twin",) if not r["answerable"] else ("ans",)
                tally[kind + key + ("n",)] += 1
                tally[kind + key + ("fired",)] += fired
        cells = [f"{_share(tally, 'twin', 'all')}", f"{_share(tally, 'ans', 'all')}"]
        for group in _groups(answered):
            key = tuple(group.split(" ")) if group.startswith("lang") else (group,)
            cells.append(f"{_share(tally, 'twin', *key)} / {_share(tally, 'ans', *key)}")
        print(f"| {m:g} | " + " | ".join(cells) + " |")
    print("\n(by source and language: twins caught / answerable lost)")
    if all("titled_at" in r for r in answered):
        print("\n| title rule, window | twins caught | answerable lost | with the check at 1 |")
        print("|---|---|---|---|")
        for w in WINDOWS:
            titles: Counter[str] = Counter()
            for r in answered:
                side = "ans" if r["answerable"] else "twin"
                title = r["titled_at"] is not None and r["titled_at"] <= w
                check = r["caught_at"] is not None and r["caught_at"] >= 1.0
                titles[side] += 1
                titles[side + " title"] += title
                titles[side + " either"] += title or check
            print(
                f"| {w} | {titles['twin title']}/{titles['twin']} | {titles['ans title']}/"
                f"{titles['ans']} | {titles['twin either']}/{titles['twin']}, "
                f"{titles['ans either']}/{titles['ans']} |"
            )


def _groups(rows: list[dict[str, Any]]) -> list[str]:
    sources = sorted({r["source"] for r in rows})
    entities = sorted({r["entity"] for r in rows})
    langs = sorted({r["ql"] for r in rows})
    return sources + entities + [f"lang {lang}" for lang in langs]


def _share(tally: Counter[tuple[str, ...]], kind: str, *key: str) -> str:
    n = tally[(kind, *key, "n")]
    return f"{tally[(kind, *key, 'fired')]}/{n}" if n else "-"


COST_QUESTIONS = (
    "Who is the president of Kazakhstan?",  # checked (and refuted)
    "Кто является президентом Азербайджана?",  # checked (and kept)
    "When was the Organization of Turkic States founded?",  # not checked
)


def cost(runs: int = 30) -> None:
    """`Retriever.answer`'s time on the shipped corpus with the check on and off (the two
    settings alternated in one process): medians of `runs`."""
    import statistics
    import time

    from index.answer.retriever import Retriever
    from index.evaluate import prepare
    from index.settings import Settings

    on = prepare(Settings(reader="on"), ROOT / "corpus")  # type: ignore[call-arg]
    off = Retriever(
        on.settings.with_overrides(reader_contrast_margin=float("inf")), embedder=on.embedder
    )
    for question in COST_QUESTIONS:
        times: dict[str, list[float]] = {"off": [], "on": []}
        for _ in range(3):
            on.answer(question), off.answer(question)
        for i in range(runs):
            pair = [("off", off), ("on", on)]
            for name, retriever in pair if i % 2 else pair[::-1]:
                started = time.perf_counter()
                retriever.answer(question)
                times[name].append((time.perf_counter() - started) * 1000)
        checked = on.answer(question).hits[0].contrast
        print(
            f"{question[:50]:50}  off {statistics.median(times['off']):6.1f} ms"
            f"  on {statistics.median(times['on']):6.1f} ms  refuted by: {checked}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("train", type=Path, nargs="?", help="../shared/train")
    parser.add_argument("--held-back", action="store_true", help="only held-back rows")
    parser.add_argument(
        "--years", action="store_true", help="also a year's contrasts (measured, not shipped)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/contrast-check.jsonl")
    parser.add_argument("--replay", type=Path, help="report the rows of an earlier run")
    parser.add_argument("--cost", action="store_true", help="time the check on the seed corpus")
    args = parser.parse_args()
    if args.cost:
        cost()
        return
    if args.replay:
        rows = [json.loads(line) for line in args.replay.open(encoding="utf-8")]
    else:
        if args.train is None:
            parser.error("give ../shared/train, or --replay FILE")
        rows = read(cases(args.train, args.held_back, args.years), args.years)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    report(rows)


if __name__ == "__main__":
    main()
