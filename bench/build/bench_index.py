"""Index build and question speed on a real corpus, side by side with the LangChain peer.

    python bench/build/bench_index.py CORPUS [--questions SET_DIR/questions.jsonl] [--runs 3]
        [--peer | --no-peer] [--out FILE]

Copies CORPUS to a temporary folder, then measures, each build as a real `khabar index build`
process: a full build (wall time, passages/s, peak memory), a no-change rebuild, adding one
article, removing one (medians of --runs); the bare model's own encode rate on the same passages
(same runtime, same batches, nothing else); the peer (bench/build/peer_langchain.py: LangChain
FAISS + HuggingFaceEmbeddings + recursive splitter, same model, same passage size) built from the
same articles in the same run. Then question latency, question in, rendered reply out, in-process,
over the questions of the set next to QUESTIONS (its `corpus/` is added to the index first),
and the peer's `similarity_search` over the same. Prints a table and writes JSON (default
bench/results/index.json). Settings (KHABAR_MODEL, KHABAR_RUNTIME, ...) come from the
environment.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import read_questions, save_and_print  # noqa: E402
from index.settings import Settings  # noqa: E402

FALLBACK_QUESTIONS = [
    "Why did Chelsea sack Adrian Mutu?",
    "What did the Bank of England decide about interest rates?",
    "Which film won the most Oscars?",
    "How many jobs will be cut?",
    "What is the government's plan for ID cards?",
]


def run(command: list[str], env: dict[str, str] | None = None) -> tuple[float, str, float]:
    """Run a process; (wall seconds, its stdout, its own peak resident MiB)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            raise SystemExit(f"{' '.join(command)} failed:\n{err.read()[-3000:]}")
        return seconds, out.read(), usage.ru_maxrss / 1024


def build(corpus: Path, index_dir: Path, *extra: str) -> tuple[float, str]:
    seconds, out, _ = build_peak(corpus, index_dir, *extra)
    return seconds, out


def build_peak(corpus: Path, index_dir: Path, *extra: str) -> tuple[float, str, float]:
    env = {**os.environ, "KHABAR_CORPUS_DIR": str(corpus), "KHABAR_INDEX_DIR": str(index_dir)}
    return run([sys.executable, "-m", "khabar", "index", "build", "-q", *extra], env)


def passages_of(summary: str) -> int:
    for line in summary.splitlines():
        if line.startswith("index:"):
            return int(line.split("articles, ")[1].split(" passages")[0])
    raise ValueError(summary)


def bare_encode_rate(index_dir: Path) -> tuple[float, int]:
    """Passages per second of the model alone on the index's own passages (same runtime,
    batch size and passage prompt; length-sorted batches like the builder), in a subprocess."""
    code = f"""
import sqlite3, time, json
from pathlib import Path
from index.model.embedder import Embedder
from index.settings import Settings
from index import layout
settings = Settings()
generation = layout.current_generation(Path({str(index_dir)!r}))
db = sqlite3.connect(generation / "khabar.sqlite")
texts = [r[0] for r in db.execute("select text from passages")]
embedder = Embedder.from_settings(settings)
embedder.dimension
started = time.perf_counter()
embedder.encode_passages(texts, batch_size=settings.embed_batch_size)
print(json.dumps([len(texts) / (time.perf_counter() - started), len(texts)]))
"""
    _, out, _ = run([sys.executable, "-c", code], dict(os.environ))
    rate, n = json.loads(out.strip().splitlines()[-1])
    return float(rate), int(n)


def peer_command(settings: Settings, model_path: str, action: str, *paths: Path) -> list[str]:
    """A `bench/build/peer_langchain.py` command with Khabar's model and passage size."""
    return [
        sys.executable,
        str(ROOT / "bench/build/peer_langchain.py"),
        action,
        *map(str, paths),
        "--model",
        model_path,
        "--chunk-tokens",
        str(settings.chunk_tokens),
        "--overlap",
        str(settings.chunk_overlap_tokens),
    ]


