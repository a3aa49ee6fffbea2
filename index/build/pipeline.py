"""What every backend's build does the same way: scan → diff → parse → plan → embed.

A backend (`backends/`) decides where the previous index is and where the new vectors and text
go; this module decides which files changed, which articles to embed, how an article is cut
into passages and how passages become vectors. Pure but for reading the corpus and the model.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..articles.article import Article, FileResult, titled
from ..articles.chunking import chunk_text
from ..articles.formats import READER_VERSION, iter_corpus_files, read_article_bytes
from ..articles.lexical import STEMS_VERSION
from ..articles.sentences import SPLITTER_VERSION, sentence_spans
from ..errors import ArticleError
from ..model.embedder import Embedder
from ..settings import Settings
from .manifest import Manifest

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
class Scan:
    """The corpus as it is now: each readable file's SHA-256 and path, by relative path."""

    digests: dict[str, str]
    paths: dict[str, Path]

    def diff(self, indexed: dict[str, str], reread: bool) -> tuple[list[str], list[str]]:
        """The files to read again (new or changed, or all when `reread`) and the files gone,
        against `indexed` (path → SHA-256 of what the index holds)."""
        changed = sorted(p for p, d in self.digests.items() if reread or indexed.get(p) != d)
        removed = sorted(set(indexed) - set(self.digests))
        return changed, removed


def scan(corpus: Path, max_bytes: int, report: BuildReport) -> Scan:
    """Hash every article file; unreadable or too large ones go to `report.skipped`."""
    found = Scan({}, {})
    for path in iter_corpus_files(corpus):
        rel = path.relative_to(corpus).as_posix()
        try:
            if path.stat().st_size > max_bytes:
                raise ArticleError(f"larger than {max_bytes} bytes (KHABAR_MAX_ARTICLE_BYTES)")
            data = path.read_bytes()
        except (OSError, ArticleError) as exc:
            report.skipped.append((rel, str(exc)))
            continue
        found.digests[rel] = hashlib.sha256(data).hexdigest()
        found.paths[rel] = path
    return found


def needs_reread(manifest: Manifest | None) -> bool:
    """Whether the index was read by an older article reader (every file is read again)."""
    return manifest is not None and manifest.reader_version != READER_VERSION


def parse(changed: list[str], found: Scan, report: BuildReport) -> dict[str, FileResult]:
    """Read the changed files into articles; a file that cannot be read is skipped, said."""
    parsed: dict[str, FileResult] = {}
    for rel in changed:
        try:
            result = read_article_bytes(rel, found.paths[rel].read_bytes())
        except (OSError, ArticleError) as exc:
            report.skipped.append((rel, str(exc)))
            continue
        report.problems.extend(result.problems)
        parsed[rel] = result
    return parsed


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
    if manifest.splitter_version != SPLITTER_VERSION:
        found.append("sentence splitting")
    if manifest.stems_version != STEMS_VERSION:
        found.append("the words' stems")
    return found


def rebuilt_because(changed: list[str]) -> str:
    return f"{' and '.join(changed)} changed since the last build: rebuilt in full"


def compatible(manifest: Manifest, settings: Settings) -> bool:
    """Whether `manifest`'s vectors can be kept under `settings`."""
    return not changes(manifest, settings)


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
    # The titles are tokenized once, together: each is cut to `TITLE_TOKENS` from those spans.
    title_spans = embedder.token_spans([a.title for _, a in articles])
    planned = []
    for (rel, article), title_tokens in zip(articles, title_spans, strict=True):
        title = short_title(article.title, title_tokens)
        max_tokens = max(16, limit - min(len(title_tokens), TITLE_TOKENS) - 1)
        spans = chunk_text(
            article.text,
            embedder.token_spans,
            target_tokens=settings.chunk_tokens,
            max_tokens=max_tokens,
            overlap_tokens=settings.chunk_overlap_tokens,
        )
        inputs, sentences = [], []
        shift = len(titled(title, ""))  # sentence spans are into the passage, after the title
        for span in spans:
            passage = article.text[span.start : span.end]
            inputs.append(titled(title, passage))
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


def short_title(title: str, spans: list[tuple[int, int]]) -> str:
    """The title cut to `TITLE_TOKENS` tokens (`spans`: its tokens' character offsets), so that
    it leaves room for the passage."""
    return title if len(spans) <= TITLE_TOKENS else title[: spans[TITLE_TOKENS - 1][1]]


def new_manifest(
    settings: Settings, dimension: int, prompts: tuple[str, str], store: str
) -> Manifest:
    """How a new index is built, in the words `changes` compares: every backend's manifest."""
    return Manifest(
        model=settings.model,
        dimension=dimension,
        chunk_tokens=settings.chunk_tokens,
        chunk_overlap_tokens=settings.chunk_overlap_tokens,
        passage_prompt=prompts[0],
        query_prompt=prompts[1],
        store=store,
        precision=settings.precision,
        sentence_vectors=settings.sentence_vectors,
        reader_version=READER_VERSION,
        splitter_version=SPLITTER_VERSION,
        stems_version=STEMS_VERSION,
    )
