"""SQL for the media index: leaves indexed once, roots as sets of leaves, versions as roots.

Each item of a leaf is one narrow ``items`` row (the columns filters and sorts use), one
``records`` row (the whole record, read only for the items of a page) and child rows for its
tags, label class names and metadata values (and, on SQLite, its lower-cased file name in an
FTS5 trigram table; PostgreSQL indexes ``items.name_key`` with pg_trgm). A query names a
root; any version (current content or any snapshot) is searched the same way and nothing is
ever indexed per version. How a page is found without reading the whole version is
``media_search``'s business; the indexes it walks and seeks are declared here, and how rows
get in, ``media_index_writer``'s.
"""

from __future__ import annotations

import json
from typing import ClassVar

from adapters.views.media_clusters import DDL as CLUSTER_DDL
from adapters.views.media_clusters import MediaClusters
from adapters.views.media_conditions import root_probe
from adapters.views.media_index_writer import MediaIndexWriterSql, secondary_indexes
from adapters.views.media_search import MediaSearch, Request, SearchLimits
from adapters.views.sql import Row, Sql
from adapters.views.store import ViewStore
from projections.media_cursor import SearchCursor
from projections.media_index import (
    FIELD_LIMIT,
    MediaFilter,
    MediaOrder,
    SearchResult,
    index_text,
)

_CHUNK = 500


def _keyed(table: str) -> list[str]:
    """``CREATE TABLE`` for ``table`` (its name and columns), WITHOUT ROWID on SQLite."""
    return [
        f"sqlite: CREATE TABLE IF NOT EXISTS {{t}}{table} WITHOUT ROWID",
        f"postgres: CREATE TABLE IF NOT EXISTS {{t}}{table}",
    ]


class MediaIndexView:
    ddl: ClassVar[list[str]] = [
        "CREATE TABLE IF NOT EXISTS {t}versions (dataset_id TEXT, version TEXT, root TEXT, "
        "PRIMARY KEY (dataset_id, version))",
        "CREATE TABLE IF NOT EXISTS {t}roots (root TEXT PRIMARY KEY)",
        # A leaf is known by its hash here and by a number everywhere else: the number is the
        # one column every index entry of an item repeats, 8 bytes instead of 64.
        *_keyed("leaves (leaf TEXT, id BIGINT NOT NULL, PRIMARY KEY (leaf))"),
        *_keyed("root_leaves (root TEXT, leaf BIGINT, PRIMARY KEY (root, leaf))"),
        # On SQLite tables keyed by their primary key (WITHOUT ROWID): finding an item by its
        # key is one B-tree search, not two, and the key is not stored twice.
        *_keyed(
            "items (leaf BIGINT, media_id TEXT, kind TEXT, file_name TEXT, name_key TEXT, "
            "size BIGINT, width INTEGER, height INTEGER, cluster_id TEXT, "
            "PRIMARY KEY (leaf, media_id))"
        ),
        # Whole records apart from the narrow rows searches scan; read for a page's items only.
        *_keyed("records (leaf BIGINT, media_id TEXT, record TEXT, PRIMARY KEY (leaf, media_id))"),
        "CREATE TABLE IF NOT EXISTS {t}counters (name TEXT PRIMARY KEY, value BIGINT)",
        *_keyed(
            "item_tags (leaf BIGINT, media_id TEXT, tag TEXT, PRIMARY KEY (leaf, media_id, tag))"
        ),
        *_keyed(
            "item_labels (leaf BIGINT, media_id TEXT, class_name TEXT, "
            "PRIMARY KEY (leaf, media_id, class_name))"
        ),
        # A metadata condition is checked from each item (on SQLite the table's own key, on
        # PostgreSQL ``metadata_of_item``) or lists the items whose values meet it
        # (``metadata_by_*``, field then value).
        "sqlite: CREATE TABLE IF NOT EXISTS {t}item_metadata (field TEXT, leaf BIGINT, "
        "media_id TEXT, n INTEGER, num_value DOUBLE PRECISION, text_value TEXT, "
        "PRIMARY KEY (field, leaf, media_id, n)) WITHOUT ROWID",
        "postgres: CREATE TABLE IF NOT EXISTS {t}item_metadata (leaf BIGINT, media_id TEXT, "
        "field TEXT, n INTEGER, text_value TEXT, num_value DOUBLE PRECISION)",
        "postgres: CREATE INDEX IF NOT EXISTS {i}metadata_of_item ON {t}item_metadata "
        "(field, leaf, media_id, n, num_value, text_value)",
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
        self._secondary = secondary_indexes(self.ddl)

    def writer(self, sql: Sql) -> MediaIndexWriterSql:
        return MediaIndexWriterSql(sql, self._secondary)

    def version_root(self, dataset_id: str, version: str) -> str | None:
        with self.store.reading() as sql:
            return MediaIndexWriterSql(sql, []).version_root(dataset_id, version)

    def has_root(self, root: str) -> bool:
        with self.store.reading() as sql:
            return MediaIndexWriterSql(sql, []).has_root(root)

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
                    # From the field's numbers (none: at once), each probed for the root.
                    "SELECT 1 FROM {t}item_metadata m WHERE m.field = ? "
                    f"AND m.num_value IS NOT NULL AND CASE WHEN {root_probe('m', sql.dialect)} "
                    "THEN 1 ELSE 0 END = 1 LIMIT 1",
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
    found: dict[tuple[int, str], str] = {}
    pairs = [(int(k["leaf"]), str(k["media_id"])) for k in keys]
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
