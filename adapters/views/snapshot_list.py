"""SQL for the snapshot list read model."""

from __future__ import annotations

from typing import Any, ClassVar

from adapters.views.sql import Row, Sql
from adapters.views.store import ViewStore

_COLUMNS = (
    "dataset_id",
    "snapshot_id",
    "snapshot_name",
    "source_dataset_name",
    "created_at",
    "created_by",
    "n_images",
    "n_videos",
    "description",
    "reason",
    "root",
)


class SnapshotListWriterSql:
    def __init__(self, sql: Sql) -> None:
        self.sql = sql

    def remember_dataset(self, dataset_id: str, name: str) -> None:
        self.sql.run(
            "INSERT INTO {t}datasets (dataset_id, name) VALUES (?, ?) "
            "ON CONFLICT (dataset_id) DO UPDATE SET name = excluded.name",
            (dataset_id, name),
        )

    def dataset_name(self, dataset_id: str) -> str:
        name = self.sql.value("SELECT name FROM {t}datasets WHERE dataset_id = ?", (dataset_id,))
        return str(name or "")

    def add(self, row: dict[str, Any]) -> None:
        self.sql.run(
            f"INSERT INTO {{t}}snapshots ({', '.join(_COLUMNS)}, is_current, is_restoring, "
            f"deleted) VALUES ({', '.join('?' * len(_COLUMNS))}, 0, 0, 0) "
            "ON CONFLICT (snapshot_id) DO NOTHING",
            [row[c] for c in _COLUMNS],
        )

    def make_current(self, dataset_id: str, snapshot_id: str) -> None:
        self.sql.run(
            "UPDATE {t}snapshots SET is_current = CASE WHEN snapshot_id = ? THEN 1 "
            "ELSE 0 END WHERE dataset_id = ? AND (is_current = 1 OR snapshot_id = ?)",
            (snapshot_id, dataset_id, snapshot_id),
        )

    def set_restoring(self, dataset_id: str, snapshot_id: str | None) -> None:
        self.sql.run(
            "UPDATE {t}snapshots SET is_restoring = CASE WHEN snapshot_id = ? THEN 1 "
            "ELSE 0 END WHERE dataset_id = ? AND (is_restoring = 1 OR snapshot_id = ?)",
            (snapshot_id, dataset_id, snapshot_id),
        )

    def update(self, snapshot_id: str, name: str | None, description: str | None) -> None:
        self.sql.run(
            "UPDATE {t}snapshots SET snapshot_name = COALESCE(?, snapshot_name), "
            "description = COALESCE(?, description) WHERE snapshot_id = ?",
            (name, description, snapshot_id),
        )

    def mark_deleted(self, snapshot_id: str) -> None:
        self.sql.run("UPDATE {t}snapshots SET deleted = 1 WHERE snapshot_id = ?", (snapshot_id,))


class SnapshotListView:
    ddl: ClassVar[list[str]] = [
        "CREATE TABLE IF NOT EXISTS {t}datasets (dataset_id TEXT PRIMARY KEY, name TEXT)",
        "CREATE TABLE IF NOT EXISTS {t}snapshots (snapshot_id TEXT PRIMARY KEY, "
        "dataset_id TEXT NOT NULL, snapshot_name TEXT, source_dataset_name TEXT, "
        "created_at TEXT, created_by TEXT, n_images INTEGER, n_videos INTEGER, "
        "description TEXT, reason TEXT, root TEXT, is_current INTEGER, is_restoring INTEGER, "
        "deleted INTEGER)",
        "CREATE INDEX IF NOT EXISTS {i}snapshots_by_dataset "
        "ON {t}snapshots (dataset_id, created_at)",
    ]

    def __init__(self, store: ViewStore) -> None:
        self.store = store

    def writer(self, sql: Sql) -> SnapshotListWriterSql:
        return SnapshotListWriterSql(sql)

    def list(self, dataset_id: str) -> list[Row]:
        """The dataset's live snapshots, newest first."""
        with self.store.reading() as sql:
            return sql.all(
                "SELECT * FROM {t}snapshots WHERE dataset_id = ? AND deleted = 0 "
                "ORDER BY created_at DESC, snapshot_id DESC",
                (dataset_id,),
            )
