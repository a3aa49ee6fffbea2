"""In-process question time with the reader on and off, ONNX Runtime's thread spinning on and
off, measured in one run (rounds interleaved) on an evaluation set's questions.

    python bench/load/bench_spin.py ../shared/eval/realtimeqa-dev [--questions 200] [--rounds 3]

One question at a time (p50/p95 ms, as a reader alone waits) and in batches of 8 (ms per
question, as the bot answers when busy). Spinning is what `open_session(spin=...)` decides,
here for the encoder's session and the reader's alike; the shipped choice is spinning only
when the encoder runs alone (reader off), and never for the reader.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from index.answer.retriever import Retriever
from index.evaluate import eval_settings, prepare
from index.model.embedder import Embedder
from index.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("set", type=Path, help="an evaluation set (corpus/, questions.jsonl)")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    lines = (args.set / "questions.jsonl").read_text("utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()][: args.questions]
    prepare(Settings(), args.set / "corpus")  # the cached index, built once
    retrievers = {}
    for reader in ("off", "on"):
        for spin in (True, False):
            settings = eval_settings(Settings(reader=reader), args.set / "corpus")
            retriever = Retriever(settings, Embedder.from_settings(settings, spin=spin))
            if retriever.reader is not None:
                retriever.reader.reader.spin = spin  # before its session opens
            retriever.answer_many(questions[:8])  # sessions loaded and warm
            retrievers[(reader, spin)] = retriever
    single: dict[tuple[str, bool], list[float]] = {key: [] for key in retrievers}
    batched: dict[tuple[str, bool], list[float]] = {key: [] for key in retrievers}
    for _ in range(args.rounds):
        for key, retriever in retrievers.items():
            for question in questions:
                started = time.perf_counter()
                retriever.answer(question)
                single[key].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            for i in range(0, len(questions), 8):
                retriever.answer_many(questions[i : i + 8])
            batched[key].append((time.perf_counter() - started) * 1000 / len(questions))
    print("reader  spin  p50_ms  p95_ms  batch8_ms_per_question")
    for (reader, spin), times in single.items():
        times.sort()
        p95 = times[int(0.95 * (len(times) - 1))]
        print(
            f"{reader:6}  {'on' if spin else 'off':4}  {statistics.median(times):6.1f}  "
            f"{p95:6.1f}  {statistics.median(batched[(reader, spin)]):6.1f}"
        )


if __name__ == "__main__":
    main()
