"""SQL for the media index: leaves indexed once, roots as sets of leaves, versions as roots.

Each item of a leaf is one narrow ``items`` row (the columns filters and sorts use), one
``records`` row (the whole record, read only for the items of a page) and child rows for its
tags, label class names and metadata values. A query names a root and joins the root's
leaves to their items, so any version (current content or any snapshot) is searched the same
way and nothing is ever indexed per version. Filters are correlated subqueries on the child
tables' per-item keys, so a planner without statistics (SQLite) checks each of the version's
items with an index probe, and one with statistics (PostgreSQL) may instead start from the
rows a selective filter matches.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from adapters.views.sql import Row, Sql
from adapters.views.store import ViewStore
from domain.content_tree import Record
from projections.media_index import (
    FIELD_LIMIT,
    FieldFilter,
    MediaFilter,
    MediaOrder,
    as_number,
    index_text,
    searchable,
)

_CHUNK = 500
_ITEMS = "FROM {t}root_leaves rl JOIN {t}items i ON i.leaf = rl.leaf WHERE rl.root = ?"
# The same rows, written so that the database walks ``items_by_name`` in order and checks
# each item's leaf against the root (both backends plan this shape the same way).
_WALK = (
    "FROM {t}items i WHERE EXISTS (SELECT 1 FROM {t}root_leaves rl "
    "WHERE rl.root = ? AND rl.leaf = i.leaf)"
)
_WALK_COST = 4  # a walked row (index step plus leaf probe) against a sorted row
_OF_ITEM = "{a}.leaf = i.leaf AND {a}.media_id = i.media_id"
_NULLABLE = {"size", "width", "height", "cluster_id"}
_THEN = {
    "file_name": (),
    "media_id": (),
    "kind": ("file_name",),
    "size": ("file_name",),
    "width": ("file_name",),
    "height": ("file_name",),
    "cluster_id": ("file_name",),
}


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

    def add_root(self, root: str, leaves: set[str]) -> None:
        self.sql.run("INSERT INTO {t}roots (root) VALUES (?)", (root,))
        self.sql.many(
            "INSERT INTO {t}root_leaves (root, leaf) VALUES (?, ?)",
            [(root, leaf) for leaf in leaves],
        )

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
        self.sql.many("INSERT INTO {t}leaves (leaf) VALUES (?)", [(leaf,) for leaf in leaves])
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

    def _insert(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            self.sql.many(
                f"INSERT INTO {{t}}{table} VALUES ({', '.join('?' * len(rows[0]))})", rows
            )


class MediaIndexView:
    ddl: ClassVar[list[str]] = [
        "CREATE TABLE IF NOT EXISTS {t}versions (dataset_id TEXT, version TEXT, root TEXT, "
        "PRIMARY KEY (dataset_id, version))",
        "CREATE TABLE IF NOT EXISTS {t}roots (root TEXT PRIMARY KEY)",
        "CREATE TABLE IF NOT EXISTS {t}root_leaves (root TEXT, leaf TEXT, "
        "PRIMARY KEY (root, leaf))",
        "CREATE TABLE IF NOT EXISTS {t}leaves (leaf TEXT PRIMARY KEY)",
        "CREATE TABLE IF NOT EXISTS {t}items (leaf TEXT, media_id TEXT, kind TEXT, "
        "file_name TEXT, name_key TEXT, size BIGINT, width INTEGER, height INTEGER, "
        "cluster_id TEXT, PRIMARY KEY (leaf, media_id))",
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
        # Sorting by name can walk this index and stop after a page (see ``search``).
        "CREATE INDEX IF NOT EXISTS {i}items_by_name ON {t}items (file_name, media_id)",
        "CREATE INDEX IF NOT EXISTS {i}items_by_cluster ON {t}items (cluster_id, leaf)",
        "CREATE INDEX IF NOT EXISTS {i}tags_by_tag ON {t}item_tags (tag, leaf, media_id)",
        "CREATE INDEX IF NOT EXISTS {i}labels_by_class ON {t}item_labels "
        "(class_name, leaf, media_id)",
        # A metadata condition is either checked from each item (``metadata_of_item``) or
        # drives the search from the values that meet it (``metadata_by_*``, which
        # PostgreSQL picks for a selective condition). The value leads in the latter, so a
        # planner without statistics (SQLite) never scans a range of them for every item.
        "CREATE INDEX IF NOT EXISTS {i}metadata_of_item ON {t}item_metadata "
        "(field, leaf, media_id, num_value, text_value)",
        "CREATE INDEX IF NOT EXISTS {i}metadata_by_text ON {t}item_metadata "
        "(text_value, field, leaf, media_id)",
        "CREATE INDEX IF NOT EXISTS {i}metadata_by_number ON {t}item_metadata "
        "(num_value, field, leaf, media_id)",
    ]

    def __init__(self, store: ViewStore) -> None:
        self.store = store

    def writer(self, sql: Sql) -> MediaIndexWriterSql:
        return MediaIndexWriterSql(sql)

    def version_root(self, dataset_id: str, version: str) -> str | None:
        with self.store.reading() as sql:
            return MediaIndexWriterSql(sql).version_root(dataset_id, version)

    def has_root(self, root: str) -> bool:
        with self.store.reading() as sql:
            return MediaIndexWriterSql(sql).has_root(root)

    def items(
        self, dataset_id: str, version: str, page: int, page_size: int, kind: str | None = None
    ) -> tuple[list[Row], int]:
        """One page of a version's media, by file name then id."""
        root = self.version_root(dataset_id, version)
        if root is None:
            return [], 0
        return self.search(root, MediaFilter(kind=kind), MediaOrder(), page, page_size)

    def search(
        self,
        root: str,
        where: MediaFilter,
        order: MediaOrder,
        page: int,
        page_size: int,
        *,
        total: int | None = None,
    ) -> tuple[list[Row], int]:
        """One page of the root's items that meet ``where``, and how many do.

        Pass ``total`` when it is known (the tree's counts) to skip counting. A page by file
        name of a version filtered by kind at most is read by walking ``items_by_name`` and
        keeping the root's items, when that reads fewer rows than sorting the version would:
        walking reads about (offset + page size) x indexed items / matching items rows, so
        the first pages of a large version cost the same at any size, and a small version
        next to large ones is sorted instead. Every other search sorts its matches.
        """
        conditions, params = _conditions(where)
        offset = (page - 1) * page_size
        with self.store.reading() as sql:
            if total is None:  # counted in the same pass that sorts the matches
                keys = sql.all(
                    f"SELECT i.leaf, i.media_id, COUNT(*) OVER () AS matching "
                    f"{_ITEMS}{conditions} ORDER BY {_sorting(order, False)} "
                    "LIMIT ? OFFSET ?",
                    [root, *params, page_size, offset],
                )
                if keys:
                    return _records(sql, keys), int(keys[0]["matching"])
                return [], 0 if offset == 0 else int(
                    sql.value(f"SELECT COUNT(*) {_ITEMS}{conditions}", [root, *params])
                )
            if offset >= total:
                return [], total
            walk = (
                order.key == "file_name"
                and where.by_kind_only
                and total * total >= _WALK_COST * (offset + page_size) * _indexed_items(sql)
            )
            keys = sql.all(
                f"SELECT i.leaf, i.media_id {_WALK if walk else _ITEMS}{conditions} "
                f"ORDER BY {_sorting(order, walk)} LIMIT ? OFFSET ?",
                [root, *params, page_size, offset],
            )
            return _records(sql, keys), total

    def numeric_fields(self, root: str, fields: set[str]) -> set[str]:
        """Those of ``fields`` that hold a number in some item of the root."""
        with self.store.reading() as sql:
            return {
                field
                for field in sorted(fields)
                if sql.value(
                    "SELECT 1 FROM {t}root_leaves rl JOIN {t}item_metadata m ON m.leaf = rl.leaf "
                    "WHERE rl.root = ? AND m.field = ? AND m.num_value IS NOT NULL LIMIT 1",
                    (root, index_text(field, FIELD_LIMIT)),
                )
                is not None
            }

    def clusters(
        self, root: str, page: int, page_size: int, samples: int = 4
    ) -> tuple[list[tuple[str, int, list[Row]]], int]:
        """A page of the root's clusters, largest first: (cluster id, size, sample items)."""
        clustered = f"{_ITEMS} AND i.cluster_id IS NOT NULL"
        with self.store.reading() as sql:
            total = int(sql.value(f"SELECT COUNT(DISTINCT i.cluster_id) {clustered}", [root]))
            sizes = sql.all(
                f"SELECT i.cluster_id, COUNT(*) AS members {clustered} "
                "GROUP BY i.cluster_id ORDER BY COUNT(*) DESC, i.cluster_id "
                "LIMIT ? OFFSET ?",
                [root, page_size, (page - 1) * page_size],
            )
            ids = [str(r["cluster_id"]) for r in sizes]
            picked = (
                sql.all(
                    "SELECT s.cluster_id, s.leaf, s.media_id FROM (SELECT i.cluster_id, i.leaf, "
                    "i.media_id, ROW_NUMBER() OVER (PARTITION BY i.cluster_id "
                    f"ORDER BY i.file_name, i.media_id) AS n {clustered} AND i.cluster_id IN "
                    f"({', '.join('?' * len(ids))})) s WHERE s.n <= ? ORDER BY s.n",
                    [root, *ids, samples],
                )
                if ids
                else []
            )
            records = _records(sql, picked)
        by_cluster: dict[str, list[Row]] = {cluster: [] for cluster in ids}
        for row, record in zip(picked, records, strict=True):
            by_cluster[str(row["cluster_id"])].append(record)
        return [
            (str(r["cluster_id"]), int(r["members"]), by_cluster[str(r["cluster_id"])])
            for r in sizes
        ], total


