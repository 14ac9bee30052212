"""The media index: search over any version of a dataset without undoing the tree's O(1).

Each immutable leaf of the content tree is indexed once (its items' searchable fields, keyed
by leaf hash). Each indexed root maps to its set of leaves, and each dataset version (its
current content and every checkpoint) maps to a root. So a checkpoint, a restore or a clone
writes one mapping row; only content that never existed before costs index work, and that
work is proportional to the leaves it changed (found by diffing against the previous root).

Per item the index keeps what filters and sorts need (``searchable``): kind, file name,
size, width, height, cluster id, tags, label class names and metadata values. Queries name
a root and describe what they want with ``MediaFilter`` and ``MediaOrder``.
"""

from __future__ import annotations

import json
import math
import re
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import singledispatchmethod
from typing import Any, NamedTuple, Protocol

from domain.content_tree import ContentTree, NodeMissing, Record
from domain.dataset_events import (
    CloneCompleted,
    ContentEdited,
    DatasetEvent,
    OperationCompleted,
    SnapshotCreated,
    SnapshotSoftDeleted,
    VersionPublished,
)
from domain.dataset_state import CURRENT

_BATCH = 256
SORT_KEYS = ("file_name", "size", "width", "height", "kind", "cluster_id", "media_id")
# Indexed text is cut to these lengths (characters) so that every index entry stays well
# under PostgreSQL's B-tree limit (about 2.7 kB) whatever users put in tags or metadata.
# Filters cut their values the same way, so only texts sharing such a prefix can collide.
TEXT_LIMIT = 400
FIELD_LIMIT = 100
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def as_number(text: str) -> float | None:
    """The number a filter value spells (``12``, ``-0.5``, ``1e3``), else None."""
    if not _NUMBER.match(text.strip()):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def index_text(text: str, limit: int = TEXT_LIMIT) -> str:
    return text[:limit]


class Searchable(NamedTuple):
    """What the index keeps of one media record for filtering and sorting.

    ``values`` holds one ``(field, n, text, number)`` row per metadata value (a list value
    gives one row per element): numbers in ``number``, everything else as text in ``text``
    (booleans as ``true``/``false``; datetimes are ISO strings, so text ranges order them).
    A named tuple: it is made once per item indexed, and a frozen dataclass costs several
    times as much to make.
    """

    kind: str | None
    file_name: str
    name_key: str
    size: int | None
    width: int | None
    height: int | None
    cluster_id: str | None
    tags: tuple[str, ...]
    classes: tuple[str, ...]
    values: tuple[tuple[str, int, str | None, float | None], ...]


def searchable(record: Record) -> Searchable:
    file_name = str(record.get("file_name") or "")
    cluster = record.get("cluster_id")
    values: list[tuple[str, int, str | None, float | None]] = []
    metadata = record.get("metadata")
    if metadata:
        numbered: dict[str, int] = {}  # values per indexed name (long names may share one)
        for field, value in sorted(metadata.items()):
            name = index_text(str(field), FIELD_LIMIT)
            n = numbered.get(name, 0)
            for item in value if isinstance(value, list) else (value,):
                for text, number in _scalar(item):
                    values.append((name, n, text, number))
                    n += 1
            numbered[name] = n
    labels = record.get("labels")
    return Searchable(
        record.get("kind"),
        index_text(file_name),
        file_name.lower(),
        _integer(record.get("size")),
        _integer(record.get("width")),
        _integer(record.get("height")),
        None if cluster is None else index_text(str(cluster)),
        tuple(sorted({index_text(str(t)) for t in record.get("tags") or ()})),
        tuple(
            sorted(
                {
                    index_text(str(label.get("class_name")))
                    for label in labels
                    if isinstance(label, dict) and label.get("class_name")
                }
            )
        )
        if labels
        else (),
        tuple(values),
    )


def _scalar(value: Any) -> list[tuple[str | None, float | None]]:
    if value is None:
        return []
    if isinstance(value, bool):
        return [("true" if value else "false", None)]
    if isinstance(value, int | float):
        return [(None, float(value))] if math.isfinite(value) else []
    if isinstance(value, str):
        return [(index_text(value), None)]
    return [(index_text(json.dumps(value, sort_keys=True)), None)]


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class FieldFilter:
    """Conditions on one metadata field that one of its values must meet together.

    ``equals`` matches a text value exactly, or a number equal to it when it spells one.
    A bound is a float for a numeric range and a str for a text range.
    """

    field: str
    equals: str | None = None
    gte: float | str | None = None
    lte: float | str | None = None


@dataclass(frozen=True)
class MediaFilter:
    """Which items of a version to list; every condition given must hold."""

    kind: str | None = None
    tags: tuple[str, ...] = ()
    label: str | None = None
    cluster_id: str | None = None
    name_contains: str | None = None
    fields: tuple[FieldFilter, ...] = ()

    @property
    def by_kind_only(self) -> bool:
        """True when the content tree's counts give the total (no condition beyond kind)."""
        return not (self.tags or self.label or self.cluster_id or self.name_contains or self.fields)


@dataclass(frozen=True)
class MediaOrder:
    key: str = "file_name"
    descending: bool = False


