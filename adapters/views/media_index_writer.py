"""Writing the media index: leaves numbered and indexed once, roots as sets of leaves,
versions as roots (``adapters/views/media_index.py`` declares the tables).

A root indexed in full, or an edit's new leaves, are written in a bulk block (``bulk``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import msgspec

from adapters.views.media_clusters import MediaClusters
from adapters.views.sql import Sql
from domain.content_tree import Record
from projections.media_index import searchable

# A record's JSON for the records table, keys sorted. msgspec makes it 7x faster than the
# json module, which mattered: a record is written for every item indexed. (A float that
# is not finite, which JSON cannot spell, is written as null.)
_RECORD_JSON = msgspec.json.Encoder(order="sorted")

_CHUNK = 500
# A bulk block (``MediaIndexWriterSql.bulk``) that adds at least this many items, and at least
# a quarter of what the index held before, puts off the item tables' secondary indexes to the
# end of the batch: making an index again sorts all its entries once, where placing each
# entry in a B-tree larger than the page cache costs several times more per entry.
_BULK_ITEMS = 20_000
_BULK_SHARE = 4
_SECONDARY = re.compile(
    r"^(?:sqlite: )?CREATE INDEX IF NOT EXISTS \{i\}(\w+) ON \{t\}(items|item_tags|"
    r"item_labels|item_metadata) "
)


def secondary_indexes(ddl: list[str]) -> list[tuple[str, str]]:
    """The item tables' secondary indexes in the media index's DDL, as (name, CREATE INDEX
    statement on SQLite): what a bulk block puts off."""
    found = []
    for statement in ddl:
        match = _SECONDARY.match(statement)
        if match:
            found.append((match[1], statement.removeprefix("sqlite: ").replace("{i}", "")))
    return found


class MediaIndexWriterSql:
    """The media index's writes, on one transaction's ``Sql``; ``secondary`` lists the
    indexes a bulk block may put off (``secondary_indexes``). Call ``finish`` before the
    transaction commits (``Projector.apply`` does)."""

    def __init__(self, sql: Sql, secondary: list[tuple[str, str]]) -> None:
        self.sql = sql
        self._secondary = secondary
        self._bulk: _Bulk | None = None
        self._deferred: list[str] = []  # indexes dropped, to make again in ``finish``

    @contextmanager
    def bulk(self, *, items: int = 0, leaves: int = 0) -> Iterator[None]:
        """A block that may add many items: about ``items``, or ``leaves`` leaves' worth.

        On SQLite, when it is expected to add (or has added) as many as ``_BULK_ITEMS`` and
        a quarter of what the index held, the item tables' secondary indexes are dropped,
        to be made again once in ``finish``, whatever else the transaction adds: readers
        see the old index until it commits. (PostgreSQL keeps its indexes: dropping one
        would hold back every reader of the table until the end.)"""
        if self._bulk is not None or self._deferred or self.sql.dialect != "sqlite":
            yield
            return
        held = self._counter("items")
        expected = items or leaves * held // max(self._counter("leaves"), 1)
        self._bulk = _Bulk(threshold=max(_BULK_ITEMS, held // _BULK_SHARE))
        try:
            if expected >= self._bulk.threshold:
                self._defer_indexes()
            yield
        finally:
            self._bulk = None

    def finish(self) -> None:
        """Make again the indexes bulk blocks put off: the transaction may commit then."""
        deferred, self._deferred = self._deferred, []
        for statement in deferred:
            self.sql.run(statement)

    def _counter(self, name: str) -> int:
        return int(self.sql.value("SELECT value FROM {t}counters WHERE name = ?", (name,)) or 0)

    def _added(self, items: int) -> None:
        """Note ``items`` added: a bulk block that reaches its threshold puts off the indexes."""
        bulk = self._bulk
        if bulk is None or self._deferred:
            return
        bulk.added += items
        if bulk.added >= bulk.threshold:
            self._defer_indexes()

    def _defer_indexes(self) -> None:
        for name, statement in self._secondary:
            self.sql.run(f"DROP INDEX IF EXISTS {name}")
            self._deferred.append(statement)

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
        return self._counter(counter) - n

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
                records.append((number, key, _RECORD_JSON.encode(record).decode()))
                tags.extend((number, key, tag) for tag in s.tags)
                labels.extend((number, key, name) for name in s.classes)
                values.extend((number, key, *value) for value in s.values)
        self.sql.insert("leaves", ["leaf", "id"], list(ids.items()))
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
