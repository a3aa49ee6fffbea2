"""`khabar index migrate`: copy the FAISS index folder into PostgreSQL, without re-embedding.

The published generation's articles, passages, sentence vectors and passage vectors are copied
into a new schema, with the stems FTS5 indexed; it is published like a full build's schema, so
bots reading PostgreSQL switch to it at once. The folder is left as it was.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ...build.manifest import Manifest
from ...errors import IndexNotBuilt, KhabarError
from ...settings import Settings
from ..folder import layout
from ..folder.faiss_store import FaissStore
from ..folder.textstore import FILE_NAME as SQLITE_FILE
from ..folder.textstore import TextStore
from .builder import ShardBuild
from .store import check_name, connect, ensure_catalog, insert_passages, unreachable

BATCH = 2000


@dataclass
class Migrated:
    articles: int
    passages: int
    seconds: float


def migrate(settings: Settings) -> Migrated:
    import psycopg

    if settings.database_url is None:
        raise KhabarError(
            "set KHABAR_DATABASE_URL to the PostgreSQL database to copy the index into"
        )
    started = time.perf_counter()
    generation = layout.current_generation(settings.index_dir)
    if generation is None:
        raise IndexNotBuilt(settings.index_dir)
    manifest = Manifest.load(generation)
    manifest.check_files(generation)
    store = FaissStore.load(generation, manifest.dimension)
    text = TextStore.open_readonly(generation / SQLITE_FILE)
    url = settings.database_url.get_secret_value()
    conn = connect(url)
    try:
        ensure_catalog(conn)
        target = replace(manifest, store="pgvector", file_sizes={}, file_digests={})
        settings = settings.with_overrides(model=manifest.model)
        build = ShardBuild(
            settings, conn, check_name(settings.database_index), (0, 1), None, None, target
        )
        schema, _, _ = build.target(full=True)
        articles, passages = _copy(conn, schema, text, store)
        build.finish_shard(schema)
    except psycopg.OperationalError as exc:
        raise unreachable(url, exc) from None
    finally:
        conn.close()
        text.close()
    return Migrated(articles, passages, time.perf_counter() - started)


def _copy(conn: Any, schema: str, text: TextStore, store: FaissStore) -> tuple[int, int]:
    s = f'"{schema}"'
    db = text.connection
    ids, matrix = store.items()
    row_of = {int(pid): n for n, pid in enumerate(ids)}
    execute = conn.execute
    with conn.transaction():
        execute(f"DELETE FROM {s}.articles")
        files = db.execute("SELECT path, hash FROM files").fetchall()
        conn.cursor().executemany(f"INSERT INTO {s}.files VALUES ('0/1', %s, %s)", files)
        articles = db.execute(
            "SELECT id, file, title, date, source, url, lang, author, text, hash FROM articles"
        ).fetchall()
        conn.cursor().executemany(
            f"INSERT INTO {s}.articles VALUES ({', '.join(['%s'] * 10)})", articles
        )
    cursor = db.execute(
        'SELECT p.id, p.article_id, p.ord, p.start, p."end", p.text, p.sentences, f.terms '
        "FROM passages p JOIN passages_fts f ON f.rowid = p.id ORDER BY p.id"
    )
    copied = 0
    while rows := cursor.fetchmany(BATCH):
        values, lexicon = [], []
        for pid, aid, ord_, start, end, passage, sentences, terms in rows:
            if pid not in row_of:
                raise KhabarError(f"passage {pid} has no vector in the folder's index — rebuild it")
            words = terms.split()
            counts = Counter(words)
            vector = np.asarray(matrix[row_of[pid]], dtype=np.float32)
            values.append((pid, aid, ord_, start, end, passage, sentences, vector))
            lexicon.append((pid, list(counts), list(counts.values()), len(words)))
        with conn.transaction():
            insert_passages(conn, schema, values, lexicon)
        copied += len(values)
    with conn.transaction():
        execute(
            f"INSERT INTO {s}.terms SELECT term, count(*) FROM {s}.lexicon, unnest(stems) term "
            "GROUP BY term"
        )
        execute(
            f"UPDATE {s}.stats SET passages = (SELECT count(*) FROM {s}.passages), "
            f"tokens = (SELECT coalesce(sum(length), 0) FROM {s}.lexicon)"
        )
        execute(
            f"SELECT setval('{s}.passage_ids', (SELECT coalesce(max(id), 0) + 1 FROM {s}.passages))"
        )
    return len(articles), copied
