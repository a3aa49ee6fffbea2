"""The PostgreSQL engine (`KHABAR_DATABASE_URL`): passages, vectors (pgvector), BM25 counts and
the manifest in one schema per build, sharded and resumable builds, reads from replicas; the
local PostgreSQL for trying it (`khabar pg start`) and the migration from a folder index
(`khabar index migrate`), the one place that reads the folder engine. It never imports answering.
"""

from .builder import parse_shard
from .engine import PostgresBackend
from .local import LocalPostgres
from .migrate import Migrated, migrate

__all__ = ["LocalPostgres", "Migrated", "PostgresBackend", "migrate", "parse_shard"]
