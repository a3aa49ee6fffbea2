"""The seam for vector storage: a small protocol, one module per engine.

FAISS (`faiss_store.py`) keeps vectors in the index folder; only ids and vectors live there,
text and metadata in the SQLite text store under the same ids. PostgreSQL with pgvector
(`pg_store.py`) keeps everything in the database and answers `VectorSearch` itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np


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


def new_store(kind: str, dimension: int, **options: int) -> VectorStore:
    """An empty store; `options` are the engine's tuning (FAISS: ann_min_vectors, nprobe)."""
    if kind == "faiss":
        from .faiss_store import FaissStore

        return FaissStore.empty(dimension, **options)
    raise ValueError(f"unknown vector store {kind!r}; known: faiss")


def load_store(kind: str, folder: Path, dimension: int, **options: int) -> VectorStore:
    if kind == "faiss":
        from .faiss_store import FaissStore

        return FaissStore.load(folder, dimension, **options)
    raise ValueError(f"unknown vector store {kind!r}; known: faiss")
