"""Building the index: incremental by default, atomic always.

Only new or changed articles are chunked and embedded; the vectors of unchanged ones are carried
over from the previous index. An unchanged corpus is detected from file hashes alone, without
loading the model. The new index is written beside the old one and published atomically.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import layout
from .articles import READER_VERSION, Article, FileResult, iter_corpus_files, read_article_bytes
from .chunking import chunk_text
from .embedder import BULK_PASSAGES, Embedder
from .errors import ArticleError, CorpusMissing, IndexWriteFailed, KhabarError
from .manifest import Manifest, file_digest
from .sentences import sentence_spans
from .settings import Settings
from .textstore import FILE_NAME as SQLITE_FILE
from .textstore import TextStore
from .vectorstore import VectorStore, load_store, new_store

TITLE_TOKENS = 24

ProgressFactory = Callable[[int], Callable[[int], None]]
"""Given the number of passages to embed, returns a callback taking how many were just done."""


@dataclass
class BuildReport:
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    articles: int = 0
    passages: int = 0
    embedded: int = 0
    seconds: float = 0.0
    full: bool = False
    published: bool = False
    note: str = ""


@dataclass
class _Scan:
    digests: dict[str, str]
    paths: dict[str, Path]


@dataclass
class _Previous:
    """The published index a build starts from, when its vectors can be carried over."""

    generation: Path
    manifest: Manifest
    text: TextStore


def build_index(
    settings: Settings,
    *,
    full: bool = False,
    embedder: Embedder | None = None,
    progress: ProgressFactory | None = None,
    shard: tuple[int, int] | None = None,
) -> BuildReport:
    """Bring the index up to date with `settings.corpus_dir`: the folder `settings.index_dir`,
    or with `settings.database_url`, PostgreSQL (where `shard` (I, N) builds one part)."""
    if embedder is not None and embedder.name != settings.model:
        raise ValueError(
            f"embedder {embedder.name!r} is not the settings' model {settings.model!r}"
        )
    if settings.database_url is not None:
        from .pg_builder import build_pg

        return build_pg(
            settings, full=full, embedder=embedder, progress=progress, shard=shard or (0, 1)
        )
    if shard is not None and shard[1] > 1:
        raise KhabarError(
            "sharded builds write into PostgreSQL: set KHABAR_DATABASE_URL (see docs/scaling.md)"
        )
    started = time.perf_counter()
    corpus, index_dir = settings.corpus_dir, settings.index_dir
    if not corpus.is_dir():
        raise CorpusMissing(corpus)
    with layout.build_lock(index_dir):
        layout.remove_stale(index_dir)
        report = BuildReport(full=True)
        old = None if full else _reusable(layout.current_generation(index_dir), settings, report)
        scan = _scan(corpus, settings.max_article_bytes, report)
        old_files = old.text.file_hashes() if old else {}
        reread = old is not None and old.manifest.reader_version != READER_VERSION
        changed = sorted(p for p, d in scan.digests.items() if reread or old_files.get(p) != d)
        removed = sorted(set(old_files) - set(scan.digests))
        if old is not None and not changed and not removed:
            report.articles, report.passages = old.text.counts()
            report.unchanged = report.articles
            old.text.close()
            report.seconds = time.perf_counter() - started
            return report
        embedder = embedder or Embedder.from_settings(settings)
        if changed:  # load beside reading the old index and the changed articles
            # From BULK_PASSAGES files on there are at least as many passages: they encode on
            # torch, so ONNX Runtime's session is not worth loading ahead.
            embedder.preload(session=len(changed) < BULK_PASSAGES)
        old_vectors = _old_vectors(old, settings, report)
        if old_vectors is None:
            old, changed, removed = None, sorted(scan.digests), []
        parsed = _parse(changed, scan, report)
        generation = layout.new_generation(index_dir)
        try:
            if old is not None and old_vectors is not None:
                old.text.close()
                text = TextStore.copy_of(old.generation / SQLITE_FILE, generation / SQLITE_FILE)
                vectors = old_vectors
            else:
                text = TextStore.create(generation / SQLITE_FILE)
                vectors = new_store("faiss", embedder.dimension, **settings.store_options)
            _update(
                settings, embedder, text, vectors, parsed, scan.digests, removed, report, progress
            )
            prompts = _prompts(settings, embedder, old.manifest if old else None)
            _publish(settings, prompts, generation, text, vectors, report)
        except (OSError, sqlite3.Error) as exc:
            if layout.current_generation(index_dir) != generation:
                shutil.rmtree(generation, ignore_errors=True)  # give the space back now
            raise IndexWriteFailed(index_dir, _reason(exc)) from exc
        report.seconds = time.perf_counter() - started
        return report


def _reason(exc: OSError | sqlite3.Error) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _reusable(previous: Path | None, settings: Settings, report: BuildReport) -> _Previous | None:
    """The previous index, when its vectors can be carried over (same model and chunking)."""
    if previous is None:
        return None
    try:
        manifest = Manifest.load(previous)
        manifest.check_files(previous)
        changed = changes(manifest, settings)
        if changed:
            report.note = rebuilt_because(changed)
            return None
        text = TextStore.open_readonly(previous / SQLITE_FILE)
    except KhabarError as exc:
        report.note = f"the previous index could not be reused ({exc}): rebuilt in full"
        return None
    report.full = False
    return _Previous(previous, manifest, text)


def _old_vectors(
    old: _Previous | None, settings: Settings, report: BuildReport
) -> VectorStore | None:
    """The previous vectors, or None (and a full rebuild) when they cannot be read."""
    if old is None:
        return None
    try:
        return load_store(
            old.manifest.store, old.generation, old.manifest.dimension, **settings.store_options
        )
    except KhabarError as exc:
        old.text.close()
        report.note = f"the previous index could not be reused ({exc}): rebuilt in full"
        report.full = True
        return None


def _scan(corpus: Path, max_bytes: int, report: BuildReport) -> _Scan:
    scan = _Scan({}, {})
    for path in iter_corpus_files(corpus):
        rel = path.relative_to(corpus).as_posix()
        try:
            if path.stat().st_size > max_bytes:
                raise ArticleError(f"larger than {max_bytes} bytes (KHABAR_MAX_ARTICLE_BYTES)")
            data = path.read_bytes()
        except (OSError, ArticleError) as exc:
            report.skipped.append((rel, str(exc)))
            continue
        scan.digests[rel] = hashlib.sha256(data).hexdigest()
        scan.paths[rel] = path
    return scan


def _parse(changed: list[str], scan: _Scan, report: BuildReport) -> dict[str, FileResult]:
    parsed: dict[str, FileResult] = {}
    for rel in changed:
        try:
            result = read_article_bytes(rel, scan.paths[rel].read_bytes())
        except (OSError, ArticleError) as exc:
            report.skipped.append((rel, str(exc)))
            continue
        report.problems.extend(result.problems)
        parsed[rel] = result
    return parsed


def _update(
    settings: Settings,
    embedder: Embedder,
    text: TextStore,
    vectors: VectorStore,
    parsed: dict[str, FileResult],
    digests: dict[str, str],
    removed_files: list[str],
    report: BuildReport,
    progress: ProgressFactory | None,
) -> None:
    """Apply removed and changed files to the new generation's stores; embed what is new."""
    for rel in removed_files:
        gone = list(text.article_hashes([rel]))
        _drop(text, vectors, gone)
        text.remove_file(rel)
        report.removed += len(gone)

    to_embed: list[tuple[str, Article]] = []
    for rel, result in parsed.items():
        before = text.article_hashes([rel])
        gone, fresh = sort_changes(before, result.articles, report)
        _drop(text, vectors, gone + [a.id for a in fresh if a.id in before])
        to_embed.extend((rel, article) for article in fresh)
        text.set_file(rel, digests[rel])

    report.embedded = _embed_articles(settings, embedder, text, vectors, to_embed, progress)


