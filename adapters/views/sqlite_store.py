"""A view's store on SQLite: one database file per view, its tables named as written.

Everything in the file but the library's ``tracking`` table is the view's.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore, SQLiteTrackingRecorder

from adapters.views.sql import Sql
from adapters.views.store import ViewStore


class SQLiteViewStore(ViewStore):
    dialect = "sqlite"
    recorder: SQLiteTrackingRecorder

    def __init__(self, datastore: SQLiteDatastore, name: str, ddl: Sequence[str]) -> None:
        super().__init__(name, ddl)
        self.recorder = SQLiteTrackingRecorder(datastore)

    @property
    def datastore(self) -> SQLiteDatastore:
        return self.recorder.datastore

    def _run_ddl(self, cursor: SQLiteCursor, statement: str) -> None:
        cursor.execute(statement.replace("{t}", "").replace("{i}", ""))

    def _catalogue(self, cursor: SQLiteCursor) -> list[str]:
        # Virtual tables first: dropping one drops its shadow tables (an FTS5 table's
        # _data, _idx, ...), which ``_drop`` then finds gone.
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'tracking' "
            "AND name NOT LIKE 'sqlite^_%' ESCAPE '^' "
            "ORDER BY sql NOT LIKE 'CREATE VIRTUAL TABLE%', name"
        )
        return [row["name"] for row in cursor.fetchall()]

    def _drop(self, cursor: SQLiteCursor, tables: Sequence[str]) -> None:
        for table in tables:
            quoted = table.replace('"', '""')
            cursor.execute(f'DROP TABLE IF EXISTS "{quoted}"')

    def _open(self, *, commit: bool) -> AbstractContextManager[SQLiteCursor]:
        return self.datastore.transaction(commit=commit)

    def _sql(self, cursor: Any) -> Sql:
        return Sql(cursor, "", "?", self.dialect)

    def _track(self, cursor: SQLiteCursor, tracking: Tracking) -> None:
        self.recorder._insert_tracking(cursor, tracking)

    def _tracked(self, cursor: SQLiteCursor) -> int:
        return self.recorder._max_tracking_id(self.application_name, cursor) or 0

    def _serialise(self, cursor: SQLiteCursor) -> None:
        """Nothing to do: SQLite runs one writing transaction at a time."""

    def _clear_tracking(self, sql: Sql) -> None:
        sql.run("DELETE FROM tracking WHERE application_name = ?", (self.application_name,))
