"""The index in PostgreSQL with pgvector: passages, vectors, articles and manifest in one place.

Chosen by `KHABAR_DATABASE_URL`; any number of bot processes on any machines read the same
index, and streaming replicas (`KHABAR_DATABASE_READ_URL`) take the reads. Layout:

    public.khabar_indexes    one row per index name: the published schema and its manifest,
                             and the schema a full build is filling (pending)
    <schema>.articles        one row per article (text and metadata)
    <schema>.passages        one row per passage: text, sentence vectors, the passage vector
                             (`vector(d)`, HNSW index for inner product)
    <schema>.lexicon         one narrow row per passage: its stems and their counts, for BM25
    <schema>.terms           how many passages hold each stem (BM25's document frequencies)
    <schema>.stats           passages and stems in all: BM25's average length
    <schema>.files           what each build shard last indexed of each corpus file
    <schema>.shards          the shards of a full build that have finished

An article's passages change in one transaction with its file's row, so a reader sees an article
before or after a change, never half of it. A full rebuild fills a new schema and publishes it
by updating one row: readers switch from the old index to the new one at once.

BM25 is computed as SQLite FTS5 computes it (k1 1.2, b 0.75, the same idf), over the same stems,
so hybrid answers match the FAISS backend's.
"""

from __future__ import annotations

import json
import math
import queue
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from . import lexical
from .articles import Article, titled
from .errors import IndexNotBuilt, KhabarError
from .manifest import Manifest
from .redact import MASK, url_password
from .textstore import PASSAGE_COLUMNS, PassageRow, passage_row

BM25_K1 = 1.2
BM25_B = 0.75
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
POOL_SIZE = 4
_NAME = re.compile(r"^[a-z0-9_]{1,40}$")


class DatabaseError(KhabarError):
    """PostgreSQL could not be reached or refused a request."""


def where(url: str) -> str:
    """host:port/database of a PostgreSQL URL: no user, no password (for messages and logs)."""
    try:
        parts = urlsplit(url)
        return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or ''}"
    except ValueError:
        return "the configured database"


def unreachable(url: str, exc: Exception) -> DatabaseError:
    reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return DatabaseError(
        f"PostgreSQL at {where(url)} cannot be used ({_scrub(reason, url)}) — check "
        "KHABAR_DATABASE_URL, that the server runs, and that the vector extension is installed"
    )


def _scrub(text: str, url: str) -> str:
    password = url_password(url)
    return text.replace(password, MASK) if password else text


def connect(url: str, *, autocommit: bool = True) -> Any:
    import psycopg
    from pgvector.psycopg import register_vector

    try:
        conn = psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
        if not _has_vector(conn):
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(conn)
    except psycopg.Error as exc:
        raise unreachable(url, exc) from None
    return conn


def _has_vector(conn: Any) -> bool:
    return conn.execute("SELECT 1 FROM pg_type WHERE typname = 'vector'").fetchone() is not None


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise KhabarError(
            f"index name {name!r} is not usable: use 1-40 lower-case letters, digits or _ "
            "(KHABAR_DATABASE_INDEX)"
        )
    return name


CATALOG = """
CREATE TABLE IF NOT EXISTS public.khabar_indexes (
    name text PRIMARY KEY,
    current text,            -- the published schema
    manifest jsonb,          -- its manifest
    pending text,            -- the schema a full build is filling
    pending_manifest jsonb,
    generation bigint NOT NULL DEFAULT 0
)
"""


def schema_ddl(schema: str, dimension: int) -> list[str]:
    s = f'"{schema}"'
    return [
        f"CREATE SCHEMA {s}",
        f"CREATE TABLE {s}.files (shard text NOT NULL, path text NOT NULL, hash text NOT NULL, "
        "PRIMARY KEY (shard, path))",
        f"CREATE TABLE {s}.articles (id text PRIMARY KEY, file text NOT NULL, title text NOT NULL,"
        " date text, source text, url text, lang text, author text, text text NOT NULL, "
        "hash text NOT NULL)",
        f"CREATE INDEX ON {s}.articles (file)",
        f"CREATE SEQUENCE {s}.passage_ids",
        f"CREATE TABLE {s}.passages (id bigint PRIMARY KEY, article_id text NOT NULL "
        f"REFERENCES {s}.articles (id) ON DELETE CASCADE, ord int NOT NULL, start int NOT NULL, "
        '"end" int NOT NULL, text text NOT NULL, sentences bytea, '
        f"embedding vector({int(dimension)}) NOT NULL)",
        # The vector stays in the row (an exact scan reads it without detoasting: 5x faster);
        # the sentence vectors, read only for the few passages shown, go out of line first.
        f"ALTER TABLE {s}.passages ALTER COLUMN embedding SET STORAGE PLAIN, "
        "ALTER COLUMN sentences SET STORAGE EXTERNAL",
        f"CREATE INDEX ON {s}.passages (article_id)",
        # BM25's side of a passage, in a narrow table of its own: a lexical search reads these
        # rows only (a few hundred bytes each), not the passages with their vectors.
        f"CREATE TABLE {s}.lexicon (passage_id bigint PRIMARY KEY REFERENCES {s}.passages (id) "
        "ON DELETE CASCADE, stems text[] NOT NULL, tf int[] NOT NULL, length int NOT NULL)",
        f"CREATE TABLE {s}.terms (term text PRIMARY KEY, df bigint NOT NULL)",
        f"CREATE TABLE {s}.stats (one int PRIMARY KEY CHECK (one = 1), passages bigint NOT NULL,"
        " tokens bigint NOT NULL)",
        f"INSERT INTO {s}.stats VALUES (1, 0, 0)",
        f"CREATE TABLE {s}.shards (shard text PRIMARY KEY, finished_at timestamptz NOT NULL "
        "DEFAULT now())",
    ]


