"""The index in a folder: FAISS vectors and a SQLite text store, one generation per build.

Incremental by default, atomic always. Only new or changed articles are chunked and embedded;
the vectors of unchanged ones are carried over from the previous generation. An unchanged corpus
is detected from file hashes alone, without loading the model. The new generation is written
beside the old one, fsynced, and published by one atomic rename (`layout.publish`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...articles.article import Article, FileResult
from ...build import pipeline
from ...build.manifest import Manifest, file_digest
from ...build.pipeline import BuildReport, ProgressFactory
from ...errors import CorpusMissing, IndexNotBuilt, IndexWriteFailed, KhabarError
from ...model.embedder import BULK_PASSAGES, Embedder
from ...settings import Settings
from ..base import OpenIndex, VectorStore
from . import layout
from .textstore import FILE_NAME as SQLITE_FILE
from .textstore import TextStore
from .vectorstore import load_store, new_store


@dataclass
class _Previous:
    """The published index a build starts from, when its vectors can be carried over."""

    generation: Path
    manifest: Manifest
    text: TextStore


class FolderBackend:
    name = "faiss"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def where(self) -> str:
        return str(self.settings.index_dir)

    # --- reading ---------------------------------------------------------------------------
    def open(self, *, search: bool = True) -> OpenIndex:
        index_dir = self.settings.index_dir
        generation = layout.current_generation(index_dir)
        if generation is None:
            raise IndexNotBuilt(index_dir)
        manifest = Manifest.load(generation)
        manifest.check_files(generation)
        vectors = load_store(
            manifest.store, generation, manifest.dimension, **self.settings.store_options
        )
        text = TextStore.open_readonly(generation / SQLITE_FILE)
        if search and self.settings.retriever != "dense":
            text.prepare_search()
        return OpenIndex(
            key=str(generation),
            where=str(index_dir),
            manifest=manifest,
            vectors=vectors,
            text=text,
            published=self._published,
            size_bytes=lambda: layout.disk_usage(generation),
            close=text.close,
        )

    def _published(self) -> str | None:
        generation = layout.current_generation(self.settings.index_dir)
        return None if generation is None else str(generation)

    # --- building --------------------------------------------------------------------------
    def build(
        self,
        embedder: Embedder | None,
        *,
        full: bool = False,
        progress: ProgressFactory | None = None,
        shard: tuple[int, int] | None = None,
    ) -> BuildReport:
        if shard is not None and shard[1] > 1:
            raise KhabarError(
                "sharded builds write into PostgreSQL: set KHABAR_DATABASE_URL (docs/scaling.md)"
            )
        started = time.perf_counter()
        settings = self.settings
        corpus, index_dir = settings.corpus_dir, settings.index_dir
        if not corpus.is_dir():
            raise CorpusMissing(corpus)
        with layout.build_lock(index_dir):
            layout.remove_stale(index_dir)
            report = BuildReport(full=True)
            old = None if full else self._reusable(layout.current_generation(index_dir), report)
            found = pipeline.scan(corpus, settings.max_article_bytes, report)
            reread = pipeline.needs_reread(old.manifest if old else None)
            changed, removed = found.diff(old.text.file_hashes() if old else {}, reread)
            if old is not None and not changed and not removed:
                report.articles, report.passages = old.text.counts()
                report.unchanged = report.articles
                old.text.close()
                report.seconds = time.perf_counter() - started
                return report
            embedder = embedder or Embedder.from_settings(settings)
            if changed:  # load beside reading the old index and the changed articles
                # From BULK_PASSAGES files on there are at least as many passages: they encode
                # on torch, so ONNX Runtime's session is not worth loading ahead.
                embedder.preload(session=len(changed) < BULK_PASSAGES)
            old_vectors = self._old_vectors(old, report)
            if old_vectors is None:
                old, changed, removed = None, sorted(found.digests), []
            parsed = pipeline.parse(changed, found, report)
            generation = layout.new_generation(index_dir)
            try:
                if old is not None and old_vectors is not None:
                    old.text.close()
                    text = TextStore.copy_of(old.generation / SQLITE_FILE, generation / SQLITE_FILE)
                    vectors = old_vectors
                else:
                    text = TextStore.create(generation / SQLITE_FILE)
                    vectors = new_store("faiss", embedder.dimension, **settings.store_options)
                work = _Work(settings, embedder, text, vectors, report)
                work.update(parsed, found.digests, removed, progress)
                manifest = pipeline.new_manifest(
                    settings, vectors.dimension, self._prompts(embedder, old), vectors.kind
                )
                self._publish(manifest, generation, text, vectors, report)
            except (OSError, sqlite3.Error) as exc:
                if layout.current_generation(index_dir) != generation:
                    shutil.rmtree(generation, ignore_errors=True)  # give the space back now
                raise IndexWriteFailed(index_dir, _reason(exc)) from exc
            report.seconds = time.perf_counter() - started
            return report

    def _reusable(self, previous: Path | None, report: BuildReport) -> _Previous | None:
        """The previous index, when its vectors can be carried over (same model, chunking)."""
        if previous is None:
            return None
        try:
            manifest = Manifest.load(previous)
            manifest.check_files(previous)
            changed = pipeline.changes(manifest, self.settings)
            if changed:
                report.note = pipeline.rebuilt_because(changed)
                return None
            text = TextStore.open_readonly(previous / SQLITE_FILE)
        except KhabarError as exc:
            report.note = f"the previous index could not be reused ({exc}): rebuilt in full"
            return None
        report.full = False
        return _Previous(previous, manifest, text)

    def _old_vectors(self, old: _Previous | None, report: BuildReport) -> VectorStore | None:
        """The previous vectors, or None (and a full rebuild) when they cannot be read."""
        if old is None:
            return None
        m = old.manifest
        try:
            return load_store(m.store, old.generation, m.dimension, **self.settings.store_options)
        except KhabarError as exc:
            old.text.close()
            report.note = f"the previous index could not be reused ({exc}): rebuilt in full"
            report.full = True
            return None

    def _prompts(self, embedder: Embedder, previous: _Previous | None) -> tuple[str, str]:
        """The passage and query prompts of the new index: the previous index's when its
        vectors were kept (so removing an article never loads the model), else the model's."""
        if previous is None:
            return embedder.passage_prompt, embedder.query_prompt
        query = self.settings.query_prompt
        m = previous.manifest
        return m.passage_prompt, query if query is not None else m.query_prompt

    def _publish(
        self,
        manifest: Manifest,
        generation: Path,
        text: TextStore,
        vectors: VectorStore,
        report: BuildReport,
    ) -> None:
        """Write the new generation durably and make it the current index."""
        text.commit()
        report.articles, report.passages = text.counts()
        report.unchanged = report.articles - report.added - report.changed
        text.close()
        vectors.save(generation)
        files = sorted(p for p in generation.iterdir() if p.is_file())
        dataclasses.replace(
            manifest,
            built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            articles=report.articles,
            passages=report.passages,
            file_sizes={p.name: p.stat().st_size for p in files},
            file_digests={p.name: file_digest(p) for p in files},
        ).save(generation)
        layout.publish(self.settings.index_dir, generation)
        report.published = True
        layout.remove_stale(self.settings.index_dir)


