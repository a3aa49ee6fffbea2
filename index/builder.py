"""Building the index: the chosen backend (`backends.backend_for`) brought up to date with the
corpus, by the steps every backend shares (`pipeline.py`)."""

from __future__ import annotations

from .backends import backend_for
from .embedder import Embedder
from .pipeline import BuildReport, ProgressFactory
from .settings import Settings

__all__ = ["BuildReport", "build_index"]


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