@dataclass(frozen=True)
class SearchResult:
    """One page of a search.

    ``total`` counts every match when ``total_is_lower_bound`` is false. Counting a large
    result exactly would cost time in proportion to it, so past a fixed amount of counting
    work ``total`` is the number of matches found so far, and a lower bound. A page with no
    rows always comes with the exact total. ``next_cursor`` continues after this page's last
    item (None after the last page).
    """

    rows: list[dict[str, Any]]
    total: int
    total_is_lower_bound: bool = False
    next_cursor: str | None = None


class MediaIndexWriter(Protocol):
    def version_root(self, dataset_id: str, version: str) -> str | None: ...

    def set_version(self, dataset_id: str, version: str, root: str) -> None: ...

    def drop_version(self, dataset_id: str, version: str) -> None: ...

    def has_root(self, root: str) -> bool: ...

    def derive_root(self, root: str, base: str, removed: set[str], added: set[str]) -> None:
        """Index ``root`` as ``base``'s leaves less ``removed`` plus ``added``."""
        ...

    def add_root(self, root: str, leaves: set[str]) -> None: ...

    def missing_leaves(self, leaves: list[str]) -> set[str]:
        """Those of ``leaves`` not indexed yet."""
        ...

    def add_leaves(self, leaves: dict[str, tuple[tuple[str, Record], ...]]) -> None: ...

    def bulk(self, *, items: int = 0, leaves: int = 0) -> AbstractContextManager[None]:
        """A block that may add about ``items`` items or ``leaves`` leaves: the writer may
        index them in bulk, at the end of the batch."""
        ...


class MediaIndexProjection:
    name = "media_index"

    def __init__(self, tree: ContentTree) -> None:
        self._tree = tree

    def process(self, event: DatasetEvent, position: int, writer: MediaIndexWriter) -> None:
        self._project(event, str(event.originator_id), writer)

    @singledispatchmethod
    def _project(self, event: DatasetEvent, dataset_id: str, writer: MediaIndexWriter) -> None:
        """An event that names no new version."""

    @_project.register
    def _published(
        self, event: VersionPublished, dataset_id: str, writer: MediaIndexWriter
    ) -> None:
        self._set(writer, dataset_id, CURRENT, event.published()["root"])

    @_project.register
    def _edited(self, event: ContentEdited, dataset_id: str, writer: MediaIndexWriter) -> None:
        self._set(writer, dataset_id, CURRENT, event.root)

    @_project.register
    def _snapshot(self, event: SnapshotCreated, dataset_id: str, writer: MediaIndexWriter) -> None:
        self._set(writer, dataset_id, event.checkpoint_id, event.checkpoint["version"]["root"])

    @_project.register
    def _operation(
        self, event: OperationCompleted, dataset_id: str, writer: MediaIndexWriter
    ) -> None:
        self._published(event, dataset_id, writer)
        if event.checkpoint_id:  # a creation task's checkpoint
            self._set(writer, dataset_id, event.checkpoint_id, event.version["root"])

    @_project.register
    def _clone(self, event: CloneCompleted, dataset_id: str, writer: MediaIndexWriter) -> None:
        self._published(event, dataset_id, writer)
        self._set(writer, dataset_id, event.checkpoint_id, event.published()["root"])

    @_project.register
    def _removed(
        self, event: SnapshotSoftDeleted, dataset_id: str, writer: MediaIndexWriter
    ) -> None:
        writer.drop_version(dataset_id, event.checkpoint_id)

    def _set(self, writer: MediaIndexWriter, dataset_id: str, version: str, root: str) -> None:
        """Map ``version`` to ``root``, indexing the root first (against the current one)."""
        self._index_root(writer, root, writer.version_root(dataset_id, CURRENT))
        writer.set_version(dataset_id, version, root)

    def _index_root(self, writer: MediaIndexWriter, root: str, base: str | None) -> None:
        if writer.has_root(root):
            return
        if base is not None and writer.has_root(base):
            try:
                added, removed = self._tree.diff_leaves(base, root)
            except NodeMissing:
                pass  # garbage collection removed the base: index the new root in full
            else:
                with writer.bulk(leaves=len(added)):
                    self._index_leaves(writer, added)
                writer.derive_root(root, base, removed, added)
                return
        leaves: set[str] = set()
        try:
            with writer.bulk(items=self._tree.counts(root).items):
                for batch in self._tree.leaf_batches(root):
                    leaves.update(leaf for leaf, _ in batch)
                    missing = writer.missing_leaves([leaf for leaf, _ in batch])
                    writer.add_leaves({leaf: items for leaf, items in batch if leaf in missing})
        except NodeMissing:
            # Garbage collection removed this root (a rebuild after ``gc``): no live version
            # names it any more, and a later event replaces or drops each version that did.
            return
        writer.add_root(root, leaves)

    def _index_leaves(self, writer: MediaIndexWriter, leaves: set[str]) -> None:
        missing = sorted(writer.missing_leaves(sorted(leaves)))
        for start in range(0, len(missing), _BATCH):
            writer.add_leaves(self._tree.leaf_items_many(missing[start : start + _BATCH]))
