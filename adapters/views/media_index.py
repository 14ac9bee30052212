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
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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
# A bulk block (``MediaIndexWriterSql.bulk``) that adds at least this many items, and at least
# a quarter of what the index held before, puts off the item tables' secondary indexes to its
# end: making an index again sorts all its entries, placing an entry in a B-tree larger
# than the page cache costs several times more per entry.
_BULK_ITEMS = 20_000
_BULK_SHARE = 4
_SECONDARY = re.compile(
    r"^(?:sqlite: )?CREATE INDEX IF NOT EXISTS \{i\}(\w+) ON \{t\}(items|item_tags|"
    r"item_labels|item_metadata) "
)


class MediaIndexWriterSql:
    def __init__(self, sql: Sql) -> None:
        self.sql = sql
        self._bulk: _Bulk | None = None

    @contextmanager
    def bulk(self, *, items: int = 0, leaves: int = 0) -> Iterator[None]:
        """A block that may add many items: about ``items``, or ``leaves`` leaves' worth.

        On SQLite, when it is expected to add (or has added) as many as ``_BULK_ITEMS`` and
        a quarter of what the index held, the item tables' secondary indexes are dropped
        and made again at its end, in the same transaction: readers see the old index until
        the transaction commits. (PostgreSQL keeps its indexes: dropping one would hold
        back every reader of the table until the end.)"""
        if self._bulk is not None or self.sql.dialect != "sqlite":
            yield
            return
        held = self._counter("items")
        expected = items or leaves * held // max(self._counter("leaves"), 1)
        self._bulk = _Bulk(threshold=max(_BULK_ITEMS, held // _BULK_SHARE))
        try:
            self._added(expected, counted=False)
            yield
        finally:
            # Also when the block fails: a caller that goes on (a root garbage-collected
            # under it) must not commit the index without them.
            deferred, self._bulk = self._bulk.deferred, None
            for statement in deferred:
                self.sql.run(statement)

    def _counter(self, name: str) -> int:
        return int(self.sql.value("SELECT value FROM {t}counters WHERE name = ?", (name,)) or 0)

    def _added(self, items: int, *, counted: bool = True) -> None:
        """Note ``items`` added (or, not ``counted``, expected) in the bulk block, if any."""
        bulk = self._bulk
        if bulk is None or bulk.deferred:
            return
        bulk.added += items if counted else 0
        if max(bulk.added, items) < bulk.threshold:
            return
        for statement in MediaIndexView.ddl:
            match = _SECONDARY.match(statement)
            if match:
                self.sql.run(f"DROP INDEX IF EXISTS {match[1]}")
                text = statement.removeprefix("sqlite: ").replace("{i}", "")
                bulk.deferred.append(text)

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
        ids = self._leaf_ids(removed | added)
        gone, new = {ids[leaf] for leaf in removed}, {ids[leaf] for leaf in added}
        self.sql.run("INSERT INTO {t}roots (root) VALUES (?)", (root,))
        self.sql.run(
            "INSERT INTO {t}root_leaves (root, leaf) SELECT ?, leaf "
            "FROM {t}root_leaves WHERE root = ?",
            (root, base),
        )
        self.sql.many(
            "DELETE FROM {t}root_leaves WHERE root = ? AND leaf = ?",
            [(root, leaf) for leaf in sorted(gone)],
        )
        self.sql.many(
            "INSERT INTO {t}root_leaves (root, leaf) VALUES (?, ?) ON CONFLICT DO NOTHING",
            [(root, leaf) for leaf in sorted(new)],
        )
        MediaClusters(self.sql).derive(root, base, gone, new)

    def add_root(self, root: str, leaves: set[str]) -> None:
        self.sql.run("INSERT INTO {t}roots (root) VALUES (?)", (root,))
        ids = sorted(self._leaf_ids(leaves).values())
        self.sql.insert("root_leaves", ["root", "leaf"], [(root, leaf) for leaf in ids])
        MediaClusters(self.sql).summarise(root)

    def missing_leaves(self, leaves: list[str]) -> set[str]:
        return set(leaves) - set(self._leaf_ids(leaves))

    def _leaf_ids(self, leaves: Iterable[str]) -> dict[str, int]:
        """The index's number for each of ``leaves`` it holds, by leaf hash."""
        found: dict[str, int] = {}
        ordered = sorted(leaves)
        for start in range(0, len(ordered), _CHUNK):
            chunk = ordered[start : start + _CHUNK]
            rows = self.sql.all(
                f"SELECT leaf, id FROM {{t}}leaves WHERE leaf IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
            found.update((str(row["leaf"]), int(row["id"])) for row in rows)
        return found

    def _number(self, counter: str, n: int) -> int:
        """Add ``n`` to ``counter`` and return its value before."""
        self.sql.run(
            "INSERT INTO {t}counters AS c (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = c.value + excluded.value",
            (counter, n),
        )
        return int(self.sql.value("SELECT value FROM {t}counters WHERE name = ?", (counter,))) - n

    def add_leaves(self, leaves: dict[str, tuple[tuple[str, Record], ...]]) -> None:
        """Index ``leaves`` (none of them indexed yet). Each is given the next number, so
        their rows go in at the end of every table keyed by leaf."""
        if not leaves:
            return
        first = self._number("leaves", len(leaves))
        ids = {leaf: first + 1 + n for n, leaf in enumerate(sorted(leaves))}
        items: list[tuple[Any, ...]] = []
        records: list[tuple[Any, ...]] = []
        tags: list[tuple[Any, ...]] = []
        labels: list[tuple[Any, ...]] = []
        values: list[tuple[Any, ...]] = []
        for leaf, number in ids.items():
            for key, record in leaves[leaf]:
                s = searchable(record)
                items.append(
                    (
                        number,
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
                records.append((number, key, json.dumps(record, sort_keys=True)))
                tags.extend((number, key, tag) for tag in s.tags)
                labels.extend((number, key, name) for name in s.classes)
                values.extend((number, key, *value) for value in s.values)
        self.sql.insert("leaves", ["leaf", "id"], sorted(ids.items()))
        self._number("items", len(items))
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
        self._added(len(items))

    def _insert(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        name, _, columns = table.partition(" ")
        self.sql.insert(name, [c.strip() for c in columns.strip("()").split(",")], rows)


@dataclass
class _Bulk:
    threshold: int  # items added (or expected) before the secondary indexes are put off
    added: int = 0
    deferred: list[str] = field(default_factory=list)  # the indexes to make at the end


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
