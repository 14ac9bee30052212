"""The stores a bench runs on: a temporary SQLite data directory, or a fresh PostgreSQL schema.

PostgreSQL benches use the database named by SNAPSET_BENCH_DATABASE_URL (default the local
``test`` database); each run makes its own schema there and drops it at the end.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import psycopg
from psycopg import sql

from adapters.settings import Settings
from bench.reports import log

PG_URL = os.environ.get("SNAPSET_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgres")


@contextlib.contextmanager
def backend_store(backend: str, label: str) -> Iterator[Settings]:
    """A fresh, empty store: a temporary SQLite data dir, or a new PostgreSQL schema."""
    with tempfile.TemporaryDirectory(prefix=f"snapset-bench-{label}-") as tmp:
        data_dir = Path(tmp) / "data"
        if backend == "sqlite":
            yield Settings(data_dir=data_dir, lease_seconds=30.0)
            return
        schema = f"bench_{label}_{uuid4().hex[:10]}"
        try:
            yield Settings(
                data_dir=data_dir, database_url=f"{PG_URL}?schema={schema}", lease_seconds=30.0
            )
        finally:
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )
            log(f"dropped schema {schema}")


def analyze(settings: Settings) -> None:
    """PostgreSQL: VACUUM ANALYZE this schema's tables (statistics for the planner, the
    visibility map for index-only scans), then CHECKPOINT.

    Autovacuum does this in a normal deployment shortly after a bulk load; the test
    server here runs with autovacuum off, and without statistics the media index's
    page query picks a plan that takes minutes on 1M items. SQLite: nothing to do.
    """
    if not settings.uses_postgres:
        return
    schema = settings.postgres()["schema"]
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
            )
        ]
        for table in tables:
            conn.execute(
                sql.SQL("VACUUM ANALYZE {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
            )
        # Flush the bulk load now, so the server's checkpointer does not write the
        # seeded gigabyte in the middle of the timed runs (it slowed even raw saves 3x).
        conn.execute("CHECKPOINT")


def postgres_settings() -> str:
    """The PostgreSQL server's version and the settings that move the figures most."""
    names = ("server_version", "shared_buffers", "autovacuum", "fsync", "synchronous_commit")
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        values = [
            conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(n))).fetchone() for n in names
        ]
    return ", ".join(f"{n}={v[0] if v else '?'}" for n, v in zip(names, values, strict=True))