def _records(sql: Sql, keys: list[Row]) -> list[Row]:
    """The records of (leaf, media_id) rows, in their order, with one indexed read."""
    if not keys:
        return []
    leaves = sorted({str(k["leaf"]) for k in keys})
    ids = sorted({str(k["media_id"]) for k in keys})
    # Every (leaf, media id) pair this can return belongs to the same version as the keys:
    # a version has one leaf per key prefix, so a media id in one of its leaves is in it.
    rows = sql.all(
        f"SELECT leaf, media_id, record FROM {{t}}records WHERE leaf IN "
        f"({', '.join('?' * len(leaves))}) AND media_id IN "
        f"({', '.join('?' * len(ids))})",
        [*leaves, *ids],
    )
    found = {(r["leaf"], r["media_id"]): r["record"] for r in rows}
    return [
        {"media_id": k["media_id"], **json.loads(found[(k["leaf"], k["media_id"])])} for k in keys
    ]


def _conditions(where: MediaFilter) -> tuple[str, list[Any]]:
    """SQL after ``WHERE rl.root = ?`` for the filter, and its parameters."""
    sql, params = "", list[Any]()
    for column, value in (("kind", where.kind), ("cluster_id", where.cluster_id)):
        if value is not None:
            sql += f" AND i.{column} = ?"
            params.append(index_text(value) if column == "cluster_id" else value)
    if where.name_contains:
        sql += " AND i.name_key LIKE ? ESCAPE '\\'"
        params.append(f"%{_like_escaped(where.name_contains.lower())}%")
    for tag in where.tags:
        sql += (
            f" AND EXISTS (SELECT 1 FROM {{t}}item_tags g WHERE {_OF_ITEM.format(a='g')}"
            " AND g.tag = ?)"
        )
        params.append(index_text(tag))
    if where.label is not None:
        sql += (
            " AND EXISTS (SELECT 1 FROM {t}item_labels c WHERE "
            f"{_OF_ITEM.format(a='c')} AND c.class_name = ?)"
        )
        params.append(index_text(where.label))
    for field in where.fields:
        field_sql, field_params = _field_conditions(field)
        sql += (
            " AND EXISTS (SELECT 1 FROM {t}item_metadata m WHERE "
            f"{_OF_ITEM.format(a='m')} AND m.field = ?{field_sql})"
        )
        params += [index_text(field.field, FIELD_LIMIT), *field_params]
    return sql, params


