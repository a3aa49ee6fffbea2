"""Sharded builds into PostgreSQL: one process against two (`khabar index build --shard I/2`).

    python bench/build/bench_shards.py ../shared/bench/bbc-news [--articles 200] [--url URL]
        [--out bench/results/shards.json]

The first `--articles` files of the corpus are built from scratch four ways, each into its own
index name, timing the wall clock from start to the published index:

1. one process on every core (a plain build);
2. two shard processes at once on the same cores (one machine running both);
3. one process pinned to one core (`taskset`): one small machine;
4. two shard processes, each pinned to its own core: two small machines building together.

The speed-up of sharding is 3 / 4: what N machines give. 1 / 2 shows that on one machine,
shards only share the same cores. Without `--url` a local PostgreSQL is started and removed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import save_and_print  # noqa: E402
from index.articles.formats import iter_corpus_files  # noqa: E402


def run(env: dict[str, str], name: str, shards: list[tuple[str | None, str | None]]) -> float:
    """Start one build per (shard, cpu) at once; the wall time until all have finished."""
    started = time.perf_counter()
    procs = []
    for shard, cpu in shards:
        command = [sys.executable, "-m", "khabar", "index", "build", "-q"]
        command += ["--shard", shard] if shard else []
        command = (["taskset", "-c", cpu] if cpu else []) + command
        procs.append(
            subprocess.Popen(
                command,
                env={**env, "KHABAR_DATABASE_INDEX": name},
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"build failed: {err.strip()[-500:]}")
        print(out.strip().splitlines()[-1], flush=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--url")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/shards.json")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="khabar-shards-"))
    os.chmod(work, 0o711)
    corpus = work / "corpus"
    for path in list(iter_corpus_files(args.corpus))[: args.articles]:
        target = corpus / path.relative_to(args.corpus)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    server, url = None, args.url
    if url is None:
        from index.backends.postgres.local import LocalPostgres

        server = LocalPostgres.start(work / "postgres")
        url = server.url
    env = dict(
        os.environ,
        KHABAR_DATABASE_URL=url,
        KHABAR_CORPUS_DIR=str(corpus),
        KHABAR_DATA_DIR=str(ROOT / "data"),  # the converted model, made once
    )
    try:
        one = run(env, "shards_one", [(None, None)])
        two = run(env, "shards_two", [("0/2", None), ("1/2", None)])
        one_core = run(env, "shards_one_core", [(None, "0")])
        two_cores = run(env, "shards_two_cores", [("0/2", "0"), ("1/2", "1")])
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    save_and_print(
        {
            "articles": args.articles,
            "one_process_all_cores_s": round(one, 1),
            "two_shards_same_cores_s": round(two, 1),
            "one_process_one_core_s": round(one_core, 1),
            "two_shards_one_core_each_s": round(two_cores, 1),
            "speedup_two_machines": round(one_core / two_cores, 2),
            "speedup_same_machine": round(one / two, 2),
        },
        args.out,
    )


if __name__ == "__main__":
    main()
