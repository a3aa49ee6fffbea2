"""Scale of the two vector backends on the same synthetic passages: FAISS and pgvector.

    python bench/build/bench_pgvector.py [--sizes 100000 1000000] [--queries 300]
        [--like data/bench/index] [--url postgresql://...] [--ef 40 100]
        [--out bench/results/pgvector.json]

Vectors are clustered like real embeddings (`bench_vectors.clustered`; with `--like`, around
the real passage vectors of a built index). For each size, in one run on one machine:

- FAISS as Khabar uses it: exact (`IndexFlatIP`) and IVF (`build_ivf`, nprobe 16);
- pgvector through Khabar's own `PgIndex.search`: the rows are loaded into a Khabar schema
  (COPY), the HNSW index is built (m 16, ef_construction 64) and published, then searched at
  each `--ef` (hnsw.ef_search), and exactly (sequential scan) on a sample of queries.

Build time, p50/p99 search time and recall@10 against exact search. Without `--url` a local
PostgreSQL is started from the pgserver wheel in a temporary folder and removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.build.bench_vectors import clustered, recall, timed_search, topic_centres  # noqa: E402
from index.backends.folder.faiss_store import build_ivf, ivf_lists  # noqa: E402
from index.backends.postgres.search import PgIndex  # noqa: E402
from index.backends.postgres.store import (  # noqa: E402
    connect,
    ensure_catalog,
    manifest_json,
    schema_ddl,
    search_indexes_ddl,
)
from index.build.manifest import Manifest  # noqa: E402


def stats(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 3),
    }


def faiss_rows(
    n: int, data: np.ndarray, queries: np.ndarray, skip_ivf: bool = False
) -> tuple[list[dict], np.ndarray]:
    rows = []
    ids = np.arange(1, n + 1, dtype=np.int64)
    started = time.perf_counter()
    exact = faiss.IndexIDMap2(faiss.IndexFlatIP(data.shape[1]))
    exact.add_with_ids(data, ids)
    build = time.perf_counter() - started
    times, truth_arr = timed_search(exact, queries, 10)
    rows.append(
        {
            "backend": "faiss",
            "index": "exact",
            "build_s": round(build, 1),
            **stats(times),
            "recall@10": 1.0,
        }
    )
    del exact
    started = time.perf_counter()
    if skip_ivf:
        return rows, truth_arr
    ivf = build_ivf(data, ids)
    build = time.perf_counter() - started
    ivf.nprobe = 16
    times, found = timed_search(ivf, queries, 10)
    rows.append(
        {
            "backend": "faiss",
            "index": f"IVF{ivf_lists(n)} nprobe 16",
            "build_s": round(build, 1),
            **stats(times),
            "recall@10": round(recall(found, truth_arr), 4),
        }
    )
    return rows, truth_arr


def pg_rows(
    url: str,
    n: int,
    data: np.ndarray,
    queries: np.ndarray,
    truth: np.ndarray,
    efs: list[int],
    exact_queries: int,
) -> list[dict]:
    name = f"bench_{n}"
    schema = f"khabar_{name}_1"
    conn = connect(url)
    ensure_catalog(conn)
    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    conn.execute("DELETE FROM public.khabar_indexes WHERE name = %s", (name,))
    for statement in schema_ddl(schema, data.shape[1]):
        conn.execute(statement)
    s = f'"{schema}"'
    conn.execute(
        f"INSERT INTO {s}.articles (id, file, title, text, hash) VALUES ('a', 'a', 'a', '', '')"
    )
    started = time.perf_counter()
    with (
        conn.cursor() as cur,
        cur.copy(
            f'COPY {s}.passages (id, article_id, ord, start, "end", text, embedding) '
            "FROM STDIN WITH (FORMAT BINARY)"
        ) as copy,
    ):
        copy.set_types(["int8", "text", "int4", "int4", "int4", "text", "vector"])
        for i in range(n):
            copy.write_row((i + 1, "a", i, 0, 0, "", data[i]))
    conn.execute(f"UPDATE {s}.stats SET passages = %s", (n,))
    load = time.perf_counter() - started
    conn.execute("SET maintenance_work_mem = '4GB'")
    conn.execute("SET max_parallel_maintenance_workers = 2")
    started = time.perf_counter()
    for statement in search_indexes_ddl(schema):
        conn.execute(statement)
    conn.execute(f"ANALYZE {s}.passages")
    index_s = time.perf_counter() - started
    size = conn.execute(
        f"SELECT pg_total_relation_size('{s}.passages'), pg_relation_size('{s}.passages_embedding')"
    ).fetchone()
    manifest = Manifest("synthetic", data.shape[1], 0, 0, "", "", store="pgvector")
    conn.execute(
        "INSERT INTO public.khabar_indexes (name, current, manifest, generation) "
        "VALUES (%s, %s, %s, 1)",
        (name, schema, manifest_json(manifest)),
    )
    conn.close()
    rows = []
    base = {
        "backend": "pgvector",
        "load_s": round(load, 1),
        "index_build_s": round(index_s, 1),
        "build_s": round(load + index_s, 1),
        "table_mib": round(size[0] / 2**20),
        "hnsw_mib": round(size[1] / 2**20),
    }
    for ef in efs:
        store = PgIndex(url, name, exact_below=1, ef_search=ef)
        store.search(queries[0], 10)  # a connection, warm
        times, found = timed_search(store, queries, 10)
        store.close()
        rows.append(
            {
                **base,
                "index": f"HNSW m16 ef_search {ef}",
                **stats(times),
                "recall@10": round(recall(found, truth), 4),
            }
        )
        print(rows[-1], flush=True)
    if not exact_queries:
        return rows
    store = PgIndex(url, name, exact_below=n + 1)
    times, found = timed_search(store, queries[:exact_queries], 10)
    store.close()
    rows.append(
        {
            **base,
            "index": f"exact (seq scan, {exact_queries} queries)",
            **stats(times),
            "recall@10": round(recall(found, truth[:exact_queries]), 4),
        }
    )
    print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--exact-queries", type=int, default=30)
    parser.add_argument("--ef", type=int, nargs="+", default=[40, 100])
    parser.add_argument("--like", type=Path, help="a built index whose vectors are the centres")
    parser.add_argument("--url", help="an existing PostgreSQL with pgvector (default: local)")
    parser.add_argument("--skip-ivf", action="store_true", help="FAISS exact only (the truth)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/pgvector.json")
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    centres = topic_centres(args.like, 384, rng)
    server, folder, url = None, None, args.url
    if url is None:
        from index.backends.postgres.local import LocalPostgres

        folder = Path(tempfile.mkdtemp(prefix="khabar-bench-pg-"))
        os.chmod(folder, 0o711)
        server = LocalPostgres.start(folder / "data")
        url = server.url
    results = []
    try:
        for n in args.sizes:
            data = clustered(n, centres.shape[1], rng, centres)
            queries = clustered(args.queries, centres.shape[1], rng, centres)
            print(f"\n{n:,} vectors, {args.queries} queries", flush=True)
            rows, truth = faiss_rows(n, data, queries, args.skip_ivf)
            for r in rows:
                print(r, flush=True)
            rows += pg_rows(url, n, data, queries, truth, args.ef, args.exact_queries)
            results += [{"n": n, **r} for r in rows]
            del data
    finally:
        if server is not None:
            server.stop()
            shutil.rmtree(folder, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rows": results}, indent=2))
    print("\n| passages | backend | index | build s | p50 ms | p99 ms | recall@10 |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        build = r["build_s"]
        if r["backend"] == "pgvector":
            build = f"{r['build_s']} (COPY {r['load_s']} + HNSW {r['index_build_s']})"
        print(
            f"| {r['n']:,} | {r['backend']} | {r['index']} | {build} | {r['p50_ms']} | "
            f"{r['p99_ms']} | {r['recall@10']} |"
        )


if __name__ == "__main__":
    main()
