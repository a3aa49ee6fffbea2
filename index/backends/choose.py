"""Which engine these settings choose (`backend_for`, the only place that decides), and the
build entry point: that engine brought up to date with the corpus (`build_index`), by the
steps every engine's build shares (`index/build/`)."""

from __future__ import annotations

import importlib.util

from ..build.pipeline import BuildReport, ProgressFactory
from ..errors import KhabarError
from ..model.embedder import Embedder
from ..settings import Settings
from .base import Backend


def backend_for(settings: Settings) -> Backend:
    """The engine these settings choose: the only place that decides."""
    if settings.database_url is not None or settings.database_read_url is not None:
        if not all(importlib.util.find_spec(m) for m in ("psycopg", "pgvector")):
            raise KhabarError(
                "KHABAR_DATABASE_URL is set, but PostgreSQL's client is not installed: "
                "pip install 'khabar[pg]' (or unset KHABAR_DATABASE_URL to use the index folder)"
            )
        from .postgres.engine import PostgresBackend

        return PostgresBackend(settings)
    from .folder.engine import FolderBackend

    return FolderBackend(settings)


def build_index(
    settings: Settings,
    *,
    full: bool = False,
    embedder: Embedder | None = None,
    progress: ProgressFactory | None = None,
    shard: tuple[int, int] | None = None,
) -> BuildReport:
    """Bring the index up to date with `settings.corpus_dir`: only what changed is embedded
    unless `full`; with PostgreSQL, `shard` (I, N) builds one part of it."""
    if embedder is not None and embedder.name != settings.model:
        raise ValueError(
            f"embedder {embedder.name!r} is not the settings' model {settings.model!r}"
        )
    return backend_for(settings).build(embedder, full=full, progress=progress, shard=shard)
