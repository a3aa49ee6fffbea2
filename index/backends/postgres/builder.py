"""Building the index in PostgreSQL (`KHABAR_DATABASE_URL`), alone or as one of N shards.

`khabar index build --shard I/N` indexes only the articles whose id hashes to shard I, so N
machines build one index together; a plain build is shard 0/1. Each shard remembers what it
indexed of each file, so it only reads, chunks and embeds what changed for it.

- Into the published index (the usual, incremental case) each file's changes are one
  transaction: readers see an article before or after, never half-way.
- When there is no index yet, or the model or chunking changed, or `--full`: the shards fill
  a new schema, the "pending" one. Each shard records when it is done; the last one to finish
  builds the search indexes and publishes the schema by updating one row. A killed build leaves
  the pending schema unpublished; running it again resumes where its shard stopped.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from ...articles.article import Article
from ...build import pipeline
from ...build.manifest import Manifest
from ...build.pipeline import (
    BuildReport,
    Embedded,
    Planned,
    ProgressFactory,
    changes,
    compatible,
    embed_planned,
    plan_articles,
    rebuilt_because,
    sort_changes,
)
from ...errors import BuildLocked, CorpusMissing, KhabarError
from ...model.embedder import Embedder
from ...settings import Settings
from .publish import Publisher
from .store import (
    check_name,
    connect,
    ensure_catalog,
    manifest_json,
    manifest_of,
    schema_ddl,
    unreachable,
    where,
)
from .writer import PgWriter

WRITE_BATCHES = 32  # embedding batches per write: 1024 passages by default, then file by file


def parse_shard(text: str) -> tuple[int, int]:
    """ "I/N" → (I, N), with 0 ≤ I < N."""
    try:
        i, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise KhabarError(f"--shard {text!r}: write it as I/N, like 0/4 (shard 0 of 4)") from None
    if not 0 <= i < n:
        raise KhabarError(f"--shard {text!r}: I must be at least 0 and less than N")
    return i, n


def shard_of(article_id: str, shards: int) -> int:
    """The shard an article belongs to: a stable hash of its id (same on every machine)."""
    if shards == 1:
        return 0
    digest = hashlib.blake2b(article_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


def build_pg(
    settings: Settings,
    *,
    full: bool = False,
    embedder: Embedder | None = None,
    progress: ProgressFactory | None = None,
    shard: tuple[int, int] = (0, 1),
) -> BuildReport:
    import psycopg

    assert settings.database_url is not None
    url = settings.database_url.get_secret_value()
    name = check_name(settings.database_index)
    if not settings.corpus_dir.is_dir():
        raise CorpusMissing(settings.corpus_dir)
    conn = connect(url)
    try:
        return ShardBuild(settings, conn, name, shard, embedder, progress).run(full)
    except psycopg.OperationalError as exc:
        raise unreachable(url, exc) from None
    except psycopg.Error as exc:
        raise KhabarError(
            f"PostgreSQL at {where(url)} refused a write ({str(exc).splitlines()[0]}) — the "
            'published index is unchanged; fix the cause and run "khabar index build" again'
        ) from None
    finally:
        conn.close()


class ShardBuild:
    def __init__(
        self,
        settings: Settings,
        conn: Any,
        name: str,
        shard: tuple[int, int],
        embedder: Embedder | None,
        progress: ProgressFactory | None,
        manifest: Manifest | None = None,
    ) -> None:
        self._manifest = manifest  # a new index's manifest, when not made from the embedder
        self.settings = settings
        self.conn = conn
        self.name = name
        self.shard, self.shards = shard
        self.spec = f"{self.shard}/{self.shards}"
        self._embedder = embedder
        self.progress = progress
        self.report = BuildReport(full=False)
        self.publisher = Publisher(conn, name)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = Embedder.from_settings(self.settings)
        return self._embedder

    def run(self, full: bool) -> BuildReport:
        started = time.perf_counter()
        ensure_catalog(self.conn)
        self._lock()
        try:
            schema, manifest, pending = self.target(full)
            self._update(PgWriter(self.conn, schema), manifest)
            if pending:
                self.finish_shard(schema)
            else:
                self.publisher.touch_current(schema, manifest, self.report)
        finally:
            self.conn.execute("SELECT pg_advisory_unlock_all()")
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _lock(self) -> None:
        """One build per shard at a time; a plain build excludes every shard build (they would
        write the same articles), while the shards of one build run side by side."""
        whole = f"khabar build {self.name}"
        if self.shards == 1:
            locks = [("pg_try_advisory_lock", whole)]
        else:
            locks = [
                ("pg_try_advisory_lock_shared", whole),
                ("pg_try_advisory_lock", f"{whole} {self.spec}"),
            ]
        for function, key in locks:
            if not self.conn.execute(f"SELECT {function}(hashtext(%s))", (key,)).fetchone()[0]:
                self.conn.execute("SELECT pg_advisory_unlock_all()")
                raise BuildLocked(f"index {self.name!r} (shard {self.spec})", "another process")

    # --- where to write ------------------------------------------------------------------
    def target(self, full: bool) -> tuple[str, Manifest, bool]:
        """The schema to write into, its manifest, and whether it is a pending (full) build."""
        with self.conn.transaction():
            self.publisher.lock_catalog()
            row = self.conn.execute(
                "SELECT current, manifest, pending, pending_manifest FROM public.khabar_indexes "
                "WHERE name = %s",
                (self.name,),
            ).fetchone()
            current, cur_manifest, pending, pend_manifest = row or (None, None, None, None)
            if current and not full and compatible(manifest_of(cur_manifest), self.settings):
                return current, manifest_of(cur_manifest), False
            if current and not full:
                differ = changes(manifest_of(cur_manifest), self.settings)
                self.report.note = rebuilt_because(differ)
            self.report.full = True
            if pending and compatible(manifest_of(pend_manifest), self.settings):
                return pending, manifest_of(pend_manifest), True
            generation = self.conn.execute(
                "INSERT INTO public.khabar_indexes (name, generation) VALUES (%s, 1) "
                "ON CONFLICT (name) DO UPDATE SET generation = khabar_indexes.generation + 1 "
                "RETURNING generation",
                (self.name,),
            ).fetchone()[0]
            schema = f"khabar_{self.name}_{generation}"
            if pending:
                self.conn.execute(f'DROP SCHEMA IF EXISTS "{pending}" CASCADE')
            manifest = self._new_manifest()
            for statement in schema_ddl(schema, manifest.dimension):
                self.conn.execute(statement)
            self.conn.execute(
                "UPDATE public.khabar_indexes SET pending = %s, pending_manifest = %s "
                "WHERE name = %s",
                (schema, manifest_json(manifest), self.name),
            )
            return schema, manifest, True

    def _new_manifest(self) -> Manifest:
        if self._manifest is not None:
            return self._manifest
        e = self.embedder
        prompts = (e.passage_prompt, e.query_prompt)
        return pipeline.new_manifest(self.settings, e.dimension, prompts, "pgvector")

    # --- the work of this shard ----------------------------------------------------------
    def _update(self, writer: PgWriter, manifest: Manifest) -> None:
        report = self.report
        scan = pipeline.scan(self.settings.corpus_dir, self.settings.max_article_bytes, report)
        changed, removed = scan.diff(writer.file_hashes(self.spec), pipeline.needs_reread(manifest))
        before = writer.article_hashes(changed + removed)
        mine: Callable[[str], bool] = lambda aid: shard_of(aid, self.shards) == self.shard  # noqa: E731
        for rel in removed:
            gone = [aid for aid in before.get(rel, {}) if mine(aid)]
            writer.apply_file(self.spec, rel, None, gone, [])
            report.removed += len(gone)
        parsed = pipeline.parse(changed, scan, report)
        work: dict[str, tuple[list[str], list[Article]]] = {}
        for rel, result in parsed.items():
            had = {aid: h for aid, h in before.get(rel, {}).items() if mine(aid)}
            now = [a for a in result.articles if mine(a.id)]
            work[rel] = sort_changes(had, now, report)
        for rel, (gone, fresh) in work.items():  # files with nothing to embed: at once
            if not fresh:
                writer.apply_file(self.spec, rel, scan.digests[rel], gone, [])
        todo = [(rel, a) for rel, (_, fresh) in work.items() for a in fresh]
        if todo:
            self._embed(
                writer, plan_articles(self.settings, self.embedder, todo), work, scan.digests
            )
        report.articles, report.passages = writer.counts()
        report.unchanged = max(0, report.articles - report.added - report.changed)

    def _embed(
        self,
        writer: PgWriter,
        planned: list[Planned],
        work: dict[str, tuple[list[str], list[Article]]],
        digests: dict[str, str],
    ) -> None:
        """Embed in batches of whole files, writing each file in one transaction."""
        total = sum(len(p.spans) for p in planned)
        callback = self.progress(total) if self.progress and total else None
        by_file: dict[str, list[Planned]] = {}
        for p in planned:
            by_file.setdefault(p.rel, []).append(p)
        batch: list[Planned] = []
        for items in by_file.values():
            batch.extend(items)
            if sum(len(p.spans) for p in batch) >= self.settings.embed_batch_size * WRITE_BATCHES:
                self._write(writer, batch, work, digests, callback)
                batch = []
        if batch:
            self._write(writer, batch, work, digests, callback)
        self.report.embedded = total

    def _write(
        self,
        writer: PgWriter,
        batch: list[Planned],
        work: dict[str, tuple[list[str], list[Article]]],
        digests: dict[str, str],
        callback: Callable[[int], None] | None,
    ) -> None:
        embedded = embed_planned(self.settings, self.embedder, batch, writer.passage_ids, callback)
        by_file: dict[str, list[Embedded]] = {}
        for e in embedded:
            by_file.setdefault(e.rel, []).append(e)
        for rel, items in by_file.items():
            add = [
                (e.article, e.rows, e.vectors, [s.astype("float16").tobytes() for s in e.sentences])
                for e in items
            ]
            writer.apply_file(self.spec, rel, digests[rel], work[rel][0], add)

    # --- publishing (publish.py) ---------------------------------------------------------------
    def finish_shard(self, schema: str) -> None:
        """Record this shard as done; the last shard of a full build publishes the schema."""
        self.publisher.finish_shard(schema, self.spec, self.shards, self.report)