def search_indexes_ddl(schema: str) -> list[str]:
    """The search indexes, made once the bulk of a full build is in (much faster than
    maintaining them row by row); incremental builds then keep them up to date."""
    s = f'"{schema}"'
    return [
        f"CREATE INDEX IF NOT EXISTS lexicon_stems ON {s}.lexicon USING gin (stems)",
        f"CREATE INDEX IF NOT EXISTS passages_embedding ON {s}.passages USING hnsw "
        f"(embedding vector_ip_ops) WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})",
    ]


def manifest_json(manifest: Manifest) -> str:
    return json.dumps(asdict(manifest))


def manifest_of(data: object) -> Manifest:
    if isinstance(data, str):
        data = json.loads(data)
    if not isinstance(data, dict):
        raise KhabarError("the index's manifest in PostgreSQL is unreadable — rebuild with --full")
    return Manifest(**{k: data[k] for k in Manifest.__dataclass_fields__ if k in data})


def stems_of(title: str, passage: str, lang: str) -> tuple[list[str], list[int], int]:
    """The distinct stems of a passage (as the lexical index sees it), their counts, and its
    length in stems: what FTS5 stores for the same passage."""
    words = lexical.document(titled(title, passage), lang).split()
    counts = Counter(words)
    return list(counts), list(counts.values()), len(words)


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
                f"PostgreSQL refused a query ({_scrub(str(exc), self.url)})"
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
            if _has_catalog(conn):  # readers never create it: a replica is read-only
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
                out[n] = _array(rows[pid])
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

    def lexical_search(self, question: str, k: int) -> list[tuple[int, float]]:
        """Passage ids and BM25 scores (higher is better), as FTS5 scores them."""
        stems = lexical.query_terms(question)
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


def schema_counts(conn: Any, schema: str) -> tuple[int, int]:
    """How many articles and passages the index in `schema` holds."""
    s = f'"{schema}"'
    articles, passages = conn.execute(
        f"SELECT (SELECT count(*) FROM {s}.articles), passages FROM {s}.stats"
    ).fetchone()
    return int(articles), int(passages)


def _array(value: Any) -> np.ndarray:
    """A vector column as numpy (pgvector's client returns a `Vector` or an array)."""
    return np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value, np.float32)


def bm25_idf(passages: int, holding: int) -> float:
    """FTS5's idf: log((N - n + 0.5) / (n + 0.5)), and a tiny positive value when that is not."""
    idf = math.log((passages - holding + 0.5) / (holding + 0.5))
    return idf if idf > 0 else 1e-6


def _has_catalog(conn: Any) -> bool:
    row = conn.execute("SELECT to_regclass('public.khabar_indexes')").fetchone()
    return row is not None and row[0] is not None


def ensure_catalog(conn: Any) -> None:
    if not _has_catalog(conn):
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('khabar catalog'))")
            conn.execute(CATALOG)


def insert_passages(
    conn: Any, schema: str, passages: Sequence[tuple[Any, ...]], lexicon: Sequence[tuple[Any, ...]]
) -> None:
    """Insert passage rows (id, article id, ord, start, end, text, sentence vectors, vector) and
    their lexicon rows (passage id, stems, counts, length), binary: vectors travel as bytes."""
    s = f'"{schema}"'
    with conn.cursor(binary=True) as cursor:
        cursor.executemany(f"INSERT INTO {s}.passages VALUES ({', '.join(['%s'] * 8)})", passages)
        cursor.executemany(f"INSERT INTO {s}.lexicon VALUES (%s, %s, %s, %s)", lexicon)


