"""The FAISS store: exact for small corpora, IVF from `ann_min_vectors` on, with the same
ids, removals and stored vectors either way, through save and load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.backends.folder.faiss_store import FaissStore
from index.backends.folder.vectorstore import load_store, new_store
from index.errors import IndexCorrupt


def clustered(n: int, dim: int = 32, clusters: int = 20, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    data = centres[rng.integers(0, clusters, n)] + 0.3 * rng.normal(size=(n, dim))
    return (data / np.linalg.norm(data, axis=1, keepdims=True)).astype(np.float32)


def test_small_store_stays_exact_through_save_and_load(tmp_path: Path) -> None:
    store = new_store("faiss", 32, ann_min_vectors=1000)
    data = clustered(300)
    store.add(np.arange(100, 400), data)
    store.save(tmp_path)
    loaded = load_store("faiss", tmp_path, 32, ann_min_vectors=1000)
    assert isinstance(loaded, FaissStore) and not loaded.approximate
    _, ids = loaded.search(data[:5], 1)
    assert ids[:, 0].tolist() == [100, 101, 102, 103, 104]


def test_large_store_becomes_ivf_and_keeps_ids_vectors_and_removals(tmp_path: Path) -> None:
    data = clustered(3000)
    ids = np.arange(10_000, 13_000, dtype=np.int64)
    store = FaissStore.empty(32, ann_min_vectors=2000, nprobe=16)
    store.add(ids, data)
    store.save(tmp_path)
    assert store.approximate and "IVF" in store.description
    loaded = FaissStore.load(tmp_path, 32, ann_min_vectors=2000, nprobe=16)
    assert loaded.approximate and len(loaded) == 3000
    # every stored vector comes back exactly, by id
    assert np.allclose(loaded.vectors(ids[[0, 1500, 2999]]), data[[0, 1500, 2999]])
    # recall@10 against exact search stays high
    exact = FaissStore.empty(32, ann_min_vectors=10**9)
    exact.add(ids, data)
    queries = clustered(50, seed=1)
    _, want = exact.search(queries, 10)
    _, got = loaded.search(queries, 10)
    recall = np.mean([len(set(w) & set(g)) / 10 for w, g in zip(want, got, strict=True)])
    assert recall >= 0.9
    # removals work on the IVF index and survive another save
    assert loaded.remove(ids[:1200]) == 1200
    loaded.add(np.array([99], dtype=np.int64), data[:1])
    loaded.save(tmp_path)
    again = FaissStore.load(tmp_path, 32, ann_min_vectors=2000, nprobe=16)
    assert len(again) == 1801 and again.approximate
    _, top = again.search(data[:1], 1)
    assert top[0, 0] == 99
    # shrinking below half the threshold makes it exact again
    again.remove(ids[1200:2500])
    again.save(tmp_path)
    assert not again.approximate and len(again) == 501
    _, top = again.search(data[2999:3000], 1)
    assert top[0, 0] == 12_999


def test_a_damaged_file_is_reported(tmp_path: Path) -> None:
    store = FaissStore.empty(8)
    store.add(np.arange(3), clustered(3, dim=8))
    store.save(tmp_path)
    (tmp_path / "vectors.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexCorrupt, match="cannot be read"):
        FaissStore.load(tmp_path, 8)