def sort_changes(
    before: dict[str, str], articles: list[Article], report: BuildReport
) -> tuple[list[str], list[Article]]:
    """A file's articles against what the index held of it (id → content hash): the ids that
    are gone, and the articles to embed (new or changed), counted into `report`."""
    now = {a.id for a in articles}
    gone = [aid for aid in before if aid not in now]
    report.removed += len(gone)
    fresh = []
    for article in articles:
        if article.id not in before:
            report.added += 1
        elif before[article.id] != article.content_hash:
            report.changed += 1
        else:
            continue
        fresh.append(article)
    return gone, fresh


def changes(manifest: Manifest, settings: Settings) -> list[str]:
    """What differs between how `manifest`'s index was built and `settings`, in words; any of
    it means the stored vectors cannot be kept."""
    found = []
    if manifest.model != settings.model:
        found.append("the model")
    if settings.precision != manifest.precision:
        found.append("the runtime precision")
    if (manifest.chunk_tokens, manifest.chunk_overlap_tokens) != (
        settings.chunk_tokens,
        settings.chunk_overlap_tokens,
    ) or settings.passage_prompt not in (None, manifest.passage_prompt):
        found.append("chunking")
    if manifest.sentence_vectors != settings.sentence_vectors:
        found.append("the sentence vectors")
    return found


def rebuilt_because(changed: list[str]) -> str:
    return f"{' and '.join(changed)} changed since the last build: rebuilt in full"


def compatible(manifest: Manifest, settings: Settings) -> bool:
    """Whether `manifest`'s vectors can be kept under `settings`."""
    return not changes(manifest, settings)


def _prompts(settings: Settings, embedder: Embedder, previous: Manifest | None) -> tuple[str, str]:
    """The passage and query prompts of the new index: the previous index's when its vectors
    were kept (so removing an article never loads the model), else the model's."""
    if previous is None:
        return embedder.passage_prompt, embedder.query_prompt
    query = settings.query_prompt
    return previous.passage_prompt, query if query is not None else previous.query_prompt


