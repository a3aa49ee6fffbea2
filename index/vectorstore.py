"""The seam for vector storage: a small protocol, one module per engine.

FAISS (`faiss_store.py`) is the one implementation today; an engine spanning many machines
plugs in by adding a module and a name in `open_store`/`load_store`, without touching callers.
Only ids and vectors live here; text and metadata live in the text store under the same ids.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np


class VectorStore(Protocol):
    """Nearest-neighbour search over L2-normalised vectors by inner product (= cosine)."""

    kind: str
    dimension: int

    def __len__(self) -> int: ...

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add `vectors` (n × dimension, float32) under `ids` (n, int64)."""

    def remove(self, ids: np.ndarray) -> int:
        """Remove the vectors with these ids; returns how many were removed."""

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """For each query row, the top `k` (scores, ids); missing slots have id -1."""

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of these ids (n × dimension), for exact rescoring."""

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
