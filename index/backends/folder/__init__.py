"""The folder engine (the default: one machine, no server): FAISS vectors and a SQLite text
store with BM25, one generation folder per build under `KHABAR_INDEX_DIR`, published by an
atomic symlink swap. It never imports answering or the PostgreSQL engine.
"""

from .engine import FolderBackend

__all__ = ["FolderBackend"]
