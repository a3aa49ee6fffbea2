"""The bot as deployed, under load, through the local Bot API server; and its start-up.

    python bench/load/bench_load.py CORPUS [--questions QUESTIONS.jsonl] [--chats 100]
        [--total 2000] [--index-dir DIR] [--max-rate 1000] [--out bench/results/load.json]

Builds the index of CORPUS into --index-dir (kept and reused across runs), starts the test
server in this process and `khabar bot` as a separate process pointed at it (a real token-shaped
token, the real Application, long polling over HTTP), then measures:
- start-up: from launching `khabar bot` to its first getUpdates call, and to its first answer;
- resident memory of the bot process with the index loaded, after the load;
- load: `--chats` private chats ask at once, each asking its next question as soon as the
  previous one is answered, `--total` questions in all: answers per second, p50/p99
  message-to-reply time, that every question got exactly one reply, and that each reply is
  the one this process computes for that question (same index, same model, rendered alike);
- memory over the run: the bot's resident memory sampled every half second; growth is the
  median of the last quarter of the run minus that of the first quarter.
Telegram itself allows about 30 messages per second; the local server has no flood limit, so
KHABAR_TELEGRAM_MAX_RATE is raised to --max-rate to measure Khabar's own capacity.

With `--open-loop 10 20 30` it measures replies on time instead: questions arrive at a fixed
offered rate (Poisson arrivals, each in a chat of its own turn, whatever the bot's pace) for
`--seconds` each, with Telegram's own send limit on (`--max-rate 30` unless given); for each
rate, p50/p99 from message to reply, the replies a second from its first question to its last
reply (`served_per_s`: what the bot answers where it does not keep up; run one rate a run to
read it, as a rate starts with the queue the one before left), and the highest rate held with
p99 under one second.
The closed-loop figures above measure the queue more than Khabar: a chat asks again only when
answered, so the offered load follows the bot's speed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import read_questions, save_and_print  # noqa: E402
from bot.testserver.client import ChatRef, ControlClient, User  # noqa: E402
from bot.testserver.server import TestServer  # noqa: E402

TOKEN = "123456:LOAD-benchmark-token-not-secret"
FALLBACK = ["When was the Organization of Turkic States founded?", "What is the OTS?"]


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def first_poll(server: TestServer, timeout: float = 120) -> float:
    """When the bot's first getUpdates arrived. (The server's call log records a long poll when
    it ends, up to 10 s later: waiting for that is what made the first answer look 10 s slow.)"""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.world.poller > 0:  # a getUpdates has arrived and is waiting
            return time.time()
        await asyncio.sleep(0.005)
    raise SystemExit(f"no getUpdates call within {timeout} s")


async def chat_worker(
    client: ControlClient,
    chat_no: int,
    questions: list[str],
    latencies: list[float],
    expected: dict[str, str],
) -> tuple[int, int, int]:
    """Ask questions in one private chat, one after another; (asked, replies, wrong replies)."""
    user, chat = User(10_000 + chat_no), ChatRef(10_000 + chat_no)
    replies_seen = wrong = 0
    for question in questions:
        began = time.perf_counter()
        sent = await client.say(chat, user, question)
        replies, _ = await client.replies(chat.id, sent["seq"], wait=60)
        if not replies:
            raise SystemExit(f"chat {chat.id}: no reply to {question!r}")
        latencies.append((time.perf_counter() - began) * 1000)
        replies_seen += len(replies)
        if question in expected and replies[0]["text"].strip() != expected[question]:
            wrong += 1
    return len(questions), replies_seen, wrong


async def open_loop(
    client: ControlClient,
    rate: float,
    seconds: float,
    questions: list[str],
    expected: dict[str, str],
    seed: int = 20,
) -> dict[str, object]:
    """Questions offered at `rate` per second (Poisson arrivals) for `seconds`; each in the
    next of many chats (one question per chat at a time, as Telegram's per-chat limit wants)."""
    import random

    rng = random.Random(seed + int(rate))
    latencies: list[float] = []
    last_reply = 0.0
    missing = wrong = 0
    chats = max(64, int(rate * 10))  # a chat is asked again only after ~10 s

    async def ask(n: int, question: str, at: float) -> None:
        nonlocal missing, wrong, last_reply
        chat = ChatRef(40_000 + n % chats)
        try:
            sent = await client.say(chat, User(chat.id), question)
            replies, _ = await client.replies(chat.id, sent["seq"], wait=60)
        except httpx.HTTPError:  # the harness itself overwhelmed: this rate is not held
            replies = []
        if not replies:
            missing += 1
            return
        replied = time.perf_counter()
        last_reply = max(last_reply, replied)
        latencies.append((replied - at) * 1000)
        if question in expected and replies[0]["text"].strip() != expected[question]:
            wrong += 1

    tasks = []
    began = next_at = time.perf_counter()
    n = 0
    while next_at - began < seconds:
        delay = next_at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(ask(n, questions[n % len(questions)], next_at)))
        n += 1
        next_at += rng.expovariate(rate)
    await asyncio.gather(*tasks)
    latencies.sort()
    p99 = latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("inf")
    return {
        "offered_per_s": rate,
        "asked": n,
        "answered": len(latencies),
        "missing": missing,
        "wrong": wrong,
        "reply_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "reply_p99_ms": round(p99, 1),
        # Replies a second from the first question to the last reply: the offered rate where
        # the bot keeps up, what it can answer where it does not (its queue's p50 and p99 then
        # depend on how long the run lasts).
        "served_per_s": round(len(latencies) / (last_reply - began), 2) if latencies else 0.0,
        "held": missing == 0 and p99 < 1000,
    }


