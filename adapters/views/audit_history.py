"""SQL for the audit history read model."""

from __future__ import annotations

from typing import Any, ClassVar

from adapters.views.sql import Row, Sql
from adapters.views.store import ViewStore

_COLUMNS = ("position", "dataset_id", "version", "event_type", "actor", "at", "details")


class AuditWriterSql:
    def __init__(self, sql: Sql) -> None:
        self.sql = sql

    def append(self, row: dict[str, Any]) -> None:
        self.sql.run(
            f"INSERT INTO {{t}}events ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(_COLUMNS))})",
            [row[c] for c in _COLUMNS],
        )


class AuditHistoryView:
    ddl: ClassVar[list[str]] = [
        "CREATE TABLE IF NOT EXISTS {t}events (position BIGINT PRIMARY KEY, "
        "dataset_id TEXT NOT NULL, version INTEGER, event_type TEXT, actor TEXT, at TEXT, "
        "details TEXT)",
        "CREATE INDEX IF NOT EXISTS {i}events_by_dataset ON {t}events (dataset_id, position)",
    ]

    def __init__(self, store: ViewStore) -> None:
        self.store = store

    def writer(self, sql: Sql) -> AuditWriterSql:
        return AuditWriterSql(sql)

    def page(
        self,
        dataset_id: str,
        *,
        actor: str | None = None,
        event_type: str | None = None,
        since: str | None = None,
        until: str | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> tuple[list[Row], int]:
        """The dataset's events, oldest first, filtered by actor, type and time."""
        clauses, params = ["dataset_id = ?"], [dataset_id]
        for clause, value in (
            ("actor = ?", actor),
            ("event_type = ?", event_type),
            ("at >= ?", since),
            ("at <= ?", until),
        ):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        where = " AND ".join(clauses)
        with self.store.reading() as sql:
            total = sql.value(f"SELECT COUNT(*) FROM {{t}}events WHERE {where}", params)
            rows = sql.all(
                f"SELECT * FROM {{t}}events WHERE {where} ORDER BY position LIMIT ? OFFSET ?",
                [*params, page_size, (page - 1) * page_size],
            )
        return rows, int(total or 0)
