"""A view's store on PostgreSQL: ``schema.snapset_<name>_`` tables and a tracking table of
its own, on the database (and connection pool) every view shares.

Every table of the schema whose name starts with the view's prefix, but its tracking table,
is the view's: no view's name may be another's followed by ``_`` (``read_models``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from adapters.views.sql import Sql
from adapters.views.store import ViewStore

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")


class PostgresViewStore(ViewStore):
    dialect = "postgres"
    recorder: PostgresTrackingRecorder

    def __init__(self, datastore: PostgresDatastore, name: str, ddl: Sequence[str]) -> None:
        super().__init__(name, ddl)
        schema = datastore.schema
        if not _IDENTIFIER.match(schema):
            raise ValueError(f"unsupported PostgreSQL schema name {schema!r}")
        self._prefix = f'"{schema}".snapset_{name}_'
        self.recorder = PostgresTrackingRecorder(
            datastore, tracking_table_name=f"snapset_{name}_tracking"
        )

    @property
    def datastore(self) -> PostgresDatastore:
        return self.recorder.datastore

    def _translate(self, statement: str) -> str:
        return statement.replace("BLOB", "BYTEA")

    def _run_ddl(self, cursor: Cursor[DictRow], statement: str) -> None:
        text = statement.replace("{t}", self._prefix).replace("{i}", self._names)
        cursor.execute(SQL(text), prepare=False)

    @property
    def _names(self) -> str:
        """What the name of each table and index of this view starts with."""
        return f"snapset_{self.name}_"

    def _catalogue(self, cursor: Cursor[DictRow]) -> list[str]:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
            "AND starts_with(c.relname, %s) AND c.relname <> %s ORDER BY c.relname",
            (self.datastore.schema, self._names, self.recorder.tracking_table_name),
        )
        return [row["relname"][len(self._names) :] for row in cursor.fetchall()]

    def _drop(self, cursor: Cursor[DictRow], tables: Sequence[str]) -> None:
        # One statement, so tables that refer to each other go together.
        names = [Identifier(self.datastore.schema, self._names + t) for t in tables]
        cursor.execute(SQL("DROP TABLE IF EXISTS {}").format(SQL(", ").join(names)))

    def _open(self, *, commit: bool) -> AbstractContextManager[Cursor[DictRow]]:
        return self.datastore.transaction(commit=commit)

    def _sql(self, cursor: Any) -> Sql:
        return Sql(cursor, self._prefix, "%s", self.dialect)

    def _track(self, cursor: Cursor[DictRow], tracking: Tracking) -> None:
        self.recorder._insert_tracking(cursor, tracking)

    def _tracked(self, cursor: Cursor[DictRow]) -> int:
        return self.recorder._max_tracking_id(self.application_name, cursor) or 0

    def shares_transactions_with(self, other: ViewStore) -> bool:
        return isinstance(other, PostgresViewStore) and other.datastore is self.datastore

    @contextmanager
    def reading(self) -> Iterator[Sql]:
        # No BEGIN/ROLLBACK: under READ COMMITTED a transaction gives a read no more
        # consistency than autocommit (each statement takes its own snapshot either way),
        # and it costs two round trips per read.
        with self.datastore.get_connection() as connection:
            yield self._sql(connection.cursor())

    def _serialise(self, cursor: Any) -> None:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self._lock_key,))

    @property
    def _lock_key(self) -> str:
        return f"{self.datastore.schema}.{self.name}"

    def check_positions(self, cursor: Any, expected: Sequence[tuple[ViewStore, int]]) -> None:
        # Two statements for any number of views, not two per view: the projector's
        # fixed cost per batch. Locks are taken in one order, so two runners can't deadlock.
        stores = [store for store, _ in expected if isinstance(store, PostgresViewStore)]
        if len(stores) != len(expected):
            super().check_positions(cursor, expected)
            return
        keys = sorted(s._lock_key for s in stores)
        cursor.execute(
            "SELECT " + ", ".join(["pg_advisory_xact_lock(hashtext(%s))"] * len(keys)), keys
        )
        columns = ", ".join(
            f'(SELECT MAX(notification_id) FROM "{s.datastore.schema}".'
            f"{s.recorder.tracking_table_name} WHERE application_name = %s) AS p{n}"
            for n, s in enumerate(stores)
        )
        row = cursor.execute(f"SELECT {columns}", [s.application_name for s in stores]).fetchone()
        for n, (store, after) in enumerate(expected):
            now = row[f"p{n}"]
            if (now or 0) != after:
                raise IntegrityError(f"view {store.name} moved to {now}, not {after}")

    def _clear_tracking(self, sql: Sql) -> None:
        # Only this application's row: the library's "__migration__" row must stay, or the
        # next create_table() "migrates" the table again and fails on its backup's name.
        schema = self.datastore.schema
        sql.run(
            f'DELETE FROM "{schema}".{self.recorder.tracking_table_name} '
            "WHERE application_name = ?",
            (self.application_name,),
        )