class PgWriter:
    """Writes into one schema of an index (the published one, or a full build's pending one).
    Every method is one transaction unless called inside `conn.transaction()`."""

    def __init__(self, conn: Any, schema: str) -> None:
        self.conn = conn
        self.schema = schema
        self._s = f'"{schema}"'

    def file_hashes(self, shard: str) -> dict[str, str]:
        rows = self.conn.execute(
            f"SELECT path, hash FROM {self._s}.files WHERE shard = %s", (shard,)
        ).fetchall()
        return dict(rows)

    def article_hashes(self, files: Iterable[str]) -> dict[str, dict[str, str]]:
        """For each file, its articles' ids and content hashes."""
        out: dict[str, dict[str, str]] = {}
        for file, aid, digest in self.conn.execute(
            f"SELECT file, id, hash FROM {self._s}.articles WHERE file = ANY(%s)", (list(files),)
        ).fetchall():
            out.setdefault(file, {})[aid] = digest
        return out

    def passage_ids(self, n: int) -> list[int]:
        if n == 0:
            return []
        rows = self.conn.execute(
            f"SELECT nextval('{self._s}.passage_ids') FROM generate_series(1, %s)", (n,)
        ).fetchall()
        return [int(r[0]) for r in rows]

    def apply_file(
        self,
        shard: str,
        path: str,
        digest: str | None,
        remove: Sequence[str],
        add: Sequence[tuple[Article, Sequence[tuple[int, int, int]], np.ndarray, list[bytes]]],
    ) -> None:
        """In one transaction: drop the articles `remove`, store `add` (each article with its
        passages as (id, start, end), their vectors, and their sentence vectors), and record
        the file's hash for this shard (`digest` None: the file is gone)."""
        deltas: Counter[str] = Counter()
        passages = tokens = 0
        with self.conn.transaction():
            ids = list(remove) + [a.id for a, _, _, _ in add]
            if ids:
                for stems, length in self.conn.execute(
                    f"DELETE FROM {self._s}.lexicon WHERE passage_id IN (SELECT id FROM "
                    f"{self._s}.passages WHERE article_id = ANY(%s)) RETURNING stems, length",
                    (ids,),
                ).fetchall():
                    deltas.subtract(stems)
                    passages -= 1
                    tokens -= int(length)
                self.conn.execute(
                    f"DELETE FROM {self._s}.passages WHERE article_id = ANY(%s)", (ids,)
                )
                self.conn.execute(f"DELETE FROM {self._s}.articles WHERE id = ANY(%s)", (ids,))
            for article, rows, vectors, sentences in add:
                a = article
                self.conn.execute(
                    f"INSERT INTO {self._s}.articles VALUES ({', '.join(['%s'] * 10)})",
                    (
                        a.id,
                        path,
                        a.title,
                        a.date,
                        a.source,
                        a.url,
                        a.lang,
                        a.author,
                        a.text,
                        a.content_hash,
                    ),
                )
                lang = lexical.guess_language(a.text, a.lang)
                values, lexicon = [], []
                for n, ((pid, start, end), vector) in enumerate(zip(rows, vectors, strict=True)):
                    text = a.text[start:end]
                    stems, tf, length = stems_of(a.title, text, lang)
                    deltas.update(stems)
                    passages += 1
                    tokens += length
                    blob = sentences[n] if sentences else None
                    values.append((pid, a.id, n, start, end, text, blob, vector))
                    lexicon.append((pid, stems, tf, length))
                insert_passages(self.conn, self.schema, values, lexicon)
            self._count(deltas, passages, tokens)
            if digest is None:
                self.conn.execute(
                    f"DELETE FROM {self._s}.files WHERE shard = %s AND path = %s", (shard, path)
                )
            else:
                self.conn.execute(
                    f"INSERT INTO {self._s}.files VALUES (%s, %s, %s) ON CONFLICT (shard, path) "
                    "DO UPDATE SET hash = EXCLUDED.hash",
                    (shard, path, digest),
                )

    def _count(self, deltas: Counter[str], passages: int, tokens: int) -> None:
        """Update the document frequencies, in term order (two shards writing at once lock
        the same rows in the same order: no deadlock), then the totals."""
        changed = sorted((t, d) for t, d in deltas.items() if d)
        if changed:
            self.conn.execute(
                f"INSERT INTO {self._s}.terms SELECT * FROM unnest(%s::text[], %s::bigint[]) "
                f"ON CONFLICT (term) DO UPDATE SET df = {self._s}.terms.df + EXCLUDED.df",
                ([t for t, _ in changed], [d for _, d in changed]),
            )
        if passages or tokens:
            self.conn.execute(
                f"UPDATE {self._s}.stats SET passages = passages + %s, tokens = tokens + %s",
                (passages, tokens),
            )

    def counts(self) -> tuple[int, int]:
        return schema_counts(self.conn, self.schema)
