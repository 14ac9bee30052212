"""A view's store on SQLite: one database file per view, its tables named as written."""

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

    def create_table(self) -> None:
        self.recorder.create_table()
        with self._open(commit=True) as cursor:
            for statement in self.statements(self.dialect):
                cursor.execute(statement.replace("{t}", "").replace("{i}", ""))

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
