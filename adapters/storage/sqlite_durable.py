"""SQLite connections that always run WAL with synchronous=FULL (DESIGN.md: durability on).

The library enables WAL but leaves ``synchronous`` at the build's default; a build whose
default is NORMAL would lose the last commits on power loss. Every connection sets it.
"""

from __future__ import annotations

from eventsourcing.sqlite import SQLiteConnection, SQLiteConnectionPool, SQLiteDatastore


class DurableSQLiteConnectionPool(SQLiteConnectionPool):
    def _create_connection(self) -> SQLiteConnection:
        connection = super()._create_connection()
        connection._sqlite_conn.execute("PRAGMA synchronous=FULL")
        return connection


def make_durable(datastore: SQLiteDatastore) -> SQLiteDatastore:
    """Make every connection ``datastore`` opens from now on set synchronous=FULL."""
    datastore.pool.__class__ = DurableSQLiteConnectionPool
    return datastore
