"""SQL for the task log read model (the Task Manager API and the workers' queue)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from adapters.views.sql import Row, Sql
from adapters.views.store import ViewStore
from domain.tasks import FINAL_STATUSES

SORT_COLUMNS = {
    "start_time": "t.start_time",
    "status": "t.status",
    "task_type": "t.task_type",
    "dataset_name": "d.name",
    "dataset_id": "t.dataset_id",
    "created_by": "t.created_by",
}
_FINAL = "(" + ", ".join(f"'{status}'" for status in FINAL_STATUSES) + ")"


@dataclass(frozen=True)
class TaskFilter:
    dataset_id: str | None = None
    dataset_name: str | None = None
    task_type: str | None = None
    task_status: str | None = None
    created_by: str | None = None
    start_time_from: str | None = None
    start_time_to: str | None = None


class TaskLogWriterSql:
    def __init__(self, sql: Sql) -> None:
        self.sql = sql

    def dataset(self, dataset_id: str, name: str) -> None:
        self.sql.run(
            "INSERT INTO {t}datasets (dataset_id, name, status) VALUES (?, ?, 'DRAFT') "
            "ON CONFLICT (dataset_id) DO UPDATE SET name = excluded.name",
            (dataset_id, name),
        )

    def dataset_status(self, dataset_id: str, status: str) -> None:
        self.sql.run("UPDATE {t}datasets SET status = ? WHERE dataset_id = ?", (status, dataset_id))

    def grant(self, dataset_id: str, user_id: str) -> None:
        self.sql.run(
            "INSERT INTO {t}access (dataset_id, user_id) VALUES (?, ?) "
            "ON CONFLICT (dataset_id, user_id) DO NOTHING",
            (dataset_id, user_id),
        )

    def started(self, row: dict[str, Any]) -> None:
        self.sql.run(
            "INSERT INTO {t}tasks (task_id, dataset_id, task_type, created_by, start_time, "
            "status, status_message, progress) VALUES (?, ?, ?, ?, ?, 'INITIALIZING', "
            "'Waiting for a worker.', NULL) ON CONFLICT (task_id) DO NOTHING",
            (
                row["task_id"],
                row["dataset_id"],
                row["task_type"],
                row["created_by"],
                row["start_time"],
            ),
        )

    def claimed(self, task_id: str, lease_until: str) -> None:
        self.sql.run(
            "UPDATE {t}tasks SET status = 'RUNNING', status_message = 'Running.', "
            "lease_until = ? WHERE task_id = ?",
            (lease_until, task_id),
        )

    def progressed(self, task_id: str, progress: int, message: str, lease_until: str) -> None:
        self.sql.run(
            "UPDATE {t}tasks SET progress = ?, status_message = ?, lease_until = ? "
            "WHERE task_id = ?",
            (progress, message, lease_until, task_id),
        )

    def finished(
        self,
        task_id: str,
        status: str,
        end_time: str,
        message: str,
        error: str | None,
        report: dict[str, Any] | None = None,
    ) -> None:
        self.sql.run(
            "UPDATE {t}tasks SET status = ?, end_time = ?, status_message = ?, "
            "error_message = ?, report = ?, lease_until = NULL, "
            "progress = CASE WHEN ? = 'COMPLETED' THEN 100 ELSE progress END "
            "WHERE task_id = ?",
            (
                status,
                end_time,
                message,
                error,
                None if report is None else json.dumps(report, sort_keys=True),
                status,
                task_id,
            ),
        )

    def retried(self, task_id: str, start_time: str) -> None:
        self.sql.run(
            "UPDATE {t}tasks SET status = 'INITIALIZING', start_time = ?, "
            "end_time = NULL, error_message = NULL, progress = NULL, "
            "lease_until = NULL, status_message = 'Waiting for a worker.' "
            "WHERE task_id = ?",
            (start_time, task_id),
        )


class TaskLogView:
    ddl: ClassVar[list[str]] = [
        "CREATE TABLE IF NOT EXISTS {t}datasets (dataset_id TEXT PRIMARY KEY, name TEXT, "
        "status TEXT)",
        "CREATE TABLE IF NOT EXISTS {t}access (dataset_id TEXT, user_id TEXT, "
        "PRIMARY KEY (dataset_id, user_id))",
        "CREATE TABLE IF NOT EXISTS {t}tasks (task_id TEXT PRIMARY KEY, dataset_id TEXT, "
        "task_type TEXT, created_by TEXT, start_time TEXT, end_time TEXT, status TEXT, "
        "status_message TEXT, progress INTEGER, error_message TEXT, lease_until TEXT, "
        "report TEXT)",
        "CREATE INDEX IF NOT EXISTS {i}tasks_open ON {t}tasks (status, lease_until)",
        "CREATE INDEX IF NOT EXISTS {i}tasks_by_dataset ON {t}tasks (dataset_id, start_time)",
    ]

    def __init__(self, store: ViewStore) -> None:
        self.store = store

    def writer(self, sql: Sql) -> TaskLogWriterSql:
        return TaskLogWriterSql(sql)

    _SELECT = (
        "SELECT t.*, d.name AS dataset_name, d.status AS dataset_status "
        "FROM {t}tasks t JOIN {t}datasets d ON d.dataset_id = t.dataset_id"
    )

    def search(
        self,
        user_id: str | None,
        flt: TaskFilter,
        sort_by: str,
        descending: bool,
        page: int,
        page_size: int,
    ) -> tuple[list[Row], int]:
        where, params = self._where(user_id, flt)
        order = f"{SORT_COLUMNS[sort_by]} {'DESC' if descending else 'ASC'}, t.task_id"
        with self.store.reading() as sql:
            total = sql.value(f"SELECT COUNT(*) FROM ({self._SELECT} {where}) AS counted", params)
            rows = sql.all(
                f"{self._SELECT} {where} ORDER BY {order} LIMIT ? OFFSET ?",
                [*params, page_size, (page - 1) * page_size],
            )
        return rows, int(total or 0)

    def get(self, user_id: str | None, task_id: str) -> Row | None:
        where, params = self._where(user_id, TaskFilter())
        where = f"{where} {'AND' if where else 'WHERE'} t.task_id = ?"
        with self.store.reading() as sql:
            return sql.one(f"{self._SELECT} {where}", [*params, task_id])

    def filters(self, user_id: str | None) -> dict[str, list[str]]:
        where, params = self._where(user_id, TaskFilter())
        with self.store.reading() as sql:
            rows = sql.all(
                f"SELECT DISTINCT d.name AS dataset_name, t.dataset_id, t.task_type, "
                f"t.created_by FROM {{t}}tasks t JOIN {{t}}datasets d "
                f"ON d.dataset_id = t.dataset_id {where}",
                params,
            )
        return {
            key: sorted({str(r[column]) for r in rows})
            for key, column in (
                ("dataset_names", "dataset_name"),
                ("dataset_ids", "dataset_id"),
                ("task_types", "task_type"),
                ("created_by", "created_by"),
            )
        }

    def open_tasks_created_by(self, email: str) -> int:
        """How many of the user's tasks have not finished yet (any dataset)."""
        with self.store.reading() as sql:
            return int(
                sql.value(
                    f"SELECT COUNT(*) FROM {{t}}tasks WHERE created_by = ? AND "
                    f"status NOT IN {_FINAL}",
                    (email,),
                )
                or 0
            )

    def claimable(self, now: str, limit: int) -> list[tuple[str, str]]:
        """Open tasks with no live lease, oldest first: the workers' queue."""
        with self.store.reading() as sql:
            rows = sql.all(
                f"SELECT dataset_id, task_id FROM {{t}}tasks WHERE status NOT IN "
                f"{_FINAL} AND (lease_until IS NULL OR lease_until < ?) "
                "ORDER BY start_time LIMIT ?",
                (now, limit),
            )
        return [(r["dataset_id"], r["task_id"]) for r in rows]

    @staticmethod
    def _where(user_id: str | None, flt: TaskFilter) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if user_id is not None:
            clauses.append("t.dataset_id IN (SELECT dataset_id FROM {t}access WHERE user_id = ?)")
            params.append(user_id)
        for clause, value in (
            ("t.dataset_id = ?", flt.dataset_id),
            ("d.name = ?", flt.dataset_name),
            ("t.task_type = ?", flt.task_type),
            ("t.status = ?", flt.task_status),
            ("t.created_by = ?", flt.created_by),
            ("t.start_time >= ?", flt.start_time_from),
            ("t.start_time <= ?", flt.start_time_to),
        ):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        return ("WHERE " + " AND ".join(clauses) if clauses else ""), params