async def sample_rss(pid: int, samples: list[float], every: float = 0.5) -> None:
    while True:
        samples.append(rss_mib(pid))
        await asyncio.sleep(every)


def expected_replies(env: dict[str, str], questions: list[str]) -> dict[str, str]:
    """Each distinct question's reply, computed here before the bot starts (same settings)."""
    from index.settings import Settings
    from tests.botharness import expected_text

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        from index.answer.retriever import Retriever

        retriever = Retriever(Settings())
        return {q: expected_text(retriever, q) for q in dict.fromkeys(questions)}
    finally:
        os.environ.clear()
        os.environ.update(saved)


async def measure(
    args: argparse.Namespace, env: dict[str, str], questions: list[str], expected: dict[str, str]
) -> dict:
    server = await TestServer().start()
    client = ControlClient(server.url)
    # Every question waiting for its reply holds a connection: no pool limit, or a rate the
    # bot falls behind at stops the harness (PoolTimeout) instead of being measured.
    client.http = httpx.AsyncClient(
        base_url=server.url, timeout=60.0, limits=httpx.Limits(max_connections=None)
    )
    result: dict[str, object] = {}
    bot = None
    try:
        env = {**env, "TELEGRAM_API_URL": server.url, "TELEGRAM_BOT_TOKEN": TOKEN}
        first_user, first_chat = User(1), ChatRef(1)
        launched = time.time()
        # Its log goes to a file: a pipe nobody reads stops the bot once it is full.
        log_file = tempfile.NamedTemporaryFile("w+", prefix="khabar-bot-", suffix=".log")  # noqa: SIM115 - closed below
        bot = subprocess.Popen(
            [sys.executable, "-m", "khabar", "bot"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            text=True,
        )
        polled = await first_poll(server)
        result["startup_to_first_getupdates_s"] = round(polled - launched, 2)
        sent = await client.say(first_chat, first_user, questions[0])
        replies, _ = await client.replies(first_chat.id, sent["seq"], wait=120)
        assert replies, "no first answer"
        result["startup_to_first_answer_s"] = round(time.time() - launched, 2)
        result["rss_idle_mib"] = round(rss_mib(bot.pid))
        if args.total == 0:
            return result
        if args.open_loop:
            rounds = [
                await open_loop(client, rate, args.seconds, questions, expected)
                for rate in args.open_loop
            ]
            held = [r["offered_per_s"] for r in rounds if r["held"]]
            result.update({"open_loop": rounds, "held_per_s": max(held, default=0.0)})
            result["rss_after_load_mib"] = round(rss_mib(bot.pid))
            return result

        per_chat = [[] for _ in range(args.chats)]
        for i in range(args.total):
            per_chat[i % args.chats].append(questions[i % len(questions)])
        latencies: list[float] = []
        rss: list[float] = []
        sampler = asyncio.create_task(sample_rss(bot.pid, rss))
        started = time.perf_counter()
        counts = await asyncio.gather(
            *(chat_worker(client, n, qs, latencies, expected) for n, qs in enumerate(per_chat))
        )
        wall = time.perf_counter() - started
        sampler.cancel()
        quarter = max(1, len(rss) // 4)
        await asyncio.sleep(1.0)  # let any duplicate reply arrive before counting
        asked = sum(a for a, _, _ in counts)
        replies_total = 0
        for n in range(args.chats):
            history = await client.history(10_000 + n)
            replies_total += sum(1 for m in history["messages"] if m["from_bot"])
        latencies.sort()
        result.update(
            {
                "chats": args.chats,
                "questions": asked,
                "bot_replies": replies_total,
                "lost": max(0, asked - replies_total),
                "duplicated": max(0, replies_total - asked),
                "checked_against_in_process": sum(
                    1 for qs in per_chat for q in qs if q in expected
                ),
                "wrong": sum(w for _, _, w in counts),
                "wall_s": round(wall, 2),
                "answers_per_s": round(asked / wall, 1),
                "reply_p50_ms": round(statistics.median(latencies), 1),
                "reply_p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 1),
                "rss_after_load_mib": round(rss_mib(bot.pid)),
                "rss_first_quarter_mib": round(statistics.median(rss[:quarter])),
                "rss_last_quarter_mib": round(statistics.median(rss[-quarter:])),
                "rss_growth_mib": round(
                    statistics.median(rss[-quarter:]) - statistics.median(rss[:quarter])
                ),
                "rss_max_mib": round(max(rss)),
            }
        )
    finally:
        if bot is not None:
            bot.terminate()
            try:
                bot.wait(timeout=30)
            except subprocess.TimeoutExpired:
                bot.kill()
            log_file.seek(0)
            err = log_file.read()
            log_file.close()
            if bot.returncode not in (0, -15):
                print(err[-3000:], file=sys.stderr)
        await client.close()
        await server.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--questions", type=Path)
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--total", type=int, default=2000)
    parser.add_argument("--index-dir", type=Path, default=ROOT / "data/bench-index")
    parser.add_argument("--max-rate", type=float, default=1000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/load.json")
    parser.add_argument(
        "--no-check", action="store_true", help="skip comparing replies with in-process answers"
    )
    parser.add_argument(
        "--open-loop",
        type=float,
        nargs="+",
        metavar="RATE",
        help="offered questions per second, one round each (Telegram's send limit stays on)",
    )
    parser.add_argument("--seconds", type=float, default=60, help="length of each open-loop round")
    args = parser.parse_args()
    if args.open_loop and "--max-rate" not in sys.argv:
        args.max_rate = 30.0  # Telegram's own limit on messages a bot sends per second
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    env.update(
        {
            "KHABAR_CORPUS_DIR": str(args.corpus.resolve()),
            "KHABAR_INDEX_DIR": str(args.index_dir.resolve()),
            # A fresh data folder each run: the update journal of a run that was stopped would
            # otherwise be replayed, old questions first, into this one.
            "KHABAR_DATA_DIR": tempfile.mkdtemp(prefix="khabar-bench-data-"),
            "KHABAR_MODELS_DIR": os.environ.get("KHABAR_MODELS_DIR", str(ROOT / "data/models")),
            "KHABAR_ANSWERS_PER_MINUTE": "100000",
            "KHABAR_TELEGRAM_MAX_RATE": str(args.max_rate),
        }
    )
    subprocess.run(
        [sys.executable, "-m", "khabar", "index", "build", "-q"], env=env, cwd=ROOT, check=True
    )
    questions = read_questions(args.questions, FALLBACK)
    expected = {} if args.no_check else expected_replies(env, questions)
    try:
        result = asyncio.run(measure(args, env, questions, expected))
    finally:
        shutil.rmtree(env["KHABAR_DATA_DIR"], ignore_errors=True)
    save_and_print({"corpus": str(args.corpus), "max_rate": args.max_rate, **result}, args.out)


if __name__ == "__main__":
    main()
