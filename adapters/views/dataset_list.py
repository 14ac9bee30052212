"""SQL for the dataset list read model."""

from __future__ import annotations

from typing import Any, ClassVar

from adapters.views.sql import Row, Sql
from adapters.views.store import ViewStore

_COLUMNS = (
    "dataset_id",
    "name",
    "description",
    "owner_id",
    "owner_email",
    "created_at",
    "source_type",
    "source_dataset_id",
)


class DatasetListWriterSql:
    def __init__(self, sql: Sql) -> None:
        self.sql = sql

    def add(self, row: dict[str, Any]) -> None:
        self.sql.run(
            f"INSERT INTO {{t}}datasets ({', '.join(_COLUMNS)}, status, n_images, n_videos) "
            f"VALUES ({', '.join('?' * len(_COLUMNS))}, 'DRAFT', 0, 0) "
            "ON CONFLICT (dataset_id) DO NOTHING",
            [row[c] for c in _COLUMNS],
        )

    def grant(self, dataset_id: str, user_id: str, role: str) -> None:
        self.sql.run(
            "INSERT INTO {t}access (dataset_id, user_id, role) VALUES (?, ?, ?) "
            "ON CONFLICT (dataset_id, user_id) DO UPDATE SET role = excluded.role",
            (dataset_id, user_id, role),
        )

    def set_status(self, dataset_id: str, status: str) -> None:
        self.sql.run("UPDATE {t}datasets SET status = ? WHERE dataset_id = ?", (status, dataset_id))

    def set_counts(self, dataset_id: str, n_images: int, n_videos: int) -> None:
        self.sql.run(
            "UPDATE {t}datasets SET n_images = ?, n_videos = ? WHERE dataset_id = ?",
            (n_images, n_videos, dataset_id),
        )


class DatasetListView:
    ddl: ClassVar[list[str]] = [
        "CREATE TABLE IF NOT EXISTS {t}datasets (dataset_id TEXT PRIMARY KEY, name TEXT, "
        "description TEXT, owner_id TEXT, owner_email TEXT, created_at TEXT, "
        "source_type TEXT, source_dataset_id TEXT, status TEXT, n_images INTEGER, "
        "n_videos INTEGER)",
        "CREATE TABLE IF NOT EXISTS {t}access (dataset_id TEXT, user_id TEXT, role TEXT, "
        "PRIMARY KEY (dataset_id, user_id))",
        "CREATE INDEX IF NOT EXISTS {i}access_by_user ON {t}access (user_id)",
    ]

    def __init__(self, store: ViewStore) -> None:
        self.store = store

    def writer(self, sql: Sql) -> DatasetListWriterSql:
        return DatasetListWriterSql(sql)

    def page(self, user_id: str | None, page: int, page_size: int) -> tuple[list[Row], int]:
        """Datasets the user has a role on (all of them for ``None``: an admin), newest first."""
        where, params = (
            ("", [])
            if user_id is None
            else (
                "WHERE dataset_id IN (SELECT dataset_id FROM {t}access WHERE user_id = ?)",
                [user_id],
            )
        )
        with self.store.reading() as sql:
            total = sql.value(f"SELECT COUNT(*) FROM {{t}}datasets {where}", params)
            rows = sql.all(
                f"SELECT * FROM {{t}}datasets {where} "
                "ORDER BY created_at DESC, dataset_id LIMIT ? OFFSET ?",
                [*params, page_size, (page - 1) * page_size],
            )
        return rows, int(total or 0)
