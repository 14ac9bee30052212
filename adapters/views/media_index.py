"""SQL for the media index: leaves indexed once, roots as sets of leaves, versions as roots."""

from __future__ import annotations

import json
from typing import ClassVar

from adapters.views.store import Row, Sql, ViewStore
from domain.content_tree import Record

_CHUNK = 500


class MediaIndexWriterSql:
    def __init__(self, sql: Sql) -> None:
        self.sql = sql

    def version_root(self, dataset_id: str, version: str) -> str | None:
        root = self.sql.value("SELECT root FROM {t}versions WHERE dataset_id = ? AND version = ?",
                              (dataset_id, version))
        return None if root is None else str(root)

    def set_version(self, dataset_id: str, version: str, root: str) -> None:
        self.sql.run("INSERT INTO {t}versions (dataset_id, version, root) VALUES (?, ?, ?) "
                     "ON CONFLICT (dataset_id, version) DO UPDATE SET root = excluded.root",
                     (dataset_id, version, root))

    def drop_version(self, dataset_id: str, version: str) -> None:
        self.sql.run("DELETE FROM {t}versions WHERE dataset_id = ? AND version = ?",
                     (dataset_id, version))

    def has_root(self, root: str) -> bool:
        return self.sql.value("SELECT 1 FROM {t}roots WHERE root = ?", (root,)) is not None

    def derive_root(self, root: str, base: str, removed: set[str], added: set[str]) -> None:
        self.sql.run("INSERT INTO {t}roots (root) VALUES (?)", (root,))
        self.sql.run("INSERT INTO {t}root_leaves (root, leaf) SELECT ?, leaf "
                     "FROM {t}root_leaves WHERE root = ?", (root, base))
        self.sql.many("DELETE FROM {t}root_leaves WHERE root = ? AND leaf = ?",
                      [(root, leaf) for leaf in removed])
        self.sql.many("INSERT INTO {t}root_leaves (root, leaf) VALUES (?, ?) "
                      "ON CONFLICT DO NOTHING", [(root, leaf) for leaf in added])

    def add_root(self, root: str, leaves: set[str]) -> None:
        self.sql.run("INSERT INTO {t}roots (root) VALUES (?)", (root,))
        self.sql.many("INSERT INTO {t}root_leaves (root, leaf) VALUES (?, ?)",
                      [(root, leaf) for leaf in leaves])

    def missing_leaves(self, leaves: list[str]) -> set[str]:
        present: set[str] = set()
        for start in range(0, len(leaves), _CHUNK):
            chunk = leaves[start:start + _CHUNK]
            rows = self.sql.all(f"SELECT leaf FROM {{t}}leaves WHERE leaf IN "
                                f"({', '.join('?' * len(chunk))})", chunk)
            present.update(str(row["leaf"]) for row in rows)
        return set(leaves) - present

    def add_leaves(self, leaves: dict[str, tuple[tuple[str, Record], ...]]) -> None:
        self.sql.many("INSERT INTO {t}leaves (leaf) VALUES (?)", [(leaf,) for leaf in leaves])
        self.sql.many(
            "INSERT INTO {t}items (leaf, media_id, kind, file_name, record) "
            "VALUES (?, ?, ?, ?, ?)",
            [(leaf, key, r.get("kind"), r.get("file_name"), json.dumps(r, sort_keys=True))
             for leaf, items in leaves.items() for key, r in items],
        )


class MediaIndexView(ViewStore):
    view_name = "media_index"
    ddl: ClassVar[list[str]] = [
        "CREATE TABLE IF NOT EXISTS {t}versions (dataset_id TEXT, version TEXT, root TEXT, "
        "PRIMARY KEY (dataset_id, version))",
        "CREATE TABLE IF NOT EXISTS {t}roots (root TEXT PRIMARY KEY)",
        "CREATE TABLE IF NOT EXISTS {t}root_leaves (root TEXT, leaf TEXT, "
        "PRIMARY KEY (root, leaf))",
        "CREATE TABLE IF NOT EXISTS {t}leaves (leaf TEXT PRIMARY KEY)",
        "CREATE TABLE IF NOT EXISTS {t}items (leaf TEXT, media_id TEXT, kind TEXT, "
        "file_name TEXT, record TEXT, PRIMARY KEY (leaf, media_id))",
    ]

    def writer(self, sql: Sql) -> MediaIndexWriterSql:
        return MediaIndexWriterSql(sql)

    def items(
        self, dataset_id: str, version: str, page: int, page_size: int, kind: str | None = None
    ) -> tuple[list[Row], int]:
        """One page of a version's media, by file name then id."""
        where, params = "v.dataset_id = ? AND v.version = ?", [dataset_id, version]
        if kind is not None:
            where += " AND i.kind = ?"
            params.append(kind)
        join = ("FROM {t}versions v JOIN {t}root_leaves rl ON rl.root = v.root "
                "JOIN {t}items i ON i.leaf = rl.leaf WHERE ")
        with self.reading() as sql:
            total = sql.value(f"SELECT COUNT(*) {join}{where}", params)
            rows = sql.all(f"SELECT i.media_id, i.record {join}{where} "
                           "ORDER BY i.file_name, i.media_id LIMIT ? OFFSET ?",
                           [*params, page_size, (page - 1) * page_size])
        return [{"media_id": r["media_id"], **json.loads(r["record"])} for r in rows], \
            int(total or 0)
