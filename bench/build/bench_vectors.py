"""Scale of the vector index: exact FAISS against the approximate indexes, on synthetic vectors.

    python bench/build/bench_vectors.py [--sizes 100000 1000000] [--dim 384] [--queries 500]
        [--out bench/results/vectors.json]

Vectors are clustered like sentence embeddings: each is a topic centre plus noise (cosine about
0.93 to its centre), L2-normalised; queries are drawn the same way. With `--like INDEX_DIR`
the centres are the real passage vectors of a built Khabar index (so the synthetic set has the
real model's anisotropy and topic structure); otherwise 4,096 random directions.
For each size: build time, memory (resident growth while building), p50/p99 single-query
search time and recall@10 against exact search, for exact (`IndexFlatIP`, what Khabar uses
below KHABAR_ANN_MIN_VECTORS), Khabar's IVF (`index.faiss_store.build_ivf`, at several
nprobe) and HNSW (for comparison).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from index.backends.folder.faiss_store import build_ivf, ivf_lists  # noqa: E402


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def clustered(n: int, dim: int, rng: np.random.Generator, centres: np.ndarray) -> np.ndarray:
    out = np.empty((n, dim), dtype=np.float32)
    step = 100_000
    for begin in range(0, n, step):
        m = min(step, n - begin)
        which = rng.integers(0, len(centres), m)
        noise = rng.normal(scale=0.4 / np.sqrt(dim), size=(m, dim)).astype(np.float32)
        block = centres[which] + noise
        out[begin : begin + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def topic_centres(like: Path | None, dim: int, rng: np.random.Generator) -> np.ndarray:
    """What synthetic vectors cluster around, L2-normalised: the real passage vectors of the
    index built in the folder `like`, or else 4,096 random directions of `dim` dimensions."""
    if like:
        from index.backends.folder import layout
        from index.backends.folder.faiss_store import FaissStore
        from index.build.manifest import Manifest

        generation = layout.current_generation(like)
        assert generation is not None, f"no index in {like}"
        manifest = Manifest.load(generation)
        centres = FaissStore.load(generation, manifest.dimension).items()[1]
    else:
        centres = rng.normal(size=(4096, dim)).astype(np.float32)
    return (centres / np.linalg.norm(centres, axis=1, keepdims=True)).astype(np.float32)


def timed_search(index: Any, queries: np.ndarray, k: int) -> tuple[list[float], np.ndarray]:
    """Each query searched alone: its time in ms, and the ids found. `index` is anything with
    FAISS's `search(queries, k)` (a FAISS index, or Khabar's `PgIndex`)."""
    times, found = [], []
    for q in queries:
        started = time.perf_counter()
        _, ids = index.search(q[None, :], k)
        times.append((time.perf_counter() - started) * 1000)
        found.append(ids[0])
    return times, np.array(found)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(
        np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)])
    )


def row(name: str, build_s: float, mem: float, times: list[float], rec: float) -> dict:
    ordered = sorted(times)
    return {
        "index": name,
        "build_s": round(build_s, 2),
        "memory_mib": round(mem, 1),
        "p50_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 3),
        "recall@10": round(rec, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--nprobe", type=int, nargs="+", default=[8, 16, 24, 32, 64])
    parser.add_argument(
        "--hnsw-max", type=int, default=200_000, help="build HNSW only up to this size (slow)"
    )
    parser.add_argument("--like", type=Path, help="a built index whose vectors are the centres")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/vectors.json")
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    centres = topic_centres(args.like, args.dim, rng)
    args.dim = centres.shape[1]
    results = []
    for n in args.sizes:
        data = clustered(n, args.dim, rng, centres)
        queries = clustered(args.queries, args.dim, rng, centres)
        ids = np.arange(n, dtype=np.int64)
        print(f"\n{n:,} vectors of {args.dim} dimensions, {args.queries} queries", flush=True)

        before = rss_mib()
        started = time.perf_counter()
        exact = faiss.IndexIDMap2(faiss.IndexFlatIP(args.dim))
        exact.add_with_ids(data, ids)
        build = time.perf_counter() - started
        times, truth = timed_search(exact, queries, 10)
        results.append({"n": n, **row("exact (flat)", build, rss_mib() - before, times, 1.0)})
        print(results[-1], flush=True)

        before = rss_mib()
        started = time.perf_counter()
        ivf = build_ivf(data, ids)
        build = time.perf_counter() - started
        mem = rss_mib() - before
        for nprobe in args.nprobe:
            ivf.nprobe = nprobe
            times, found = timed_search(ivf, queries, 10)
            name = f"IVF{ivf_lists(n)} nprobe={nprobe}"
            results.append({"n": n, **row(name, build, mem, times, recall(found, truth))})
            print(results[-1], flush=True)
        del ivf

        if n <= args.hnsw_max:
            before = rss_mib()
            started = time.perf_counter()
            hnsw = faiss.IndexHNSWFlat(args.dim, 32, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = 64
            hnsw.add(data)
            build = time.perf_counter() - started
            mem = rss_mib() - before
            for ef in (32, 64):
                hnsw.hnsw.efSearch = ef
                times, found = timed_search(hnsw, queries, 10)
                results.append(
                    {"n": n, **row(f"HNSW32 ef={ef}", build, mem, times, recall(found, truth))}
                )
                print(results[-1], flush=True)
            del hnsw
        del exact, data
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"threads": faiss.omp_get_max_threads(), "rows": results}, indent=2)
    )
    print("\n| vectors | index | build s | memory MiB | p50 ms | p99 ms | recall@10 |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['n']:,} | {r['index']} | {r['build_s']} | {r['memory_mib']} | {r['p50_ms']} "
            f"| {r['p99_ms']} | {r['recall@10']} |"
        )


if __name__ == "__main__":
    main()
