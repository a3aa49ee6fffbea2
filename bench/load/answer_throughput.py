"""How many questions a second `Retriever.answer_many` answers in process, as the bot's model
thread answers a batch of waiting questions: the ceiling the bot's load benchmark cannot pass.

    python bench/load/answer_throughput.py ../shared/eval [--set news-region-x2en]
        [--batch 16 32] [--follow-ups] [--slack 1e9 0.05] [--repeats 2]

The set's questions, twice in a seeded order, answered `--batch` at a time (the bot's batches are
up to 32: `bot.service.MAX_BATCH`). With `--follow-ups` every question is asked in a
conversation, after another question of the set and its answer, as in `bench_load.py`'s open
loop (each chat is asked again within ~10 s, so after its first round every question is a
follow-up). `--slack` bounds a reader run's padding (`runtime.runs`; 1e9: runs of 8 whatever
their lengths, as before the fifteenth stop); every setting runs once a round, in turn. Prints
the median questions a second of each, and the pairs read and their tokens a question.
`KHABAR_READER_PRECISION` and the other settings come from the environment, as for the bot.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from index.answer.followup import Context  # noqa: E402
from index.evaluate import load_questions, prepare  # noqa: E402
from index.reader import runtime  # noqa: E402
from index.settings import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path, help="the folder holding the evaluation sets")
    parser.add_argument("--set", default="news-region-x2en")
    parser.add_argument("--batch", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--follow-ups", action="store_true")
    parser.add_argument("--slack", type=float, nargs="+", default=[1e9, runtime.PAD_SLACK])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    folder = args.root / args.set
    retriever = prepare(Settings(reader="on"), folder / "corpus")
    questions = [q.question for q in load_questions(folder / "questions.jsonl")]
    order = questions * 2
    random.Random(1).shuffle(order)
    retriever.answer_many(order[:4])  # the sessions opened and warm
    contexts: list[Context | None] = [None] * len(order)
    if args.follow_ups:
        before = order[-1:] + order[:-1]
        contexts = [Context.after(p, retriever.answer(p)) for p in before]

    counted = {"pairs": 0, "tokens": 0}
    logits = runtime.OnnxReader.logits

    def counting(self: runtime.OnnxReader, pairs):  # type: ignore[no-untyped-def]
        counted["pairs"] += len(pairs)
        counted["tokens"] += sum(len(p.ids) for p in pairs)
        return logits(self, pairs)

    runtime.OnnxReader.logits = counting  # type: ignore[method-assign]
    rates: dict[tuple[int, float], list[float]] = {}
    for _ in range(args.repeats):
        for batch in args.batch:
            for slack in args.slack:
                runtime.OnnxReader.pad_slack = slack
                counted.update(pairs=0, tokens=0)
                start = time.perf_counter()
                for begin in range(0, len(order), batch):
                    end = begin + batch
                    retriever.answer_many(order[begin:end], None, contexts[begin:end])
                rates.setdefault((batch, slack), []).append(
                    len(order) / (time.perf_counter() - start)
                )
    n = len(order)
    print(
        f"{args.set}, {n} questions{', every one a follow-up' if args.follow_ups else ''}; "
        f"{counted['pairs'] / n:.2f} pairs, {counted['tokens'] / n:.0f} tokens read a question"
    )
    for (batch, slack), got in rates.items():
        print(
            f"batches of {batch}, slack {slack:g}: {statistics.median(got):.1f} questions a "
            f"second (runs: {', '.join(f'{x:.1f}' for x in got)})"
        )


if __name__ == "__main__":
    main()
