"""What differs between two versions of a dataset's content, in the words users read.

The content tree's ``diff`` yields raw ``Change``s in O(changes). This module sorts them into
added, removed and changed items, names which *parts* of a changed record differ (its file,
metadata, tags, labels, enrichment, cluster), and pages through them while keeping only the
page: the counts need every change, a page needs only its own.

Direction: a diff goes from an *older* version to a *newer* one. ``Change.old`` is the
``against`` side and ``Change.new`` the target, so "added" means in the target only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.content_tree import Change, Record

# Record key -> the part of an item it belongs to. Keys not listed are named for themselves,
# so a change is never hidden because the record grew a key this table does not know.
PART_OF_KEY: dict[str, str] = {
    "kind": "file",
    "file_name": "file",
    "blob": "file",
    "size": "file",
    "width": "file",
    "height": "file",
    "duration": "file",
    "metadata": "metadata",
    "tags": "tags",
    "labels": "labels",
    "enrichment": "enrichment",
    "cluster_id": "cluster",
}
PART_ORDER = ("file", "metadata", "tags", "labels", "enrichment", "cluster")

# An absent key means the same as its empty value (records written before a key existed).
_EMPTY: dict[str, Any] = {
    "metadata": {},
    "tags": [],
    "labels": [],
    "enrichment": {},
    "cluster_id": None,
}

ADDED, REMOVED, CHANGED = "added", "removed", "changed"


def kind_of(change: Change) -> str:
    if change.old is None:
        return ADDED
    if change.new is None:
        return REMOVED
    return CHANGED


def changed_parts(old: Record, new: Record) -> list[str]:
    """The parts that differ between two records of one item, in ``PART_ORDER``."""
    names = {
        PART_OF_KEY.get(key, key)
        for key in old.keys() | new.keys()
        if old.get(key, _EMPTY.get(key)) != new.get(key, _EMPTY.get(key))
    }
    known = [part for part in PART_ORDER if part in names]
    return known + sorted(names - set(PART_ORDER))


def summary(media_id: str, record: Record) -> dict[str, Any]:
    """How an added or removed item is listed: enough to recognise it."""
    return {"media_id": media_id, "kind": record.get("kind"), "file_name": record.get("file_name")}


def changed_facets(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Dataset-level facets that differ: ``{name: {"before": old, "after": new}}``."""
    return {
        name: {"before": old.get(name), "after": new.get(name)}
        for name in sorted(old.keys() | new.keys())
        if old.get(name) != new.get(name)
    }


@dataclass
class DiffPage:
    """One page of a diff, and the counts of the whole of it."""

    page: int
    page_size: int
    counts: dict[str, int] = field(default_factory=lambda: {ADDED: 0, REMOVED: 0, CHANGED: 0})
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def page_of(changes: Iterable[Change], page: int, page_size: int) -> DiffPage:
    """Count every change; describe only those on ``page`` (from 1) of the change stream.

    Pages cut the stream in the order it comes (the tree's order, the same every time for a
    given pair of versions); each page's items are then listed under their kind.
    """
    if page < 1 or page_size < 1:
        raise ValueError("page and page_size start at 1")
    result = DiffPage(page, page_size)
    first = (page - 1) * page_size
    for index, change in enumerate(changes):
        kind = kind_of(change)
        result.counts[kind] += 1
        if not first <= index < first + page_size:
            continue
        old, new = change.old, change.new
        if old is not None and new is not None:
            result.changed.append({**summary(change.key, new), "parts": changed_parts(old, new)})
        elif new is not None:
            result.added.append(summary(change.key, new))
        elif old is not None:
            result.removed.append(summary(change.key, old))
    return result
