"""Comparing two versions of a dataset, and previewing what a restore would change.

A version is the current content (``current``) or a live snapshot; either is a root hash and
facets, so comparing costs O(changes) through the content tree. Both queries only read: the
restore preview runs the real restore guard on a copy of the dataset that is never saved.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from application.actor import Actor
from application.datasets import Datasets
from domain.content_diff import DiffPage, changed_facets, page_of
from domain.dataset import Dataset, check_may_write
from domain.errors import SnapshotsDisabled

CURRENT = "current"


@dataclass(frozen=True)
class Version:
    id: str  # a snapshot id, or "current" for the dataset's current content
    root: str
    facets: dict[str, Any]


@dataclass(frozen=True)
class VersionDiff:
    """Going from ``against`` to ``snapshot_id``: "added" items are in the latter only."""

    snapshot_id: str
    against: str
    page: DiffPage
    facets: dict[str, dict[str, Any]]


def version_of(dataset: Dataset, version: str) -> Version:
    """``current`` or a live snapshot id; SnapshotNotFound for anything else."""
    if version == CURRENT:
        return Version(CURRENT, dataset.content_root, dict(dataset.facets))
    record = dataset.live_checkpoint(version)
    return Version(version, record["root"], dict(record.get("facets") or {}))


def compare_versions(
    app: Datasets,
    actor: Actor,
    dataset_id: UUID,
    snapshot: str,
    against: str,
    page: int,
    page_size: int,
) -> VersionDiff:
    """What changes going from version ``against`` to version ``snapshot`` (a read)."""
    dataset = app.get_dataset(actor, dataset_id)
    if not dataset.snapshot_support:
        raise SnapshotsDisabled(dataset.id)
    return _diff(app, version_of(dataset, against), version_of(dataset, snapshot), page, page_size)


def preview_restore(
    app: Datasets, actor: Actor, dataset_id: UUID, snapshot: str, page: int, page_size: int
) -> VersionDiff:
    """What restoring ``snapshot`` (an id or ``current``) would change, changing nothing.

    Same rules as the restore: the caller needs the editor role, and whatever would refuse
    the restore (unknown snapshot, a busy dataset, a clone running) refuses the preview.
    """
    dataset = app.get_dataset(actor, dataset_id)
    check_may_write(dataset, actor.user_id, is_admin=actor.is_admin)
    trial = copy.deepcopy(dataset)  # the guard emits events; they go nowhere
    trial.start_restore(str(uuid4()), snapshot, actor.email, datetime.now(UTC))
    target = trial.restoring
    assert target is not None, "a restore that started names its snapshot"
    return _diff(app, version_of(dataset, CURRENT), version_of(dataset, target), page, page_size)


def _diff(app: Datasets, old: Version, new: Version, page: int, page_size: int) -> VersionDiff:
    return VersionDiff(
        snapshot_id=new.id,
        against=old.id,
        page=page_of(app.tree.diff(old.root, new.root), page, page_size),
        facets=changed_facets(old.facets, new.facets),
    )