def question_latency(corpus: Path, index_dir: Path, questions: list[str]) -> dict[str, float]:
    """Question in, rendered reply out, in-process, as the bot's handler does it."""
    from bot.messages import render
    from index.answer.retriever import Retriever

    retriever = Retriever(Settings(corpus_dir=corpus, index_dir=index_dir))
    retriever.answer(questions[0])
    times = []
    for question in questions:
        started = time.perf_counter()
        answer = retriever.answer(question)
        if answer.found:
            render.render_hit(answer.shown[0], 0, len(answer.shown), "en", "1")
        else:
            render.render_not_found(answer.hits, "en")
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "questions": len(times),
        "p50_ms": round(statistics.median(times), 2),
        "p99_ms": round(times[int(0.99 * (len(times) - 1))], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--questions", type=Path, help="a questions.jsonl for question timing")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--peer", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/index.json")
    parser.add_argument(
        "--keep", type=Path, help="work in this folder and keep it (corpus/, index/) for reuse"
    )
    args = parser.parse_args()

    settings = Settings()
    work = args.keep or Path(tempfile.mkdtemp(prefix="khabar-bench-"))
    if args.keep and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    corpus, index_dir = work / "corpus", work / "index"
    shutil.copytree(args.corpus, corpus)
    result: dict[str, object] = {
        "corpus": str(args.corpus),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "model": settings.model,
        "runtime": settings.runtime,
        "retriever": settings.retriever,
        "chunk_tokens": settings.chunk_tokens,
    }
    # Convert and export the model before timing anything (a one-time cost, not a build's), in
    # a child process: a child's peak memory counts its parent's at the time it started, so
    # this process stays small.
    out = run(
        [
            sys.executable,
            "-c",
            "from index.model.embedder import Embedder, resolve_model; from index.settings import "
            "Settings; s = Settings(); Embedder.from_settings(s).dimension; "
            "print(resolve_model(s.model, s.model_cache))",
        ],
        dict(os.environ),
    )[1]
    model_path = out.strip().splitlines()[-1]
    # The bulk encoder's calibration, also once per machine: timed apart (0 when remembered).
    calibration = run(
        [
            sys.executable,
            "-c",
            "import time; from index.model.embedder import Embedder, BULK_PASSAGES; "
            "from index.settings import Settings; e = Embedder.from_settings(Settings()); "
            "t = time.perf_counter(); e.bulk_encoder(BULK_PASSAGES); "
            "print(time.perf_counter() - t)",
        ],
        dict(os.environ),
    )[1]
    result["calibration_s"] = round(float(calibration.strip().splitlines()[-1]), 1)

    seconds, summary, peak = build_peak(corpus, index_dir)
    passages = passages_of(summary)
    result["full_build_s"] = round(seconds, 1)
    result["passages"] = passages
    result["passages_per_s"] = round(passages / seconds, 1)
    result["full_build_peak_mib"] = round(peak)
    rate, _ = bare_encode_rate(index_dir)
    result["bare_model_passages_per_s"] = round(rate, 1)
    result["overhead_ratio"] = round(rate / (passages / seconds), 2)

    if args.peer:
        store = work / "peer"
        seconds, out, peak = run(peer_command(settings, model_path, "build", corpus, store))
        peer = json.loads(out.strip().splitlines()[-1])
        result["peer_full_build_s"] = round(seconds, 1)
        result["peer_passages"] = peer["passages"]
        result["peer_passages_per_s"] = round(peer["passages"] / seconds, 1)
        result["peer_full_build_peak_mib"] = round(peak)
        result["build_speedup_vs_peer"] = round(seconds / float(result["full_build_s"]), 2)

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

    questions = read_questions(args.questions, FALLBACK_QUESTIONS)
    if args.questions and (args.questions.parent / "corpus").is_dir():
        shutil.copytree(args.questions.parent / "corpus", corpus / "question-set")
        build(corpus, index_dir)
    latency = question_latency(corpus, index_dir, questions)
    result["questions"] = latency["questions"]
    result["question_p50_ms"] = latency["p50_ms"]
    result["question_p99_ms"] = latency["p99_ms"]
    if args.peer and args.questions:
        command = peer_command(settings, model_path, "query", work / "peer", args.questions)
        if (corpus / "question-set").is_dir():
            command += ["--add", str(corpus / "question-set")]
        peer = json.loads(run(command)[1].strip().splitlines()[-1])
        result["peer_question_p50_ms"] = peer["p50_ms"]
        result["peer_question_p99_ms"] = peer["p99_ms"]
        result["question_speedup_vs_peer"] = round(
            peer["p50_ms"] / float(result["question_p50_ms"]), 2
        )
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)

    save_and_print(result, args.out)


if __name__ == "__main__":
    main()
