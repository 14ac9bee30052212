"""Content-tree node tables on SQLite and PostgreSQL. Writes are idempotent inserts."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

_CHUNK = 500


class SQLiteNodeStore:
    def __init__(self, datastore: SQLiteDatastore) -> None:
        self._datastore = datastore

    def create_table(self) -> None:
        with self._datastore.transaction(commit=True) as c:
            c.execute(
                "CREATE TABLE IF NOT EXISTS nodes (hash TEXT PRIMARY KEY, body BLOB "
                "NOT NULL, written REAL NOT NULL) WITHOUT ROWID"
            )

    def get_many(self, hashes: Iterable[str]) -> dict[str, bytes]:
        wanted = list(hashes)
        found: dict[str, bytes] = {}
        with self._datastore.transaction(commit=False) as c:
            for i in range(0, len(wanted), _CHUNK):
                chunk = wanted[i : i + _CHUNK]
                c.execute(
                    f"SELECT hash, body FROM nodes WHERE hash IN ({', '.join('?' * len(chunk))})",
                    chunk,
                )
                found.update((row["hash"], bytes(row["body"])) for row in c.fetchall())
        return found

    def put_many(self, nodes: Mapping[str, bytes]) -> None:
        now = time.time()
        with self._datastore.transaction(commit=True) as c:
            c.executemany(
                "INSERT INTO nodes (hash, body, written) VALUES (?, ?, ?) "
                "ON CONFLICT (hash) DO NOTHING",
                [(h, body, now) for h, body in nodes.items()],
            )

    def sweep(self, keep: set[str], written_before: float) -> int:
        """Delete nodes not in ``keep`` written before the cutoff; returns how many."""
        with self._datastore.transaction(commit=False) as c:
            c.execute("SELECT hash FROM nodes WHERE written < ?", (written_before,))
            doomed = [row["hash"] for row in c.fetchall() if row["hash"] not in keep]
        with self._datastore.transaction(commit=True) as c:
            c.executemany(
                "DELETE FROM nodes WHERE hash = ? AND written < ?",
                [(h, written_before) for h in doomed],
            )
        return len(doomed)

    def count(self) -> int:
        with self._datastore.transaction(commit=False) as c:
            c.execute("SELECT COUNT(*) AS n FROM nodes")
            return int(c.fetchone()["n"])


class PostgresNodeStore:
    def __init__(self, datastore: PostgresDatastore) -> None:
        self._datastore = datastore
        self._table = f'"{datastore.schema}".snapset_nodes'

    def create_table(self) -> None:
        with self._datastore.transaction(commit=True) as c:
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} (hash TEXT PRIMARY KEY, "
                "body BYTEA NOT NULL, written DOUBLE PRECISION NOT NULL)"
            )

    def get_many(self, hashes: Iterable[str]) -> dict[str, bytes]:
        wanted = list(hashes)
        with self._datastore.transaction(commit=False) as c:
            c.execute(f"SELECT hash, body FROM {self._table} WHERE hash = ANY(%s)", (wanted,))
            return {row["hash"]: bytes(row["body"]) for row in c.fetchall()}

    def put_many(self, nodes: Mapping[str, bytes]) -> None:
        now = time.time()
        with self._datastore.transaction(commit=True) as c:
            c.executemany(
                f"INSERT INTO {self._table} (hash, body, written) "
                "VALUES (%s, %s, %s) ON CONFLICT (hash) DO NOTHING",
                [(h, body, now) for h, body in nodes.items()],
            )

    def sweep(self, keep: set[str], written_before: float) -> int:
        with self._datastore.transaction(commit=False) as c:
            c.execute(f"SELECT hash FROM {self._table} WHERE written < %s", (written_before,))
            doomed = [row["hash"] for row in c.fetchall() if row["hash"] not in keep]
        with self._datastore.transaction(commit=True) as c:
            c.execute(
                f"DELETE FROM {self._table} WHERE hash = ANY(%s) AND written < %s",
                (doomed, written_before),
            )
        return len(doomed)

    def count(self) -> int:
        with self._datastore.transaction(commit=False) as c:
            c.execute(f"SELECT COUNT(*) AS n FROM {self._table}")
            row = c.fetchone()
            return int(row["n"]) if row else 0
