"""The folder engine's vector stores by kind (`VectorStore`, `../base.py`): FAISS is the one.

FAISS (`faiss_store.py`) keeps vectors in the index folder; only ids and vectors live there,
text and metadata in the SQLite text store under the same ids. PostgreSQL with pgvector
(`../postgres/`) keeps everything in the database and answers `VectorSearch` itself.
"""

from __future__ import annotations

from pathlib import Path

from ..base import VectorStore


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
