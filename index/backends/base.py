"""What every storage engine is to the rest of Khabar: the protocols a backend implements.

Building hands an engine the corpus and the model (`Backend.build`); answering reads the
published index through `OpenIndex` (vectors, passages, BM25, the article list). Nothing here
knows FAISS, SQLite or PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ..articles.article import Article
from ..build.manifest import Manifest
from ..build.pipeline import BuildReport, ProgressFactory
from ..model.embedder import Embedder
from .rows import PassageRow


class VectorSearch(Protocol):
    """Nearest-neighbour search over L2-normalised vectors by inner product (= cosine): all
    that answering needs (FAISS, or PostgreSQL's `PgIndex`)."""

    kind: str
    dimension: int

    def __len__(self) -> int: ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """For each query row, the top `k` (scores, ids); missing slots have id -1."""

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of these ids (n × dimension), for exact rescoring."""


class VectorStore(VectorSearch, Protocol):
    """A vector store a build writes into a folder."""

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add `vectors` (n × dimension, float32) under `ids` (n, int64)."""

    def remove(self, ids: np.ndarray) -> int:
        """Remove the vectors with these ids; returns how many were removed."""

    def save(self, folder: Path) -> None:
        """Write the store's files into `folder` (durably: fsynced)."""


class TextReader(Protocol):
    """What answering reads besides vectors: passages, BM25 and the article list."""

    def passages(self, ids: Sequence[int]) -> dict[int, PassageRow]: ...
    def lexical_search(self, stems: Sequence[str], k: int) -> list[tuple[int, float]]: ...
    def counts(self) -> tuple[int, int]: ...
    def articles(self) -> list[Article]: ...
    def passage_ids(self, article_ids: Iterable[str]) -> list[int]: ...


@dataclass(frozen=True)
class OpenIndex:
    """A published index opened for reading. `key` names it; `published()` names the one
    published now (cheap), so a reader knows when to open the newer one."""

    key: str
    where: str
    manifest: Manifest
    vectors: VectorSearch
    text: TextReader
    published: Callable[[], str | None]
    size_bytes: Callable[[], int]
    close: Callable[[], None]


class Backend(Protocol):
    """An engine that builds and serves Khabar's index."""

    name: str  # what the manifest's `store` says: "faiss", "pgvector"

    def where(self) -> str:
        """Where the index is, for people (never with a password)."""

    def build(
        self,
        embedder: Embedder | None,
        *,
        full: bool,
        progress: ProgressFactory | None,
        shard: tuple[int, int] | None,
    ) -> BuildReport:
        """Bring the index up to date with the corpus; readers never see half a build."""

    def open(self, *, search: bool = True) -> OpenIndex:
        """The published index (`IndexNotBuilt` when there is none); `search=False` when only
        its manifest and counts are wanted."""
