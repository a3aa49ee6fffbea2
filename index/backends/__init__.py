"""Storage: where the index lives, one folder per engine behind one protocol (`base.py`),
chosen in one place (`choose.py`).

- `folder/`: FAISS vectors and a SQLite text store in generation folders under
  `KHABAR_INDEX_DIR` (the default: one machine, no server).
- `postgres/`: PostgreSQL with pgvector (`KHABAR_DATABASE_URL`): many bot processes, sharded
  builds, read replicas; the local PostgreSQL for trying it, and the migration from a folder.

Each engine builds its own index with the steps every build shares (`index/build/`) and opens
it for answering; engines never import answering (`index/answer/`). A third engine is one more
folder implementing `Backend` and one more line in `backend_for`. `tests/test_backends.py` runs
every engine through the same contract.
"""

from .base import Backend, OpenIndex, TextReader, VectorSearch, VectorStore
from .choose import backend_for, build_index
from .rows import PassageRow

__all__ = [
    "Backend",
    "OpenIndex",
    "PassageRow",
    "TextReader",
    "VectorSearch",
    "VectorStore",
    "backend_for",
    "build_index",
]
