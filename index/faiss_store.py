"""The FAISS implementation of `VectorStore`: the only module that imports faiss."""

from __future__ import annotations

import os
from pathlib import Path

import faiss
import numpy as np

from .errors import IndexCorrupt

FILE_NAME = "vectors.faiss"


class FaissStore:
    kind = "faiss"

    def __init__(self, index: faiss.Index, dimension: int) -> None:
        self._index = index
        self.dimension = dimension

    @classmethod
    def empty(cls, dimension: int) -> FaissStore:
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dimension)), dimension)

    @classmethod
    def load(cls, folder: Path, dimension: int) -> FaissStore:
        path = folder / FILE_NAME
        if not path.is_file():
            raise IndexCorrupt(f"{path} is missing")
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise IndexCorrupt(f"{path} cannot be read ({_first_line(exc)})") from None
        if index.d != dimension:
            raise IndexCorrupt(f"{path} holds {index.d}-d vectors, the manifest says {dimension}")
        return cls(index, dimension)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape != (len(ids), self.dimension):
            raise ValueError(f"expected {len(ids)}×{self.dimension} vectors, got {vectors.shape}")
        self._index.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> int:
        if len(ids) == 0:
            return 0
        selector = faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))
        return int(self._index.remove_ids(selector))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, len(self))) if len(self) else 1
        if not len(self):
            n = queries.shape[0]
            return np.zeros((n, 0), dtype=np.float32), np.zeros((n, 0), dtype=np.int64)
        scores, ids = self._index.search(queries, k)
        return scores, ids

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        out = np.zeros((len(ids), self.dimension), dtype=np.float32)
        for row, vid in enumerate(ids):
            out[row] = self._index.reconstruct(int(vid))
        return out

    def save(self, folder: Path) -> None:
        path = folder / FILE_NAME
        faiss.write_index(self._index, str(path))
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _first_line(exc: Exception) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[-1].strip() if lines else type(exc).__name__
