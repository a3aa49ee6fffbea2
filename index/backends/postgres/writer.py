"""Writing into one schema of an index in PostgreSQL (`PgWriter`): a file's articles, passages,
vectors and BM25 counts change in one transaction, so a reader sees an article before or after a
change, never half of it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ...articles import lexical
from ...articles.article import Article
from ..rows import article_values
from .store import insert_passages, schema_counts, stems_of


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
                    article_values(a, path),
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
