"""Publishing an index in PostgreSQL: the catalog row (`public.khabar_indexes`) names the
published schema; a full build's schema is published by updating that one row, once every
shard has finished, and older schemas are dropped."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from ...articles.formats import READER_VERSION
from ...articles.lexical import STEMS_VERSION
from ...articles.sentences import SPLITTER_VERSION
from ...build.manifest import Manifest
from ...build.pipeline import BuildReport
from .store import manifest_json, manifest_of, search_indexes_ddl
from .writer import PgWriter


@dataclass
class Publisher:
    conn: Any
    name: str

    def lock_catalog(self) -> None:
        """Serialise changes to this index's catalog row (inside a transaction)."""
        self.conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"khabar {self.name}",))

    def finish_shard(self, schema: str, spec: str, shards: int, report: BuildReport) -> None:
        """Record shard `spec` of a full build as done; when every shard is, build the search
        indexes and publish `schema` by updating the catalog's row."""
        s = f'"{schema}"'
        self.conn.execute(
            f"INSERT INTO {s}.shards (shard) VALUES (%s) ON CONFLICT (shard) DO UPDATE "
            "SET finished_at = now()",
            (spec,),
        )
        done = {r[0] for r in self.conn.execute(f"SELECT shard FROM {s}.shards").fetchall()}
        missing = [f"{i}/{shards}" for i in range(shards) if f"{i}/{shards}" not in done]
        if missing:
            report.note = (
                f"shard {spec} is done; the new index is published when the other shards "
                f"finish too (waiting for {', '.join(missing)})"
            )
            return
        self.conn.execute("SET maintenance_work_mem = '1GB'")
        for statement in search_indexes_ddl(schema):  # outside the catalog lock: can be long
            self.conn.execute(statement)
        self.conn.execute(f"ANALYZE {s}.passages")
        with self.conn.transaction():
            self.lock_catalog()
            row = self.conn.execute(
                "SELECT current, pending, pending_manifest FROM public.khabar_indexes "
                "WHERE name = %s FOR UPDATE",
                (self.name,),
            ).fetchone()
            if row is None or row[1] != schema:
                return  # another shard published it a moment ago
            manifest = self.stamped(manifest_of(row[2]), schema)
            self.conn.execute(
                "UPDATE public.khabar_indexes SET current = %s, manifest = %s, pending = NULL, "
                "pending_manifest = NULL WHERE name = %s",
                (schema, manifest_json(manifest), self.name),
            )
            previous = row[0]
        report.published = True
        self.drop_old(keep={schema, previous})

    def touch_current(self, schema: str, manifest: Manifest, report: BuildReport) -> None:
        """Record the new counts and build time of the published index."""
        if not (report.added or report.changed or report.removed):
            return
        with self.conn.transaction():
            self.lock_catalog()
            self.conn.execute(
                "UPDATE public.khabar_indexes SET manifest = %s WHERE name = %s AND current = %s",
                (manifest_json(self.stamped(manifest, schema)), self.name, schema),
            )
        report.published = True

    def stamped(self, manifest: Manifest, schema: str) -> Manifest:
        articles, passages = PgWriter(self.conn, schema).counts()
        return replace(
            manifest,
            built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            articles=articles,
            passages=passages,
            reader_version=READER_VERSION,
            splitter_version=SPLITTER_VERSION,
            stems_version=STEMS_VERSION,
        )

    def drop_old(self, keep: set[str | None]) -> None:
        """Drop this index's schemas other than the published one and the one before it
        (readers that looked up the old one a moment ago can still finish)."""
        rows = self.conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s",
            (f"khabar\\_{self.name}\\_%",),
        ).fetchall()
        pending = self.conn.execute(
            "SELECT pending FROM public.khabar_indexes WHERE name = %s", (self.name,)
        ).fetchone()
        for (schema,) in rows:
            ours = schema.removeprefix(f"khabar_{self.name}_").isdigit()
            if ours and schema not in keep and (pending is None or schema != pending[0]):
                self.conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
