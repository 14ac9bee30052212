"""Read-model storage on SQLite and PostgreSQL with one SQL text for both.

A view is a library ``TrackingRecorder`` (so the library's recorder contract applies to it)
whose rows and tracking position are written in one transaction: exactly-once, resumable,
rebuildable. View SQL is written with ``?`` placeholders and ``{t}`` before each table name;
the backend turns those into its own placeholders and table names (SQLite: one file per view;
PostgreSQL: ``schema.snapset_<name>`` tables and a tracking table per view).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from psycopg.sql import SQL, Composed

Row = dict[str, Any]
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")
# Every view has one: the events its projection could not process (see Projector.park).
# A rebuild clears it with the rest, so parked events are tried again.
_PARKED_DDL = (
    "CREATE TABLE IF NOT EXISTS {t}parked (notification_id BIGINT PRIMARY KEY, "
    "topic TEXT NOT NULL, error TEXT NOT NULL, parked_at TEXT NOT NULL)"
)


class Sql:
    """Runs view SQL on one cursor, translated for its backend."""

    def __init__(self, cursor: Any, prefix: str, placeholder: str) -> None:
        self._cursor = cursor
        self._prefix = prefix
        self._placeholder = placeholder

    def text(self, statement: str) -> str:
        statement = statement.replace("{t}", self._prefix)
        return statement.replace("?", self._placeholder) if self._placeholder != "?" else statement

    def run(self, statement: str, params: Sequence[Any] = ()) -> None:
        self._cursor.execute(self.text(statement), _plain(params))

    def many(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._cursor.executemany(self.text(statement), [_plain(r) for r in rows])

    def all(self, statement: str, params: Sequence[Any] = ()) -> list[Row]:
        self._cursor.execute(self.text(statement), _plain(params))
        return [dict(row) for row in self._cursor.fetchall()]

    def one(self, statement: str, params: Sequence[Any] = ()) -> Row | None:
        rows = self.all(statement, params)
        return rows[0] if rows else None

    def value(self, statement: str, params: Sequence[Any] = ()) -> Any:
        row = self.one(statement, params)
        return None if row is None else next(iter(row.values()))


def _plain(params: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(str(p) if isinstance(p, UUID) else p for p in params)


class ViewStore:
    """What every view has, whatever the backend: its DDL, a writer, queries, transactions."""

    view_name: ClassVar[str]
    ddl: ClassVar[list[str]]
    application_name = "snapset"

    @contextmanager
    def _open(self, *, commit: bool) -> Iterator[Any]:
        with self.datastore.transaction(commit=commit) as cursor:  # type: ignore[attr-defined]
            yield cursor

    def _sql(self, cursor: Any) -> Sql:
        raise NotImplementedError

    def _track(self, cursor: Any, tracking: Tracking) -> None:
        self._insert_tracking(cursor, tracking)  # type: ignore[attr-defined]

    def writer(self, sql: Sql) -> Any:
        raise NotImplementedError

    @contextmanager
    def transaction(self, tracking: Tracking, *, after: int | None = None) -> Iterator[Any]:
        """A writer whose rows commit together with ``tracking``, or not at all.

        With ``after``, the batch is a compare-and-set: it commits only if the view's
        position is still ``after`` inside this transaction, else IntegrityError, so two
        runners of one view can never both record an overlapping batch.
        """
        with self._open(commit=True) as cursor, self.batch(cursor, tracking, after=after) as w:
            yield w

    @contextmanager
    def batch(self, cursor: Any, tracking: Tracking, *, after: int | None = None) -> Iterator[Any]:
        """Like ``transaction``, inside a transaction someone else opened and commits."""
        if after is not None:
            self._serialise(cursor)
            now = self._max_tracking_id(self.application_name, cursor)  # type: ignore[attr-defined]
            if (now or 0) != after:
                raise IntegrityError(f"view {self.view_name} moved to {now}, not {after}")
        yield self.writer(self._sql(cursor))
        self._track(cursor, tracking)

    def all_ddl(self) -> list[str]:
        return [*self.ddl, _PARKED_DDL]

    def park(self, tracking: Tracking, *, after: int, topic: str, error: str, at: str) -> None:
        """Move past one event without its rows, noting why: it is parked, not lost."""
        with self._open(commit=True) as cursor, self.batch(cursor, tracking, after=after):
            self._sql(cursor).run(
                "INSERT INTO {t}parked (notification_id, topic, error, parked_at) "
                "VALUES (?, ?, ?, ?)",
                (tracking.notification_id, topic, error[:2000], at),
            )

    def parked(self) -> list[Row]:
        with self.reading() as sql:
            return sql.all("SELECT * FROM {t}parked ORDER BY notification_id")

    def shares_transactions_with(self, other: ViewStore) -> bool:
        """Whether one transaction can write both views (same database)."""
        return False

    def check_positions(self, cursor: Any, expected: Sequence[tuple[ViewStore, int]]) -> None:
        """In ``cursor``'s transaction: make other batches of these views wait, then
        IntegrityError unless each view is still at its expected position (the
        compare-and-set of ``batch``'s ``after``, for several views that share it)."""
        for view, after in expected:
            view._serialise(cursor)
            now = view._max_tracking_id(view.application_name, cursor)  # type: ignore[attr-defined]
            if (now or 0) != after:
                raise IntegrityError(f"view {view.view_name} moved to {now}, not {after}")

    def shared_transaction(self) -> AbstractContextManager[Any]:
        """A transaction other views' ``batch`` can join (see ``shares_transactions_with``)."""
        return self._open(commit=True)

    def _serialise(self, cursor: Any) -> None:
        """Make concurrent batches of this view wait for each other (PostgreSQL)."""

    @contextmanager
    def reading(self) -> Iterator[Sql]:
        with self._open(commit=False) as cursor:
            yield self._sql(cursor)

    def position(self) -> int:
        max_id: int | None = self.max_tracking_id(self.application_name)  # type: ignore[attr-defined]
        return max_id or 0

    def clear(self) -> None:
        """Drop every row and the tracking position: the view starts again from event 0."""
        with self._open(commit=True) as cursor:
            sql = self._sql(cursor)
            for table in self.tables():
                sql.run(f"DELETE FROM {{t}}{table}")
            self._clear_tracking(sql)

    def _clear_tracking(self, sql: Sql) -> None:
        raise NotImplementedError

    def tables(self) -> list[str]:
        return [
            re.findall(r"\{t\}(\w+)", s)[0] for s in self.all_ddl() if s.startswith("CREATE TABLE")
        ]


class SQLiteViewStore(ViewStore, SQLiteTrackingRecorder):
    def __init__(self, datastore: SQLiteDatastore) -> None:
        SQLiteTrackingRecorder.__init__(self, datastore)

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            *(s.replace("{t}", "").replace("{i}", "") for s in self.all_ddl()),
        ]

    def _sql(self, cursor: Any) -> Sql:
        return Sql(cursor, "", "?")

    def _clear_tracking(self, sql: Sql) -> None:
        sql.run("DELETE FROM tracking WHERE application_name = ?", (self.application_name,))


