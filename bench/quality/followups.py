"""Follow-up questions: answer@1 of the second question of a conversation, with and without
what the first one was about, per language; and questions on a new subject asked after another
question, which must be answered as if asked alone.

    python bench/quality/followups.py ../shared/eval [--pairs bench/quality/followups.jsonl]
        [--out bench/results/followups.json]

The corpus is `news-region`'s (each document in six languages) plus Khabar's seed article.
`followups.jsonl` holds 55 conversations in en, ru, az, kk and tr: a first question (news-region's
own, or one about the seed article) and a follow-up written for it ("And when did he die?"),
with the follow-up's answers; for 10 of them the article does not say ("How many member states
does it have?"), and the follow-up should be declined. The new-subject check asks each of
news-region's questions after the question before it in the set about another article, in the
same language.

Each follow-up is timed `--rounds` times, in process (p50 / p95 ms; write the CPU beside them).
Strategies, each given the first question and the article its answer showed first:
- `alone`: the follow-up as if asked alone (what Khabar did before);
- `shipped`: `Retriever.answer(question, context=...)`, what the bot does now;
- `within`: the follow-up answered within the first answer's article only (as /follow's
  alerts are: the reader's "no answer here" does not rule a passage out);
- `carry`: searched with the first question's text before it, read and decided on its own;
- `within-if-declined`, `carry-if-declined`: alone, unless alone finds nothing;
- `carry-by-reader`, `within-by-reader`: alone and the other both, the one whose passage the
  reader trusts more (what `shipped` does, but for reading twice when both lead to the same
  passage);
- `carry-if-declined-floor-N`: carried answers in the question's language declined under a
  reader score of N.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from index.answer import Answer, Context, Retriever  # noqa: E402
from index.answer.decision import across_languages, decide  # noqa: E402
from index.evaluate import contains_answer, prepare  # noqa: E402
from index.settings import Settings  # noqa: E402

Strategy = Callable[[Retriever, str, Context | None], Answer]


def alone(r: Retriever, question: str, context: Context | None) -> Answer:
    return r.answer(question)


def shipped(r: Retriever, question: str, context: Context | None) -> Answer:
    return r.answer(question, context=context)


def within(r: Retriever, question: str, context: Context | None) -> Answer:
    if context is None or context.article_id is None:
        return r.answer(question)
    return r.answer_within(question, {context.article_id})


def carry(r: Retriever, question: str, context: Context | None) -> Answer:
    if context is None:
        return r.answer(question)
    carried = f"{context.question} {question}"
    hits = r.search_vector(carried, r.encode([carried])[0])
    if r.reader is not None and hits:
        hits = r.reader.read(question, hits, r.rule)
    return decide(question, hits, r.rule)


def floored(strategy: Strategy, floor: float) -> Strategy:
    """`strategy`'s answer, declined when its shown passage is in the question's language and
    the reader scores it under `floor` (across languages its scores mean less: docs/reader.md)."""

    def run(r: Retriever, question: str, context: Context | None) -> Answer:
        got = strategy(r, question, context)
        if not got.found:
            return got
        hit = got.shown[0]
        same_language = not across_languages(question, hit)
        if hit.reader_score is not None and same_language and hit.reader_score < floor:
            return dataclasses.replace(got, found=False, shown=[])
        return got

    return run


def if_declined(strategy: Strategy) -> Strategy:
    def run(r: Retriever, question: str, context: Context | None) -> Answer:
        first = r.answer(question)
        return first if first.found else strategy(r, question, context)

    return run


def by_reader(strategy: Strategy) -> Strategy:
    """Alone and `strategy` both; the one whose shown passage the reader trusts more (the
    same question read in both, so its scores compare), alone on a tie."""

    def run(r: Retriever, question: str, context: Context | None) -> Answer:
        first = r.answer(question)
        other = strategy(r, question, context)
        if not other.found:
            return first
        if not first.found:
            return other
        mine, theirs = first.shown[0].reader_score, other.shown[0].reader_score
        if mine is None or theirs is None:
            return other if other.shown[0].score > first.shown[0].score else first
        return other if theirs > mine else first

    return run


STRATEGIES: dict[str, Strategy] = {
    "alone": alone,
    "shipped": shipped,
    "within": within,
    "carry": carry,
    "within-if-declined": if_declined(within),
    "carry-if-declined": if_declined(carry),
    "carry-by-reader": by_reader(carry),
    "carry-if-declined-floor-6": if_declined(floored(carry, -6.0)),
    "carry-if-declined-floor-4": if_declined(floored(carry, -4.0)),
    "carry-if-declined-floor-2": if_declined(floored(carry, -2.0)),
    "within-by-reader": by_reader(within),
}


def answered(answer: Answer, answers: list[str]) -> bool:
    return answer.found and contains_answer(answer.shown[0].excerpt, answers)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path, help="the folder holding the evaluation sets")
    parser.add_argument("--pairs", type=Path, default=ROOT / "bench/quality/followups.jsonl")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/followups.json")
    parser.add_argument("--only", nargs="*", help="only these strategies")
    parser.add_argument("--rounds", type=int, default=3, help="times each follow-up is timed")
    args = parser.parse_args()
    rounds = args.rounds
    pairs = [json.loads(line) for line in args.pairs.read_text(encoding="utf-8").splitlines()]
    region = [
        json.loads(line)
        for line in (args.root / "news-region/questions.jsonl").read_text().splitlines()
    ]
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(args.root / "news-region/corpus", corpus)
        for path in (ROOT / "corpus").rglob("*.md"):
            shutil.copy(path, corpus / path.name)
        retriever = prepare(Settings(), corpus)
        first_answers = {p["id"]: retriever.answer(p["first"]) for p in pairs}
        results: dict[str, dict[str, object]] = {}
        for name, strategy in STRATEGIES.items():
            if args.only and name not in args.only:
                continue
            started = time.perf_counter()
            per_lang: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            declined = unanswerable = 0
            done: list[dict[str, object]] = []  # each conversation counted once
            took: list[float] = []
            for p in pairs * rounds:
                context = Context.after(p["first"], first_answers[p["id"]])
                asked = time.perf_counter()
                got = strategy(retriever, p["question"], context)
                took.append((time.perf_counter() - asked) * 1000)
                if p in done:
                    continue
                done.append(p)
                if not p["answers"]:  # the article does not say: the follow-up is declined
                    unanswerable += 1
                    declined += not got.found
                    continue
                per_lang[p["lang"]][0] += answered(got, p["answers"])
                per_lang[p["lang"]][1] += 1
            # A new subject: each set question after the one before it (another article).
            changed = same_ok = alone_ok = 0
            by_lang: dict[str, list[dict[str, str]]] = defaultdict(list)
            for q in region:
                by_lang[q["id"].rsplit("-", 1)[1]].append(q)
            for questions in by_lang.values():
                for before, q in itertools.pairwise(questions):
                    if before["article"] == q["article"]:
                        continue
                    asked_before = retriever.answer(before["question"])
                    context = Context.after(before["question"], asked_before)
                    got = strategy(retriever, q["question"], context)
                    ref = retriever.answer(q["question"])
                    a, b = answered(got, q["answers"]), answered(ref, q["answers"])
                    same_ok += a
                    alone_ok += b
                    changed += (got.found, got.shown[0].excerpt if got.found else "") != (
                        ref.found,
                        ref.shown[0].excerpt if ref.found else "",
                    )
            total = sum(n for _, n in per_lang.values())
            results[name] = {
                "followup_answer@1": round(100 * sum(k for k, _ in per_lang.values()) / total, 1),
                "per_language": {lang: f"{k}/{n}" for lang, (k, n) in sorted(per_lang.items())},
                "unanswerable_declined": f"{declined}/{unanswerable}",
                "new_subject_answer@1": same_ok,
                "new_subject_answer@1_alone": alone_ok,
                "new_subject_changed": changed,
                "followup_p50_ms": round(statistics.median(took), 1),
                "followup_p95_ms": round(sorted(took)[int(0.95 * (len(took) - 1))], 1),
                "seconds": round(time.perf_counter() - started, 1),
            }
            print(name, json.dumps(results[name], ensure_ascii=False), flush=True)
        firsts = defaultdict(lambda: [0, 0])
        for p in pairs:
            if not p["answers"]:
                continue
            firsts[p["lang"]][0] += answered(first_answers[p["id"]], p["first_answers"])
            firsts[p["lang"]][1] += 1
        summary = {
            "pairs": len(pairs),
            "first_answer@1": {lang: f"{k}/{n}" for lang, (k, n) in sorted(firsts.items())},
            "strategies": results,
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(summary["first_answer@1"]))
    print(
        "\n| strategy | follow-ups answer@1 | "
        + " | ".join(sorted(firsts))
        + " | unanswerable declined | new subject answered (alone) | new subject changed"
        + " | p50 / p95 ms |"
    )
    print("|---" * (len(firsts) + 6) + "|")
    for name, row in results.items():
        langs = row["per_language"]
        assert isinstance(langs, dict)
        print(
            f"| {name} | {row['followup_answer@1']} | "
            + " | ".join(str(langs[lang]) for lang in sorted(firsts))
            + f" | {row['unanswerable_declined']}"
            + f" | {row['new_subject_answer@1']} ({row['new_subject_answer@1_alone']}) | "
            f"{row['new_subject_changed']} | {row['followup_p50_ms']} / {row['followup_p95_ms']} |"
        )


if __name__ == "__main__":
    main()
