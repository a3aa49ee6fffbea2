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

This module holds the connection, the names, the schema and the catalog; `search.py` reads an
index, `writer.py` writes one, `builder.py` runs (sharded) builds.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from ...articles import lexical
from ...articles.article import titled
from ...build.manifest import Manifest
from ...errors import KhabarError
from ...redact import MASK, url_password

BM25_K1 = 1.2
BM25_B = 0.75
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
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
        f"PostgreSQL at {where(url)} cannot be used ({scrub_password(reason, url)}) — check "
        "KHABAR_DATABASE_URL, that the server runs, and that the vector extension is installed"
    )


def scrub_password(text: str, url: str) -> str:
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


def schema_counts(conn: Any, schema: str) -> tuple[int, int]:
    """How many articles and passages the index in `schema` holds."""
    s = f'"{schema}"'
    articles, passages = conn.execute(
        f"SELECT (SELECT count(*) FROM {s}.articles), passages FROM {s}.stats"
    ).fetchone()
    return int(articles), int(passages)


def as_array(value: Any) -> np.ndarray:
    """A vector column as numpy (pgvector's client returns a `Vector` or an array)."""
    return np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value, np.float32)


def bm25_idf(passages: int, holding: int) -> float:
    """FTS5's idf: log((N - n + 0.5) / (n + 0.5)), and a tiny positive value when that is not."""
    idf = math.log((passages - holding + 0.5) / (holding + 0.5))
    return idf if idf > 0 else 1e-6


def has_catalog(conn: Any) -> bool:
    row = conn.execute("SELECT to_regclass('public.khabar_indexes')").fetchone()
    return row is not None and row[0] is not None


def ensure_catalog(conn: Any) -> None:
    if not has_catalog(conn):
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