@dataclass
class _Work:
    """One build's changes applied to the new generation's text and vector stores."""

    settings: Settings
    embedder: Embedder
    text: TextStore
    vectors: VectorStore
    report: BuildReport

    def update(
        self,
        parsed: dict[str, FileResult],
        digests: dict[str, str],
        removed_files: list[str],
        progress: ProgressFactory | None,
    ) -> None:
        """Apply removed and changed files; embed what is new."""
        text = self.text
        for rel in removed_files:
            gone = list(text.article_hashes([rel]))
            self._drop(gone)
            text.remove_file(rel)
            self.report.removed += len(gone)
        to_embed: list[tuple[str, Article]] = []
        for rel, result in parsed.items():
            before = text.article_hashes([rel])
            gone, fresh = pipeline.sort_changes(before, result.articles, self.report)
            self._drop(gone + [a.id for a in fresh if a.id in before])
            to_embed.extend((rel, article) for article in fresh)
            text.set_file(rel, digests[rel])
        self.report.embedded = self._embed(to_embed, progress)

    def _drop(self, article_ids: list[str]) -> None:
        if not article_ids:
            return
        self.vectors.remove(np.array(self.text.passage_ids(article_ids), dtype=np.int64))
        self.text.remove_articles(article_ids)

    def _embed(self, articles: list[tuple[str, Article]], progress: ProgressFactory | None) -> int:
        planned = pipeline.plan_articles(self.settings, self.embedder, articles)
        total = sum(len(p.spans) for p in planned)
        if not total:
            return 0
        first = self.text.next_passage_id()
        embedded = pipeline.embed_planned(
            self.settings,
            self.embedder,
            planned,
            lambda n: list(range(first, first + n)),
            progress(total) if progress else None,
        )
        for e in embedded:
            self.text.add_article(e.rel, e.article, e.rows, e.sentences)
        ids = np.array([pid for e in embedded for pid, _, _ in e.rows], dtype=np.int64)
        self.vectors.add(ids, np.concatenate([e.vectors for e in embedded]))
        return total


def _reason(exc: OSError | sqlite3.Error) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
