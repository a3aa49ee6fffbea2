"""Articles, passages and the file table in SQLite, keyed by the same ids as the vectors."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ...articles import lexical
from ...articles.article import Article, titled
from ...errors import IndexCorrupt
from ..rows import PASSAGE_COLUMNS, PassageRow, article_values, passage_row
from . import bm25

log = logging.getLogger(__name__)

FILE_NAME = "khabar.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, file TEXT NOT NULL, title TEXT NOT NULL, date TEXT, source TEXT,
    url TEXT, lang TEXT, author TEXT, text TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY, article_id TEXT NOT NULL, ord INTEGER NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
    sentences BLOB  -- float16 vectors of the passage's sentences, in order
);
CREATE INDEX IF NOT EXISTS passages_by_article ON passages(article_id);
CREATE INDEX IF NOT EXISTS articles_by_file ON articles(file);
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(
    terms, tokenize = 'unicode61 remove_diacritics 0'
);
"""


class TextStore:
    def __init__(self, conn: sqlite3.Connection, uri: str | None = None) -> None:
        self._conn = conn
        self._vocab: int | None = None  # passages, once the vocabulary table is attached
        self._uri = uri  # a published (read-only) store's: its BM25 may move into memory
        self._memory: bm25.MemoryBm25 | None = None
        self._memory_lock = threading.Lock()
        self.loader: threading.Thread | None = None  # moving BM25 into memory, once started

    @classmethod
    def create(cls, path: Path) -> TextStore:
        conn = sqlite3.connect(path, check_same_thread=False)
        conn.executescript(_SCHEMA)
        return cls(conn)

    @classmethod
    def copy_of(cls, source: Path, path: Path) -> TextStore:
        """A writable copy of the store at `source` (the previous index), made at `path`."""
        src = cls.open_readonly(source)
        conn = sqlite3.connect(path, check_same_thread=False)
        src._conn.backup(conn)
        src.close()
        conn.executescript(_SCHEMA)
        return cls(conn)

    @classmethod
    def open_readonly(cls, path: Path) -> TextStore:
        if not path.is_file():
            raise IndexCorrupt(f"{path} is missing")
        # immutable=1: a published index never changes, so no locks or journals are needed.
        uri = f"file:{path}?mode=ro&immutable=1"
        try:
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
            conn.execute("SELECT count(*) FROM passages").fetchone()
        except sqlite3.DatabaseError as exc:
            raise IndexCorrupt(f"{path} cannot be read ({exc})") from None
        return cls(conn, uri)

    @property
    def connection(self) -> sqlite3.Connection:
        """The SQLite connection itself, for copying the whole store out (`migrate`)."""
        return self._conn

    def close(self) -> None:
        self._conn.close()

    def commit(self) -> None:
        self._conn.commit()

    # --- reading ----------------------------------------------------------------------------
    def file_hashes(self) -> dict[str, str]:
        return dict(self._conn.execute("SELECT path, hash FROM files"))

    def article_hashes(self, files: Iterable[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for file in files:
            rows = self._conn.execute("SELECT id, hash FROM articles WHERE file = ?", (file,))
            out.update(dict(rows))
        return out

    def passage_ids(self, article_ids: Iterable[str]) -> list[int]:
        ids: list[int] = []
        for article_id in article_ids:
            rows = self._conn.execute("SELECT id FROM passages WHERE article_id = ?", (article_id,))
            ids.extend(r[0] for r in rows)
        return ids

    def next_passage_id(self) -> int:
        row = self._conn.execute("SELECT coalesce(max(id), -1) + 1 FROM passages").fetchone()
        return int(row[0])

    def counts(self) -> tuple[int, int]:
        articles = self._conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        passages = self._conn.execute("SELECT count(*) FROM passages").fetchone()[0]
        return int(articles), int(passages)

    def passages(self, ids: Sequence[int]) -> dict[int, PassageRow]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._conn.execute(
            f"SELECT {PASSAGE_COLUMNS} FROM passages p JOIN articles a ON a.id = p.article_id "
            f"WHERE p.id IN ({marks})",
            [int(i) for i in ids],
        )
        return {row.id: row for row in map(passage_row, rows)}

    def lexical_search(self, stems: Sequence[str], k: int) -> list[tuple[int, float]]:
        """Passage ids and BM25 scores (higher is better) for these stems
        (`lexical.query_terms`: a question's, and its words in English)."""
        stems = list(stems)
        if not stems:
            return []
        memory = self._memory_bm25()
        if memory is not None and bm25.single_tokens(stems):
            chosen = lexical.selective(stems, memory.frequency(stems), memory.passages)
            return memory.search(chosen, k) if chosen else []
        frequency, passages = self._frequencies(stems)
        match = lexical.as_match(lexical.selective(stems, frequency, passages))
        if match is None:
            return []
        rows = self._conn.execute(
            "SELECT rowid, -bm25(passages_fts) FROM passages_fts WHERE passages_fts MATCH ? "
            "ORDER BY bm25(passages_fts) LIMIT ?",
            (match, k),
        )
        return [(int(pid), float(score)) for pid, score in rows]

    def prepare_search(self) -> None:
        """Start moving BM25 into memory now (a newly loaded index), not at its first question."""
        self._memory_bm25()

    def _memory_bm25(self) -> bm25.MemoryBm25 | None:
        """The store's BM25 in memory once it is ready (read in the background, started by
        `prepare_search` or the first question; FTS5 answers meanwhile); None until then, and
        for large or writable stores."""
        if self._memory is not None or self._uri is None:
            return self._memory
        with self._memory_lock:
            if self._uri is not None:
                uri, self._uri = self._uri, None  # read once
                self.loader = threading.Thread(target=self._read_bm25, args=(uri,), daemon=True)
                self.loader.start()
        return None

    def _read_bm25(self, uri: str) -> None:
        try:
            conn = sqlite3.connect(uri, uri=True)
            try:
                (passages,) = conn.execute("SELECT count(*) FROM passages").fetchone()
                if passages <= bm25.MAX_PASSAGES:
                    rows = conn.execute("SELECT rowid, terms FROM passages_fts")
                    self._memory = bm25.MemoryBm25(rows)
            finally:
                conn.close()
        except sqlite3.Error as exc:  # FTS5 keeps answering
            log.warning("BM25 stays in SQLite: %s", exc)

    def _frequencies(self, stems: list[str]) -> tuple[dict[str, int], int]:
        """How many passages hold each stem, and how many passages there are."""
        if self._vocab is None:
            self._conn.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.passages_vocab "
                "USING fts5vocab(main, passages_fts, row)"
            )
            self._vocab = int(self._conn.execute("SELECT count(*) FROM passages").fetchone()[0])
        marks = ",".join("?" * len(stems))
        rows = self._conn.execute(
            f"SELECT term, doc FROM temp.passages_vocab WHERE term IN ({marks})", stems
        )
        return {str(term): int(doc) for term, doc in rows}, self._vocab

    def articles(self) -> list[Article]:
        rows = self._conn.execute(
            "SELECT id, '', title, date, source, url, lang, author FROM articles ORDER BY id"
        )
        return [Article(*row) for row in rows]

    # --- writing ----------------------------------------------------------------------------
    def set_file(self, path: str, digest: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO files VALUES (?, ?)", (path, digest))

    def remove_file(self, path: str) -> None:
        self._conn.execute("DELETE FROM files WHERE path = ?", (path,))

    def remove_articles(self, article_ids: Iterable[str]) -> None:
        for article_id in article_ids:
            self._conn.execute(
                "DELETE FROM passages_fts WHERE rowid IN "
                "(SELECT id FROM passages WHERE article_id = ?)",
                (article_id,),
            )
            self._conn.execute("DELETE FROM passages WHERE article_id = ?", (article_id,))
            self._conn.execute("DELETE FROM articles WHERE id = ?", (article_id,))

    def add_article(
        self,
        file: str,
        article: Article,
        passages: Sequence[tuple[int, int, int]],
        sentence_vectors: Sequence[np.ndarray] | None = None,
    ) -> None:
        """Store `article` and its passages given as (passage id, start, end), each with the
        float16 vectors of its sentences (`sentence_spans` order) when given."""
        a = article
        self._conn.execute(
            "INSERT OR REPLACE INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            article_values(a, file),
        )
        blobs = [v.astype(np.float16).tobytes() for v in sentence_vectors or []]
        self._conn.executemany(
            "INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (pid, a.id, n, s, e, a.text[s:e], blobs[n] if blobs else None)
                for n, (pid, s, e) in enumerate(passages)
            ],
        )
        lang = lexical.guess_language(a.text, a.lang)
        self._conn.executemany(
            "INSERT INTO passages_fts (rowid, terms) VALUES (?, ?)",
            [(pid, lexical.document(titled(a.title, a.text[s:e]), lang)) for pid, s, e in passages],
        )
