"""The index in PostgreSQL with pgvector (`KHABAR_DATABASE_URL`): see `store.py` for the
layout and `builder.py` for sharded, resumable builds. Reads go to
`KHABAR_DATABASE_READ_URL` (a streaming replica) when it is set."""

from __future__ import annotations

from ...build.pipeline import BuildReport, ProgressFactory
from ...errors import KhabarError
from ...model.embedder import Embedder
from ...settings import Settings
from ..base import OpenIndex
from .builder import build_pg
from .search import PgIndex
from .store import where


class PostgresBackend:
    name = "pgvector"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        primary, replica = settings.database_url, settings.database_read_url
        self.url = primary.get_secret_value() if primary is not None else None
        read = replica or primary
        assert read is not None, "backend_for chooses PostgreSQL only with a URL"
        self.read_url: str = read.get_secret_value()

    def where(self) -> str:
        index = self.settings.database_index
        return f"PostgreSQL at {where(self.url or self.read_url)} (index {index!r})"

    def build(
        self,
        embedder: Embedder | None,
        *,
        full: bool = False,
        progress: ProgressFactory | None = None,
        shard: tuple[int, int] | None = None,
    ) -> BuildReport:
        if self.url is None:
            raise KhabarError(
                "building writes into the primary: set KHABAR_DATABASE_URL "
                "(KHABAR_DATABASE_READ_URL is only read)"
            )
        return build_pg(
            self.settings, full=full, embedder=embedder, progress=progress, shard=shard or (0, 1)
        )

    def open(self, *, search: bool = True) -> OpenIndex:
        pg = PgIndex(
            self.read_url,
            self.settings.database_index,
            exact_below=self.settings.ann_min_vectors,
            ef_search=self.settings.hnsw_ef_search,
        )
        return OpenIndex(
            key=pg.key,
            where=f"PostgreSQL at {where(self.read_url)}, index {pg.name!r} ({pg.schema})",
            manifest=pg.manifest,
            vectors=pg,
            text=pg,
            published=pg.published_key,
            size_bytes=pg.size_bytes,
            close=pg.close,
        )
