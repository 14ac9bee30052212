"""SQL for the media index: leaves indexed once, roots as sets of leaves, versions as roots.

Each item of a leaf is one narrow ``items`` row (the columns filters and sorts use), one
``records`` row (the whole record, read only for the items of a page) and child rows for its
tags, label class names and metadata values (and, on SQLite, its lower-cased file name in an
FTS5 trigram table; PostgreSQL indexes ``items.name_key`` with pg_trgm). A query names a
root; any version (current content or any snapshot) is searched the same way and nothing is
ever indexed per version. How a page is found without reading the whole version is
``media_search``'s business; the indexes it walks and seeks are declared here.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from adapters.views.media_clusters import DDL as CLUSTER_DDL
from adapters.views.media_clusters import MediaClusters
from adapters.views.media_search import MediaSearch, Request, SearchLimits
from adapters.views.sql import Row, Sql
from adapters.views.store import ViewStore
from domain.content_tree import Record
from projections.media_cursor import SearchCursor
from projections.media_index import (
    FIELD_LIMIT,
    MediaFilter,
    MediaOrder,
    SearchResult,
    index_text,
    searchable,
)

_CHUNK = 500


class MediaIndexWriterSql:
    def __init__(self, sql: Sql) -> None:
        self.sql = sql

    def version_root(self, dataset_id: str, version: str) -> str | None:
        root = self.sql.value(
            "SELECT root FROM {t}versions WHERE dataset_id = ? AND version = ?",
            (dataset_id, version),
        )
        return None if root is None else str(root)

    def set_version(self, dataset_id: str, version: str, root: str) -> None:
        self.sql.run(
            "INSERT INTO {t}versions (dataset_id, version, root) VALUES (?, ?, ?) "
            "ON CONFLICT (dataset_id, version) DO UPDATE SET root = excluded.root",
            (dataset_id, version, root),
        )

    def drop_version(self, dataset_id: str, version: str) -> None:
        self.sql.run(
            "DELETE FROM {t}versions WHERE dataset_id = ? AND version = ?", (dataset_id, version)
        )

    def has_root(self, root: str) -> bool:
        return self.sql.value("SELECT 1 FROM {t}roots WHERE root = ?", (root,)) is not None

    def derive_root(self, root: str, base: str, removed: set[str], added: set[str]) -> None:
        self.sql.run("INSERT INTO {t}roots (root) VALUES (?)", (root,))
        self.sql.run(
            "INSERT INTO {t}root_leaves (root, leaf) SELECT ?, leaf "
            "FROM {t}root_leaves WHERE root = ?",
            (root, base),
        )
        self.sql.many(
            "DELETE FROM {t}root_leaves WHERE root = ? AND leaf = ?",
            [(root, leaf) for leaf in removed],
        )
        self.sql.many(
            "INSERT INTO {t}root_leaves (root, leaf) VALUES (?, ?) ON CONFLICT DO NOTHING",
            [(root, leaf) for leaf in added],
        )
        MediaClusters(self.sql).derive(root, base, removed, added)

    def add_root(self, root: str, leaves: set[str]) -> None:
        self.sql.run("INSERT INTO {t}roots (root) VALUES (?)", (root,))
        self.sql.insert("root_leaves", ["root", "leaf"], [(root, leaf) for leaf in leaves])
        MediaClusters(self.sql).summarise(root)

    def missing_leaves(self, leaves: list[str]) -> set[str]:
        present: set[str] = set()
        for start in range(0, len(leaves), _CHUNK):
            chunk = leaves[start : start + _CHUNK]
            rows = self.sql.all(
                f"SELECT leaf FROM {{t}}leaves WHERE leaf IN ({', '.join('?' * len(chunk))})", chunk
            )
            present.update(str(row["leaf"]) for row in rows)
        return set(leaves) - present

    def add_leaves(self, leaves: dict[str, tuple[tuple[str, Record], ...]]) -> None:
        items: list[tuple[Any, ...]] = []
        records: list[tuple[Any, ...]] = []
        tags: list[tuple[Any, ...]] = []
        labels: list[tuple[Any, ...]] = []
        values: list[tuple[Any, ...]] = []
        for leaf, entries in leaves.items():
            for key, record in entries:
                s = searchable(record)
                items.append(
                    (
                        leaf,
                        key,
                        s.kind,
                        s.file_name,
                        s.name_key,
                        s.size,
                        s.width,
                        s.height,
                        s.cluster_id,
                    )
                )
                records.append((leaf, key, json.dumps(record, sort_keys=True)))
                tags.extend((leaf, key, tag) for tag in s.tags)
                labels.extend((leaf, key, name) for name in s.classes)
                values.extend((leaf, key, *value) for value in s.values)
        self.sql.insert("leaves", ["leaf"], [(leaf,) for leaf in leaves])
        self.sql.run(
            "INSERT INTO {t}counters AS c (name, value) VALUES ('items', ?) "
            "ON CONFLICT (name) DO UPDATE SET value = c.value + excluded.value",
            (len(items),),
        )
        self._insert(
            "items (leaf, media_id, kind, file_name, name_key, size, width, height, cluster_id)",
            items,
        )
        self._insert("records (leaf, media_id, record)", records)
        self._insert("item_tags (leaf, media_id, tag)", tags)
        self._insert("item_labels (leaf, media_id, class_name)", labels)
        self._insert("item_metadata (leaf, media_id, field, n, text_value, num_value)", values)
        if self.sql.dialect == "sqlite":
            self._insert(
                "item_names (name_key, leaf, media_id)", [(i[4], i[0], i[1]) for i in items]
            )

    def _insert(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        name, _, columns = table.partition(" ")
        self.sql.insert(name, [c.strip() for c in columns.strip("()").split(",")], rows)


class MediaIndexView:
    ddl: ClassVar[list[str]] = [
        "CREATE TABLE IF NOT EXISTS {t}versions (dataset_id TEXT, version TEXT, root TEXT, "
        "PRIMARY KEY (dataset_id, version))",
        "CREATE TABLE IF NOT EXISTS {t}roots (root TEXT PRIMARY KEY)",
        "CREATE TABLE IF NOT EXISTS {t}root_leaves (root TEXT, leaf TEXT, "
        "PRIMARY KEY (root, leaf))",
        "CREATE TABLE IF NOT EXISTS {t}leaves (leaf TEXT PRIMARY KEY)",
        # On SQLite without a rowid: the primary key is the table, so finding an item by its
        # key is one B-tree search, not two.
        *(
            f"{dialect}: CREATE TABLE IF NOT EXISTS {{t}}items (leaf TEXT, media_id TEXT, "
            "kind TEXT, file_name TEXT, name_key TEXT, size BIGINT, width INTEGER, "
            f"height INTEGER, cluster_id TEXT, PRIMARY KEY (leaf, media_id)){tail}"
            for dialect, tail in (("sqlite", " WITHOUT ROWID"), ("postgres", ""))
        ),
        # Whole records apart from the narrow rows searches scan; read for a page's items only.
        "CREATE TABLE IF NOT EXISTS {t}records (leaf TEXT, media_id TEXT, record TEXT, "
        "PRIMARY KEY (leaf, media_id))",
        "CREATE TABLE IF NOT EXISTS {t}counters (name TEXT PRIMARY KEY, value BIGINT)",
        "CREATE TABLE IF NOT EXISTS {t}item_tags (leaf TEXT, media_id TEXT, tag TEXT, "
        "PRIMARY KEY (leaf, media_id, tag))",
        "CREATE TABLE IF NOT EXISTS {t}item_labels (leaf TEXT, media_id TEXT, class_name TEXT, "
        "PRIMARY KEY (leaf, media_id, class_name))",
        "CREATE TABLE IF NOT EXISTS {t}item_metadata (leaf TEXT, media_id TEXT, field TEXT, "
        "n INTEGER, text_value TEXT, num_value DOUBLE PRECISION)",
        # One index per sort key, in the sort order (key, file name, id) and ending with the
        # leaf, so a page walks it from the start or a cursor without touching the table.
        "CREATE INDEX IF NOT EXISTS {i}items_by_name ON {t}items (file_name, media_id, leaf)",
        "CREATE INDEX IF NOT EXISTS {i}items_by_id ON {t}items (media_id, leaf)",
        *(
            f"CREATE INDEX IF NOT EXISTS {{i}}items_by_{key} ON {{t}}items "
            f"({key}, file_name, media_id, leaf)"
            for key in ("size", "width", "height", "kind")
        ),
        "CREATE INDEX IF NOT EXISTS {i}items_by_cluster_name ON {t}items "
        "(cluster_id, file_name, media_id, leaf)",
        "CREATE INDEX IF NOT EXISTS {i}tags_by_tag ON {t}item_tags (tag, leaf, media_id)",
        "CREATE INDEX IF NOT EXISTS {i}labels_by_class ON {t}item_labels "
        "(class_name, leaf, media_id)",
        # A metadata condition is checked from each item (``metadata_of_item``) or lists the
        # items whose values meet it (``metadata_by_*``, field then value).
        "CREATE INDEX IF NOT EXISTS {i}metadata_of_item ON {t}item_metadata "
        "(field, leaf, media_id, n, num_value, text_value)",
        "CREATE INDEX IF NOT EXISTS {i}metadata_by_text ON {t}item_metadata "
        "(field, text_value, leaf, media_id)",
        "CREATE INDEX IF NOT EXISTS {i}metadata_by_number ON {t}item_metadata "
        "(field, num_value, leaf, media_id)",
        # File-name substrings: an FTS5 trigram table (SQLite), a pg_trgm GIN index (PostgreSQL).
        "sqlite: CREATE VIRTUAL TABLE IF NOT EXISTS {t}item_names USING fts5(name_key, "
        "leaf UNINDEXED, media_id UNINDEXED, tokenize = 'trigram')",
        "postgres: CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public",
        "postgres: CREATE INDEX IF NOT EXISTS {i}items_by_name_trigram ON {t}items "
        "USING gin (name_key public.gin_trgm_ops)",
        *CLUSTER_DDL,
    ]

    def __init__(self, store: ViewStore, limits: SearchLimits | None = None) -> None:
        self.store = store
        self.limits = limits or SearchLimits()

    def writer(self, sql: Sql) -> MediaIndexWriterSql:
        return MediaIndexWriterSql(sql)

    def version_root(self, dataset_id: str, version: str) -> str | None:
        with self.store.reading() as sql:
            return MediaIndexWriterSql(sql).version_root(dataset_id, version)

    def has_root(self, root: str) -> bool:
        with self.store.reading() as sql:
            return MediaIndexWriterSql(sql).has_root(root)

    def items(
        self,
        dataset_id: str,
        version: str,
        page: int,
        page_size: int,
        kind: str | None = None,
        *,
        total: int | None = None,
    ) -> tuple[list[Row], int]:
        """One page of a version's media, by file name then id, and how many there are
        (``total`` when the caller knows it, as the HTTP API does from the tree's counts;
        else counted, which costs as many rows as the version has)."""
        root = self.version_root(dataset_id, version)
        if root is None:
            return [], 0
        where = MediaFilter(kind=kind)
        found = self.search(root, where, MediaOrder(), page, page_size, total=total)
        if found.total_is_lower_bound:
            with self.store.reading() as sql:
                return found.rows, MediaSearch(sql, self.limits).count(root, where)
        return found.rows, found.total

    def search(
        self,
        root: str,
        where: MediaFilter,
        order: MediaOrder,
        page: int,
        page_size: int,
        *,
        total: int | None = None,
        cursor: SearchCursor | None = None,
    ) -> SearchResult:
        """One page of the root's items that meet ``where`` (after ``cursor``, if given),
        and how many match (see ``SearchResult``; ``media_search`` says how).

        Pass ``total`` when it is known (the tree's counts) to skip counting.
        """
        offset = (page - 1) * page_size
        if total is not None and cursor is None and offset >= total:
            return SearchResult([], total)
        with self.store.reading() as sql:
            found = MediaSearch(sql, self.limits).page(
                Request(root, where, order, offset, page_size, total, cursor)
            )
            rows = _records(sql, found.keys)
        following = (
            SearchCursor.of_row(order.key, order.descending, found.keys[-1]).encode()
            if found.more and found.keys
            else None
        )
        return SearchResult(rows, found.total, found.total_is_lower_bound, following)

    def numeric_fields(self, root: str, fields: set[str]) -> set[str]:
        """Those of ``fields`` that hold a number in some item of the root."""
        with self.store.reading() as sql:
            return {
                field
                for field in sorted(fields)
                if sql.value(
                    "SELECT 1 FROM {t}item_metadata m WHERE m.field = ? "
                    "AND m.num_value IS NOT NULL AND EXISTS (SELECT 1 FROM {t}root_leaves rl "
                    "WHERE rl.root = ? AND rl.leaf = m.leaf) LIMIT 1",
                    (index_text(field, FIELD_LIMIT), root),
                )
                is not None
            }

    def clusters(
        self, root: str, page: int, page_size: int, samples: int = 4
    ) -> tuple[list[tuple[str, int, list[Row]]], int]:
        """A page of the root's clusters, largest first: (cluster id, size, sample items).

        Read from the root's cluster summary (see ``adapters/views/media_clusters.py``), so
        it costs the same for a root of any size.
        """
        with self.store.reading() as sql:
            return MediaClusters(sql).page(root, page, page_size, samples)


def _records(sql: Sql, keys: list[Row]) -> list[Row]:
    """The records of (leaf, media_id) rows, in their order: one primary-key probe each."""
    found: dict[tuple[str, str], str] = {}
    pairs = [(str(k["leaf"]), str(k["media_id"])) for k in keys]
    for start in range(0, len(pairs), _CHUNK):
        chunk = pairs[start : start + _CHUNK]
        join = "CROSS JOIN" if sql.dialect == "sqlite" else "JOIN"  # SQLite: pairs first
        rows = sql.all(
            f"SELECT r.leaf, r.media_id, r.record FROM (VALUES "
            f"{', '.join(['(?, ?)'] * len(chunk))}) v {join} {{t}}records r "
            "ON r.leaf = v.column1 AND r.media_id = v.column2",
            [value for pair in chunk for value in pair],
        )
        found.update({(r["leaf"], r["media_id"]): r["record"] for r in rows})
    return [
        {"media_id": media_id, **json.loads(found[(leaf, media_id)])} for leaf, media_id in pairs
    ]
