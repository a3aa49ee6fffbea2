"""Where the index lives: one module per engine behind one protocol, chosen in one place.

- `folder.py`: FAISS vectors and a SQLite text store in generation folders under
  `KHABAR_INDEX_DIR` (the default: one machine, no server).
- `postgres.py`: PostgreSQL with pgvector (`KHABAR_DATABASE_URL`): many bot processes, sharded
  builds, read replicas.

A third engine is one more module implementing `Backend` and one more line in `backend_for`;
the build pipeline (`pipeline.py`), the answering (`retriever.py`) and the command line stay
as they are. `tests/test_backends.py` runs every backend through the same contract.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..articles import Article
from ..embedder import Embedder
from ..errors import KhabarError
from ..manifest import Manifest
from ..pipeline import BuildReport, ProgressFactory
from ..settings import Settings
from ..textstore import PassageRow
from ..vectorstore import VectorSearch


class TextReader(Protocol):
    """What answering reads besides vectors: passages, BM25 and the article list."""

    def passages(self, ids: Sequence[int]) -> dict[int, PassageRow]: ...
    def lexical_search(self, question: str, k: int) -> list[tuple[int, float]]: ...
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


def backend_for(settings: Settings) -> Backend:
    """The engine these settings choose: the only place that decides."""
    if settings.database_url is not None or settings.database_read_url is not None:
        if not all(importlib.util.find_spec(m) for m in ("psycopg", "pgvector")):
            raise KhabarError(
                "KHABAR_DATABASE_URL is set, but PostgreSQL's client is not installed: "
                "pip install 'khabar[pg]' (or unset KHABAR_DATABASE_URL to use the index folder)"
            )
        from .postgres import PostgresBackend

        return PostgresBackend(settings)
    from .folder import FolderBackend

    return FolderBackend(settings)
