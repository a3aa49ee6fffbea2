"""Message-to-reply latency through the local Bot API server, and the test fixture's cost.

    python bench/load/bench_chat.py [--corpus DIR] [--questions FILE.jsonl] [-n 100] [--out FILE]

Builds (or reuses) an index of the corpus (default: the shipped corpus/), starts the test
server and the real Application in-process as the tests do, asks questions one at a time
from a private chat and times each from the user's message to the bot's reply.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import read_questions, save_and_print  # noqa: E402
from bot.testserver.client import ChatRef, User  # noqa: E402
from index.answer.retriever import Retriever  # noqa: E402
from index.backends.choose import build_index  # noqa: E402
from index.settings import Settings  # noqa: E402
from tests.botharness import running_bot  # noqa: E402

DEFAULT_QUESTIONS = [
    "When was the Organization of Turkic States founded?",
    "Where was the 12th Summit of the OTS held?",
    "What anniversary will be celebrated next year?",
    "Which organizations does Azerbaijan cooperate with?",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


async def measure(settings: Settings, questions: list[str], n: int) -> dict[str, float]:
    retriever = Retriever(settings)
    retriever.search("warm up")
    starts, stops, latencies = [], [], []
    for _ in range(5):
        began = time.perf_counter()
        async with running_bot(settings, retriever) as tg:
            starts.append(tg.startup_s)
            ending = time.perf_counter()
        stops.append(time.perf_counter() - ending)
        del began
    async with running_bot(settings, retriever) as tg:
        user, chat = User(1), ChatRef(1)
        for i in range(n):
            question = questions[i % len(questions)]
            began = time.perf_counter()
            sent = await tg.client.say(chat, user, question)
            replies, _ = await tg.client.replies(chat.id, sent["seq"], wait=30)
            assert replies, question
            latencies.append((time.perf_counter() - began) * 1000)
    return {
        "questions": n,
        "reply_p50_ms": round(statistics.median(latencies), 1),
        "reply_p95_ms": round(percentile(latencies, 0.95), 1),
        "fixture_start_median_ms": round(statistics.median(starts) * 1000, 1),
        "fixture_stop_median_ms": round(statistics.median(stops) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--questions", type=Path)
    parser.add_argument("-n", type=int, default=100)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/chat.json")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="khabar-chat-"))
    settings = Settings(
        _env_file=None,
        corpus_dir=args.corpus,
        index_dir=work / "index",  # type: ignore[call-arg]
        data_dir=work / "data",
        models_dir=Settings().model_cache,  # the converted/exported models, made once
        answers_per_minute=100_000,
    )
    build_index(settings)
    questions = read_questions(args.questions, DEFAULT_QUESTIONS)
    result = asyncio.run(measure(settings, questions, args.n))
    save_and_print(dict(result), args.out)


if __name__ == "__main__":
    main()