def _publish(
    settings: Settings,
    prompts: tuple[str, str],
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
    Manifest(
        model=settings.model,
        dimension=vectors.dimension,
        chunk_tokens=settings.chunk_tokens,
        chunk_overlap_tokens=settings.chunk_overlap_tokens,
        passage_prompt=prompts[0],
        query_prompt=prompts[1],
        store=vectors.kind,
        precision=settings.precision,
        sentence_vectors=settings.sentence_vectors,
        built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        articles=report.articles,
        passages=report.passages,
        reader_version=READER_VERSION,
        file_sizes={p.name: p.stat().st_size for p in files},
        file_digests={p.name: file_digest(p) for p in files},
    ).save(generation)
    layout.publish(settings.index_dir, generation)
    report.published = True
    layout.remove_stale(settings.index_dir)


def _drop(text: TextStore, vectors: VectorStore, article_ids: list[str]) -> None:
    if not article_ids:
        return
    vectors.remove(np.array(text.passage_ids(article_ids), dtype=np.int64))
    text.remove_articles(article_ids)


def embedding_text(title: str, passage: str) -> str:
    """What the model reads for a passage: the article's title gives it context."""
    return f"{title}\n{passage}"


@dataclass
class Planned:
    """An article cut into passages, ready to embed: what the model reads for each passage
    and where its sentences are (for the sentence vectors)."""

    rel: str
    article: Article
    spans: list[tuple[int, int]]  # passages, as character offsets into the article's text
    inputs: list[str]
    sentences: list[list[tuple[int, int]]]


@dataclass
class Embedded:
    rel: str
    article: Article
    rows: list[tuple[int, int, int]]  # (passage id, start, end)
    vectors: np.ndarray  # one row per passage
    sentences: list[np.ndarray]  # per passage, the vectors of its sentences


def plan_articles(
    settings: Settings, embedder: Embedder, articles: list[tuple[str, Article]]
) -> list[Planned]:
    """Cut each article into passages of about `chunk_tokens` tokens (pure but for the
    tokenizer): cheap next to embedding, so a build knows how much work is ahead."""
    if not articles:
        return []
    limit = embedder.max_tokens
    titles = [_short_title(embedder, a.title) for _, a in articles]
    title_tokens = embedder.token_spans(titles)
    planned = []
    for (rel, article), title, ttoks in zip(articles, titles, title_tokens, strict=True):
        max_tokens = max(16, limit - len(ttoks) - 1)
        spans = chunk_text(
            article.text,
            embedder.token_spans,
            target_tokens=settings.chunk_tokens,
            max_tokens=max_tokens,
            overlap_tokens=settings.chunk_overlap_tokens,
        )
        inputs, sentences = [], []
        shift = len(title) + 1  # sentence spans are into the passage, after "title\n"
        for span in spans:
            passage = article.text[span.start : span.end]
            inputs.append(embedding_text(title, passage))
            sentences.append([(a + shift, b + shift) for a, b in sentence_spans(passage)])
        planned.append(Planned(rel, article, [(s.start, s.end) for s in spans], inputs, sentences))
    return planned


def embed_planned(
    settings: Settings,
    embedder: Embedder,
    planned: list[Planned],
    passage_ids: Callable[[int], list[int]],
    callback: Callable[[int], None] | None,
) -> list[Embedded]:
    """Embed the passages of `planned` in one pass (batched by length), ids from
    `passage_ids(n)`."""
    inputs = [text for p in planned for text in p.inputs]
    if not inputs:
        return []
    sentences = [s for p in planned for s in p.sentences]
    matrix, pooled = embedder.encode_passages(
        inputs,
        settings.embed_batch_size,
        callback,
        sentences,
        encode_sentences=settings.sentence_vectors == "encoded",
    )
    ids = passage_ids(len(inputs))
    out, at = [], 0
    for p in planned:
        n = len(p.spans)
        rows = [(pid, s, e) for pid, (s, e) in zip(ids[at : at + n], p.spans, strict=True)]
        out.append(Embedded(p.rel, p.article, rows, matrix[at : at + n], list(pooled[at : at + n])))
        at += n
    return out


def _embed_articles(
    settings: Settings,
    embedder: Embedder,
    text: TextStore,
    vectors: VectorStore,
    articles: list[tuple[str, Article]],
    progress: ProgressFactory | None,
) -> int:
    planned = plan_articles(settings, embedder, articles)
    total = sum(len(p.spans) for p in planned)
    if not total:
        return 0
    first = text.next_passage_id()
    callback = progress(total) if progress else None
    embedded = embed_planned(
        settings, embedder, planned, lambda n: list(range(first, first + n)), callback
    )
    for e in embedded:
        text.add_article(e.rel, e.article, e.rows, e.sentences)
    ids = np.array([pid for e in embedded for pid, _, _ in e.rows], dtype=np.int64)
    vectors.add(ids, np.concatenate([e.vectors for e in embedded]))
    return total


def _short_title(embedder: Embedder, title: str) -> str:
    spans = embedder.token_spans([title])[0]
    return title if len(spans) <= TITLE_TOKENS else title[: spans[TITLE_TOKENS - 1][1]]
