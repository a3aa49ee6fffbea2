"""The FAISS implementation of `VectorStore`: the only module that imports faiss.

Small corpora use exact search (`IndexFlatIP`: every vector compared, recall 1.0). From
`ann_min_vectors` vectors on, saving turns the store into an inverted-file index (`IndexIVFFlat`
with √n·4 lists, searched `nprobe` lists deep): a search then reads a few thousand vectors
instead of all of them — see docs/benchmarks.md for where the two cross. IVF keeps ids, removals
and exact stored vectors, so incremental builds work the same; it is retrained when the corpus
has grown fourfold since training (or shrinks back below the threshold: exact again).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from ...errors import IndexCorrupt

FILE_NAME = "vectors.faiss"
DEFAULT_ANN_MIN_VECTORS = 50_000
DEFAULT_NPROBE = 16


def ivf_lists(n: int) -> int:
    return max(64, int(4 * math.sqrt(n)))


class FaissStore:
    kind = "faiss"

    def __init__(
        self,
        index: faiss.Index,
        dimension: int,
        ann_min_vectors: int = DEFAULT_ANN_MIN_VECTORS,
        nprobe: int = DEFAULT_NPROBE,
    ) -> None:
        self._index = index
        self.dimension = dimension
        self.ann_min_vectors = ann_min_vectors
        self.nprobe = nprobe
        self._apply_nprobe()

    @classmethod
    def empty(cls, dimension: int, **options: int) -> FaissStore:
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dimension)), dimension, **options)

    @classmethod
    def load(cls, folder: Path, dimension: int, **options: int) -> FaissStore:
        path = folder / FILE_NAME
        if not path.is_file():
            raise IndexCorrupt(f"{path} is missing")
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise IndexCorrupt(f"{path} cannot be read ({_first_line(exc)})") from None
        if index.d != dimension:
            raise IndexCorrupt(f"{path} holds {index.d}-d vectors, the manifest says {dimension}")
        return cls(index, dimension, **options)

    @property
    def approximate(self) -> bool:
        return isinstance(self._index, faiss.IndexIVF)

    @property
    def description(self) -> str:
        if isinstance(self._index, faiss.IndexIVF):
            return f"IVF, {self._index.nlist} lists, nprobe {self._index.nprobe}"
        return "exact"

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
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if isinstance(self._index, faiss.IndexIVF):  # its id hashtable takes only an array
            return int(self._index.remove_ids(faiss.IDSelectorArray(len(ids), faiss.swig_ptr(ids))))
        return int(self._index.remove_ids(faiss.IDSelectorBatch(ids)))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if not len(self):
            n = queries.shape[0]
            return np.zeros((n, 0), dtype=np.float32), np.zeros((n, 0), dtype=np.int64)
        k = max(1, min(k, len(self)))
        scores, ids = self._index.search(queries, k)
        return scores, ids

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        out = np.zeros((len(ids), self.dimension), dtype=np.float32)
        for row, vid in enumerate(ids):
            out[row] = self._index.reconstruct(int(vid))
        return out

    def save(self, folder: Path) -> None:
        self._reorganise()
        path = folder / FILE_NAME
        try:
            faiss.write_index(self._index, str(path))
        except RuntimeError as exc:  # FAISS reports a failed write (disk full…) this way
            raise OSError(f"could not write {path.name}: {_first_line(exc)}") from None
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _reorganise(self) -> None:
        """Exact below `ann_min_vectors`, IVF above; retrain an IVF that has outgrown its lists."""
        n = len(self)
        if isinstance(self._index, faiss.IndexIVF):
            if n < self.ann_min_vectors // 2:
                self._rebuild(ivf=False)
            elif ivf_lists(n) > 2 * self._index.nlist:
                self._rebuild(ivf=True)
        elif n >= self.ann_min_vectors:
            self._rebuild(ivf=True)

    def items(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (id, vector) held, as two arrays."""
        if isinstance(self._index, faiss.IndexIDMap2):
            ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
            return ids, self._index.index.reconstruct_n(0, len(self))
        ivf: Any = self._index
        invlists = ivf.invlists
        ids_parts, vec_parts = [], []
        for lst in range(ivf.nlist):
            size = invlists.list_size(lst)
            if not size:
                continue
            ids_parts.append(
                np.array(faiss.rev_swig_ptr(invlists.get_ids(lst), size), dtype=np.int64)
            )
            codes = faiss.rev_swig_ptr(invlists.get_codes(lst), size * self.dimension * 4)
            vec_parts.append(np.frombuffer(bytes(codes), dtype=np.float32).reshape(size, -1))
        if not ids_parts:
            return np.zeros(0, np.int64), np.zeros((0, self.dimension), np.float32)
        return np.concatenate(ids_parts), np.concatenate(vec_parts)

    def _rebuild(self, ivf: bool) -> None:
        ids, vectors = self.items()
        if ivf:
            index = build_ivf(vectors, ids)
        else:
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dimension))
            index.add_with_ids(vectors, ids)
        self._index = index
        self._apply_nprobe()

    def _apply_nprobe(self) -> None:
        if isinstance(self._index, faiss.IndexIVF):
            self._index.nprobe = min(self.nprobe, self._index.nlist)


def build_ivf(vectors: np.ndarray, ids: np.ndarray, nlist: int | None = None) -> faiss.Index:
    """An IVF-flat inner-product index over `vectors`, trained on a sample of them."""
    n, dimension = vectors.shape
    nlist = nlist or ivf_lists(n)
    quantizer = faiss.IndexFlatIP(dimension)
    index = faiss.IndexIVFFlat(quantizer, dimension, nlist, faiss.METRIC_INNER_PRODUCT)
    sample = min(n, nlist * 40)  # faiss wants >= 39 per list
    rng = np.random.default_rng(0)
    train = vectors[rng.choice(n, sample, replace=False)] if sample < n else vectors
    index.cp.niter = 12  # enough for the lists to settle; training time is linear in it
    index.train(np.ascontiguousarray(train, dtype=np.float32))
    index.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]  # reconstruct/remove by id
    index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
    return index


def _first_line(exc: Exception) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[-1].strip() if lines else type(exc).__name__