class PostgresViewStore(ViewStore, PostgresTrackingRecorder):
    def __init__(self, datastore: PostgresDatastore) -> None:
        schema = datastore.schema
        if not _IDENTIFIER.match(schema):
            raise ValueError(f"unsupported PostgreSQL schema name {schema!r}")
        self._prefix = f'"{schema}".snapset_{self.view_name}_'
        PostgresTrackingRecorder.__init__(
            self, datastore, tracking_table_name=f"snapset_{self.view_name}_tracking"
        )
        self.sql_create_statements.extend(
            Composed(
                [
                    SQL(
                        s.replace("{t}", self._prefix)
                        .replace("{i}", f"snapset_{self.view_name}_")
                        .replace("BLOB", "BYTEA")
                    )
                ]
            )
            for s in self.all_ddl()
        )

    def _sql(self, cursor: Any) -> Sql:
        return Sql(cursor, self._prefix, "%s")

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
        return f"{self.datastore.schema}.{self.view_name}"

    def check_positions(self, cursor: Any, expected: Sequence[tuple[ViewStore, int]]) -> None:
        # Two statements for any number of views, not two per view: the projector's
        # fixed cost per batch. Locks are taken in one order, so two runners can't deadlock.
        views = [view for view, _ in expected if isinstance(view, PostgresViewStore)]
        if len(views) != len(expected):
            super().check_positions(cursor, expected)
            return
        keys = sorted(v._lock_key for v in views)
        cursor.execute(
            "SELECT " + ", ".join(["pg_advisory_xact_lock(hashtext(%s))"] * len(keys)), keys
        )
        columns = ", ".join(
            f'(SELECT MAX(notification_id) FROM "{v.datastore.schema}".{v.tracking_table_name} '
            f"WHERE application_name = %s) AS p{n}"
            for n, v in enumerate(views)
        )
        row = cursor.execute(f"SELECT {columns}", [v.application_name for v in views]).fetchone()
        for n, (view, after) in enumerate(expected):
            now = row[f"p{n}"]
            if (now or 0) != after:
                raise IntegrityError(f"view {view.view_name} moved to {now}, not {after}")

    def _clear_tracking(self, sql: Sql) -> None:
        # Only this application's row: the library's "__migration__" row must stay, or the
        # next create_table() "migrates" the table again and fails on its backup's name.
        schema = self.datastore.schema
        sql.run(
            f'DELETE FROM "{schema}".{self.tracking_table_name} WHERE application_name = ?',
            (self.application_name,),
        )