def _field_conditions(field: FieldFilter) -> tuple[str, list[Any]]:
    sql, params = "", list[Any]()
    if field.equals is not None:
        text, number = index_text(field.equals), as_number(field.equals)
        if number is None:
            sql += " AND m.text_value = ?"
            params.append(text)
        else:
            sql += " AND (m.text_value = ? OR m.num_value = ?)"
            params += [text, number]
    for bound, operator in ((field.gte, ">="), (field.lte, "<=")):
        if isinstance(bound, float):
            sql += f" AND m.num_value {operator} ?"
            params.append(bound)
        elif isinstance(bound, str):
            sql += f" AND m.text_value {operator} ?"
            params.append(index_text(bound))
    return sql, params


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _indexed_items(sql: Sql) -> int:
    return int(sql.value("SELECT value FROM {t}counters WHERE name = 'items'") or 0)


def _sorting(order: MediaOrder, walk: bool) -> str:
    """ORDER BY terms. Unless walking, file names sort as an expression (``|| ''``), which
    keeps either database from walking ``items_by_name`` where sorting reads fewer rows."""
    direction = "DESC" if order.descending else "ASC"
    terms = []
    for key in (order.key, *_THEN[order.key], "media_id"):
        term = "i.file_name || ''" if key == "file_name" and not walk else f"i.{key}"
        terms.append(f"{term} {direction}{' NULLS LAST' if key in _NULLABLE else ''}")
    return ", ".join(terms)
