"""Index build and search speed on a real corpus (default: ../shared/bench/bbc-news).

    python bench/bench_index.py CORPUS [--questions QUESTIONS.jsonl] [--runs 3] [--out FILE]

Copies CORPUS to a temporary folder, then measures, each build as a real `khabar index build`
process: a full build (wall time, passages/s, peak memory), a no-change rebuild, adding one
article, removing one; then the in-process `Retriever.search` time per question. Prints a
table and writes JSON (default bench/results/index.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FALLBACK_QUESTIONS = [
    "Why did Chelsea sack Adrian Mutu?",
    "What did the Bank of England decide about interest rates?",
    "Which film won the most Oscars?",
    "How many jobs will be cut?",
    "What is the government's plan for ID cards?",
]


def build(corpus: Path, index_dir: Path, *extra: str) -> tuple[float, str]:
    env = {**os.environ, "KHABAR_CORPUS_DIR": str(corpus), "KHABAR_INDEX_DIR": str(index_dir)}
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "index", "index", "build", "-q", *extra],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return time.perf_counter() - started, proc.stdout


def passages_of(summary: str) -> int:
    for line in summary.splitlines():
        if line.startswith("index:"):
            return int(line.split("articles, ")[1].split(" passages")[0])
    raise ValueError(summary)


def load_questions(path: Path | None) -> list[str]:
    if path is None:
        return FALLBACK_QUESTIONS
    with path.open(encoding="utf-8") as f:
        return [json.loads(line)["question"] for line in f if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--questions", type=Path, help="a questions.jsonl for search timing")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/index.json")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="khabar-bench-"))
    corpus, index_dir = work / "corpus", work / "index"
    shutil.copytree(args.corpus, corpus)
    result: dict[str, object] = {
        "corpus": str(args.corpus),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
    }

    seconds, summary = build(corpus, index_dir)
    passages = passages_of(summary)
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result["full_build_s"] = round(seconds, 1)
    result["passages"] = passages
    result["passages_per_s"] = round(passages / seconds, 1)
    result["full_build_peak_mib"] = round(peak_mib)

    result["no_change_rebuild_s"] = round(
        statistics.median(build(corpus, index_dir)[0] for _ in range(args.runs)), 2
    )
    victim = sorted(p for p in corpus.rglob("*.txt") if p.name != "README.TXT")[0]
    saved = victim.read_bytes()
    adds, removes = [], []
    for _ in range(args.runs):
        victim.unlink()
        removes.append(build(corpus, index_dir)[0])
        victim.write_bytes(saved)
        adds.append(build(corpus, index_dir)[0])
    result["remove_one_s"] = round(statistics.median(removes), 2)
    result["add_one_s"] = round(statistics.median(adds), 2)

    from index.retriever import Retriever
    from index.settings import Settings

    retriever = Retriever(Settings(_env_file=None, corpus_dir=corpus, index_dir=index_dir))
    questions = load_questions(args.questions)
    retriever.search(questions[0])
    times = []
    for question in questions:
        started = time.perf_counter()
        retriever.search(question)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    result["questions"] = len(times)
    result["search_p50_ms"] = round(statistics.median(times), 2)
    result["search_p95_ms"] = round(times[int(0.95 * (len(times) - 1))], 2)
    shutil.rmtree(work, ignore_errors=True)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    print(f"(written to {args.out})")


if __name__ == "__main__":
    main()
