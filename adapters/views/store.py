"""Where a view's rows live, with its position: one store per view, on SQLite or PostgreSQL.

A store owns the library's tracking recorder for its view (``recorder``: a
``SQLiteTrackingRecorder`` or ``PostgresTrackingRecorder``, so the library's recorder contract
applies to it) and writes the view's rows and its tracking position in one transaction:
exactly-once, resumable, rebuildable. The view's tables are made from its DDL, written with
``{t}`` before each table name and ``{i}`` before each index name; each backend fills those
in (SQLite: one file per view; PostgreSQL: ``schema.snapset_<name>_`` tables and a tracking
table per view) and runs the view's SQL through ``Sql``. A DDL statement written
``sqlite: ...`` or ``postgres: ...`` is run on that backend only.

A store records the fingerprint of the DDL its tables were made from (``fingerprint``, in
its ``{t}schema_fingerprint`` table). When a release changes a view's DDL, ``create_table``
finds a different fingerprint (or, for tables from before fingerprints, none), drops every
table of the view and resets its position: the projector then replays the view from event 0
into the new tables. A changed view rebuilds itself; an unchanged one is left alone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder

from adapters.views.sql import Dialect, Row, Sql

log = logging.getLogger(__name__)
DIALECTS = ("sqlite", "postgres")
# The store's own table (not the view's DDL): one row, the fingerprint of the DDL the
# view's tables were made from.
_FINGERPRINT = "schema_fingerprint"
_FINGERPRINT_DDL = f"CREATE TABLE IF NOT EXISTS {{t}}{_FINGERPRINT} (fingerprint TEXT NOT NULL)"

# Every view has one: the events its projection could not process (see Projector.park).
# A rebuild clears it with the rest, so parked events are tried again.
_PARKED_DDL = (
    "CREATE TABLE IF NOT EXISTS {t}parked (notification_id BIGINT PRIMARY KEY, "
    "topic TEXT NOT NULL, error TEXT NOT NULL, parked_at TEXT NOT NULL)"
)


class ViewStore(ABC):
    """What every view's store does, whatever the backend: tables, transactions, reads."""

    application_name = "snapset"
    recorder: SQLiteTrackingRecorder | PostgresTrackingRecorder
    dialect: Dialect

    def __init__(self, name: str, ddl: Sequence[str]) -> None:
        self.name = name
        self.ddl = [*ddl, _PARKED_DDL]

    @property
    @abstractmethod
    def datastore(self) -> SQLiteDatastore | PostgresDatastore: ...

    def statements(self, dialect: Dialect) -> list[str]:
        """The view's DDL for one backend: every statement not marked for the other one."""
        chosen = []
        for statement in self.ddl:
            marker, _, rest = statement.partition(": ")
            if marker not in DIALECTS:
                chosen.append(statement)
            elif marker == dialect:
                chosen.append(rest)
        return chosen

    def fingerprint(self) -> str:
        """The sha256 of the view's DDL as this backend runs it, with ``{t}`` and ``{i}``
        left unfilled: the prefixes say where the tables are (PostgreSQL's schema and the
        view's name), not what they are, so a database restored into another schema does
        not rebuild. A changed statement, a statement marked for this backend, or a change
        of the store's own translation (``_translate``) gives another fingerprint."""
        text = json.dumps([self._translate(s) for s in self.statements(self.dialect)])
        return hashlib.sha256(text.encode()).hexdigest()

    def create_table(self) -> None:
        """Create the tracking table and the view's tables, where they do not exist yet.

        If the view has tables made from other DDL (another fingerprint recorded, or none),
        drop all of them, whatever their names (``_catalogue``), and reset the view's
        position, in one transaction with creating the new tables and recording their
        fingerprint: the projector then replays the view from event 0. Callers at once
        (processes starting together) are serialised by the view's lock (``_serialise``),
        so the second one finds the first one's fingerprint and does nothing.
        """
        self.recorder.create_table()
        wanted = self.fingerprint()
        with self._open(commit=True) as cursor:
            self._serialise(cursor)
            sql = self._sql(cursor)
            existing = self._catalogue(cursor)
            recorded = None
            if _FINGERPRINT in existing:
                recorded = sql.value(f"SELECT fingerprint FROM {{t}}{_FINGERPRINT}")
            if recorded == wanted:
                return
            if existing:
                log.warning(
                    "view %s will rebuild from event 0: %s; dropping its tables (%s)",
                    self.name,
                    f"its DDL changed (fingerprint {recorded[:12]} recorded, {wanted[:12]} now)"
                    if recorded
                    else "no DDL fingerprint recorded for its tables",
                    ", ".join(existing),
                )
                self._drop(cursor, existing)
                self._clear_tracking(sql)
            for statement in [*self.statements(self.dialect), _FINGERPRINT_DDL]:
                self._run_ddl(cursor, self._translate(statement))
            sql.run(f"INSERT INTO {{t}}{_FINGERPRINT} (fingerprint) VALUES (?)", (wanted,))

    def _translate(self, statement: str) -> str:
        """A DDL statement in this backend's words (placeholders still unfilled)."""
        return statement

    @abstractmethod
    def _run_ddl(self, cursor: Any, statement: str) -> None:
        """Fill in ``{t}`` and ``{i}`` and run the statement."""

    @abstractmethod
    def _catalogue(self, cursor: Any) -> list[str]:
        """The view's tables as the database has them, not as the DDL names them (the
        tracking table aside), each without the view's prefix: what ``_drop`` drops."""

    @abstractmethod
    def _drop(self, cursor: Any, tables: Sequence[str]) -> None:
        """Drop these tables of the view (``_catalogue``'s names), their indexes with them."""

    def position(self) -> int:
        """The last event this view has processed (0 for none)."""
        return self.recorder.max_tracking_id(self.application_name) or 0

    @abstractmethod
    def _open(self, *, commit: bool) -> AbstractContextManager[Any]:
        """A transaction on this store's database, as a cursor."""

    @abstractmethod
    def _sql(self, cursor: Any) -> Sql: ...

    @abstractmethod
    def _track(self, cursor: Any, tracking: Tracking) -> None:
        """Record ``tracking`` in ``cursor``'s transaction (IntegrityError if not past it)."""

    @abstractmethod
    def _tracked(self, cursor: Any) -> int:
        """The view's position as ``cursor``'s transaction sees it."""

    @abstractmethod
    def _clear_tracking(self, sql: Sql) -> None: ...

    @abstractmethod
    def _serialise(self, cursor: Any) -> None:
        """Make concurrent batches of this view wait for each other, in ``cursor``'s
        transaction, until it ends."""

    @contextmanager
    def transaction(self, tracking: Tracking, *, after: int | None = None) -> Iterator[Sql]:
        """SQL whose rows commit together with ``tracking``, or not at all.

        With ``after``, the batch is a compare-and-set: it commits only if the view's
        position is still ``after`` inside this transaction, else IntegrityError, so two
        runners of one view can never both record an overlapping batch.
        """
        with self._open(commit=True) as cursor, self.batch(cursor, tracking, after=after) as sql:
            yield sql

    @contextmanager
    def batch(self, cursor: Any, tracking: Tracking, *, after: int | None = None) -> Iterator[Sql]:
        """Like ``transaction``, inside a transaction someone else opened and commits."""
        if after is not None:
            self._serialise(cursor)
            now = self._tracked(cursor)
            if now != after:
                raise IntegrityError(f"view {self.name} moved to {now}, not {after}")
        yield self._sql(cursor)
        self._track(cursor, tracking)

    def park(self, tracking: Tracking, *, after: int, topic: str, error: str, at: str) -> None:
        """Move past one event without its rows, noting why: it is parked, not lost."""
        with self._open(commit=True) as cursor, self.batch(cursor, tracking, after=after) as sql:
            sql.run(
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
        for store, after in expected:
            store._serialise(cursor)
            now = store._tracked(cursor)
            if now != after:
                raise IntegrityError(f"view {store.name} moved to {now}, not {after}")

    def shared_transaction(self) -> AbstractContextManager[Any]:
        """A transaction other views' ``batch`` can join (see ``shares_transactions_with``)."""
        return self._open(commit=True)

    @contextmanager
    def reading(self) -> Iterator[Sql]:
        with self._open(commit=False) as cursor:
            yield self._sql(cursor)

    def clear(self) -> None:
        """Drop every row and the tracking position: the view starts again from event 0.

        Rows go by DELETE, which every table of the views takes today. A table that cannot
        (an FTS5 table with ``content=''`` on SQLite before 3.43, which has no
        ``contentless_delete``) would make this fail, in one transaction that changes
        nothing; such a view should instead clear by dropping and re-creating its tables,
        as ``create_table`` does for a changed DDL.
        """
        with self._open(commit=True) as cursor:
            sql = self._sql(cursor)
            for table in self.tables():
                sql.run(f"DELETE FROM {{t}}{table}")
            self._clear_tracking(sql)

    def tables(self) -> list[str]:
        """The view's tables on this backend (virtual ones included)."""
        return [
            re.findall(r"\{t\}(\w+)", s)[0]
            for s in self.statements(self.dialect)
            if re.match(r"CREATE (VIRTUAL )?TABLE", s)
        ]
