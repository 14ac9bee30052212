"""View SQL, written once for both backends and run on one cursor.

View SQL is written with ``?`` placeholders and ``{t}`` before each table name; ``Sql`` turns
those into its backend's placeholders and table names (see ``adapters/views/store.py``). The
little that cannot be written once (full-text search) asks ``Sql.dialect``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal
from uuid import UUID

Row = dict[str, Any]
Dialect = Literal["sqlite", "postgres"]


class Sql:
    """Runs view SQL on one cursor, translated for its backend."""

    def __init__(self, cursor: Any, prefix: str, placeholder: str, dialect: Dialect) -> None:
        self.dialect: Dialect = dialect
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

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Add rows to ``table`` in bulk: COPY on PostgreSQL (several times faster than one
        INSERT per row, which is what ``many`` sends), INSERTs on SQLite. The rows' values
        go as they are: text, numbers and None only (no UUIDs, unlike ``run`` and ``many``)."""
        if not rows:
            return
        if self.dialect == "postgres":
            statement = f"COPY {self._prefix}{table} ({', '.join(columns)}) FROM STDIN"
            with self._cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
            return
        self._cursor.executemany(
            self.text(
                f"INSERT INTO {{t}}{table} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})"
            ),
            rows,
        )

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
