"""Reading an index in PostgreSQL (`PgIndex`): the retriever's vector search, passages and BM25
in one place, through a small pool of connections (one per question answered at once)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from ...articles import lexical
from ...articles.article import Article
from ...errors import IndexNotBuilt
from ..rows import PASSAGE_COLUMNS, PassageRow, passage_row
from .store import (
    BM25_B,
    BM25_K1,
    HNSW_M,
    DatabaseError,
    as_array,
    bm25_idf,
    check_name,
    connect,
    has_catalog,
    manifest_of,
    schema_counts,
    scrub_password,
    unreachable,
    where,
)

POOL_SIZE = 4


class _Pool:
    """A few connections shared by the threads that answer (psycopg connections serialise
    their use; one per concurrent question avoids queueing behind each other)."""

    def __init__(self, url: str, size: int, setup: Sequence[str]) -> None:
        self.url = url
        self._free: queue.LifoQueue[Any] = queue.LifoQueue()
        self._made = 0
        self._size = size
        self._setup = setup
        self._lock = threading.Lock()

    @contextmanager
    def connection(self) -> Iterator[Any]:
        import psycopg

        conn = None
        try:
            conn = self._free.get_nowait()
        except queue.Empty:
            with self._lock:
                make = self._made < self._size
                self._made += 1 if make else 0
            if make:
                try:
                    conn = connect(self.url)
                    for statement in self._setup:
                        conn.execute(statement)
                except BaseException:
                    with self._lock:
                        self._made -= 1
                    raise
            else:
                conn = self._free.get()
        try:
            yield conn
        except psycopg.OperationalError as exc:
            conn.close()  # a broken connection is not given back
            with self._lock:
                self._made -= 1
            conn = None
            raise unreachable(self.url, exc) from None
        except psycopg.Error as exc:
            raise DatabaseError(
                f"PostgreSQL refused a query ({scrub_password(str(exc), self.url)})"
            ) from None
        finally:
            if conn is not None:
                if conn.closed:
                    with self._lock:
                        self._made -= 1
                else:
                    self._free.put(conn)

    def close(self) -> None:
        while True:
            try:
                self._free.get_nowait().close()
            except queue.Empty:
                return


class PgIndex:
    """The published index of one name, for reading: the retriever's vector and text store.

    `exact_below`: under this many passages, searches compare every vector (exact, like
    FAISS's flat index); from there on they use the HNSW index with `ef_search`.
    """

    kind = "pgvector"

    def __init__(
        self, url: str, name: str, *, exact_below: int = 50_000, ef_search: int = 100
    ) -> None:
        self.name = check_name(name)
        self.exact_below = exact_below
        self.ef_search = ef_search
        self._pool = _Pool(url, POOL_SIZE, [f"SET hnsw.ef_search = {int(ef_search)}"])
        self._counted = (-1e9, 0)
        with self._pool.connection() as conn:
            row = None
            if has_catalog(conn):  # readers never create it: a replica is read-only
                row = conn.execute(
                    "SELECT current, manifest FROM public.khabar_indexes WHERE name = %s", (name,)
                ).fetchone()
        if row is None or row[0] is None:
            raise IndexNotBuilt(f"PostgreSQL at {where(url)} (index {name!r})")
        self.schema: str = row[0]
        self.manifest = manifest_of(row[1])
        self.dimension = self.manifest.dimension
        self._s = f'"{self.schema}"'

    @property
    def key(self) -> str:
        return self._key(self.schema)

    def _key(self, schema: str) -> str:
        return f"{where(self._pool.url)}#{self.name}:{schema}"

    def published_key(self) -> str | None:
        """The key of the schema published under this name now (a full rebuild changes it)."""
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT current FROM public.khabar_indexes WHERE name = %s", (self.name,)
            ).fetchone()
        return self._key(row[0]) if row and row[0] else None

    def close(self) -> None:
        self._pool.close()

    # --- the vector store ----------------------------------------------------------------
    def __len__(self) -> int:
        return self.counts()[1]

    @property
    def approximate(self) -> bool:
        return self._passages() >= self.exact_below

    def _passages(self) -> int:
        """How many passages there are (read at most once a second: searches ask every time)."""
        now = time.monotonic()
        if now - self._counted[0] > 1.0:
            with self._pool.connection() as conn:
                n = conn.execute(f"SELECT passages FROM {self._s}.stats").fetchone()[0]
            self._counted = (now, int(n))
        return self._counted[1]

    @property
    def description(self) -> str:
        if self.approximate:
            return f"pgvector HNSW (m {HNSW_M}, ef_search {self.ef_search})"
        return "pgvector exact"

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        approximate = self.approximate
        # "+ 0" hides the distance from the HNSW index: PostgreSQL then compares every vector.
        order = "embedding <#> %(q)s" if approximate else "(embedding <#> %(q)s) + 0"
        sql = (
            f"SELECT id, -(embedding <#> %(q)s) FROM {self._s}.passages "
            f"ORDER BY {order} LIMIT %(k)s"
        )
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        with self._pool.connection() as conn:
            for row, query in enumerate(queries):
                params = {"q": query, "k": k}
                if approximate and k > self.ef_search:  # HNSW gives at most ef_search rows
                    with conn.transaction():
                        conn.execute(f"SET LOCAL hnsw.ef_search = {int(k)}")
                        found = conn.execute(sql, params, binary=True).fetchall()
                else:
                    found = conn.execute(sql, params, binary=True).fetchall()
                for col, (pid, score) in enumerate(found):
                    ids[row, col], scores[row, col] = pid, score
        return scores, ids

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        wanted = [int(i) for i in ids]
        with self._pool.connection() as conn:
            rows = dict(
                conn.execute(
                    f"SELECT id, embedding FROM {self._s}.passages WHERE id = ANY(%s)",
                    (wanted,),
                    binary=True,  # vectors as bytes: no parsing of decimal text
                ).fetchall()
            )
        out = np.zeros((len(wanted), self.dimension), dtype=np.float32)
        for n, pid in enumerate(wanted):
            if pid in rows:
                out[n] = as_array(rows[pid])
        return out

    # --- the text store --------------------------------------------------------------------
    def counts(self) -> tuple[int, int]:
        with self._pool.connection() as conn:
            return schema_counts(conn, self.schema)

    def size_bytes(self) -> int:
        """The schema's tables with their indexes and TOAST, on disk."""
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relkind = 'r'",
                (self.schema,),
            ).fetchone()
        return int(row[0])

    def articles(self) -> list[Article]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT id, '', title, date, source, url, lang, author FROM {self._s}.articles "
                "ORDER BY id"
            ).fetchall()
        return [Article(*row) for row in rows]

    def passages(self, ids: Sequence[int]) -> dict[int, PassageRow]:
        if not ids:
            return {}
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT {PASSAGE_COLUMNS} FROM {self._s}.passages p "
                f"JOIN {self._s}.articles a ON a.id = p.article_id WHERE p.id = ANY(%s)",
                ([int(i) for i in ids],),
            ).fetchall()
        return {row.id: row for row in map(passage_row, rows)}

    def passage_ids(self, article_ids: Iterable[str]) -> list[int]:
        wanted = list(article_ids)
        if not wanted:
            return []
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT id FROM {self._s}.passages WHERE article_id = ANY(%s) ORDER BY id",
                (wanted,),
            ).fetchall()
        return [int(row[0]) for row in rows]

    def lexical_search(self, stems: Sequence[str], k: int) -> list[tuple[int, float]]:
        """Passage ids and BM25 scores (higher is better), for these stems
        (`lexical.query_terms`), as FTS5 scores them."""
        stems = list(stems)
        if not stems:
            return []
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT s.passages, s.tokens, t.term, t.df FROM {self._s}.stats s "
                f"LEFT JOIN {self._s}.terms t ON t.term = ANY(%s) AND t.df > 0",
                (stems,),
            ).fetchall()
            passages, tokens = int(rows[0][0]), int(rows[0][1])
            frequency = {str(t): int(f) for _, _, t, f in rows if t is not None}
            kept = lexical.selective(stems, frequency, passages)
            if not kept or not passages:
                return []
            idf = [bm25_idf(passages, int(frequency[t])) for t in kept]
            rows = conn.execute(
                "WITH q(term, idf) AS (SELECT * FROM unnest(%(terms)s::text[], %(idf)s::float8[]))"
                " SELECT p.passage_id, sum(q.idf * t.tf * %(k1p)s / (t.tf + %(k1)s * "
                "(1 - %(b)s + %(b)s * p.length / %(avgdl)s))) AS score "
                f"FROM {self._s}.lexicon p CROSS JOIN LATERAL unnest(p.stems, p.tf) AS t(term, tf)"
                " JOIN q ON q.term = t.term WHERE p.stems && %(terms)s::text[] "
                "GROUP BY p.passage_id ORDER BY score DESC, p.passage_id LIMIT %(k)s",
                {
                    "terms": kept,
                    "idf": idf,
                    "k1": BM25_K1,
                    "k1p": BM25_K1 + 1,
                    "b": BM25_B,
                    "avgdl": tokens / passages,
                    "k": k,
                },
            ).fetchall()
        return [(int(pid), float(score)) for pid, score in rows]
