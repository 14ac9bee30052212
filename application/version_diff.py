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
from domain.access import Role
from domain.content_diff import DiffPage, changed_facets, page_of
from domain.content_tree import ContentTree
from domain.dataset import Dataset
from domain.dataset_state import CURRENT
from domain.status import Operation
from domain.version import Version


@dataclass(frozen=True)
class VersionDiff:
    """Going from ``against`` to ``snapshot_id``: "added" items are in the latter only."""

    snapshot_id: str
    against: str
    page: DiffPage
    facets: dict[str, dict[str, Any]]


class VersionDiffs:
    """Version comparisons, mixed into the Datasets application."""

    tree: ContentTree

    def _read(self, actor: Actor, dataset_id: UUID, need: Role = Role.VIEWER) -> Dataset:
        raise NotImplementedError

    def compare_versions(
        self,
        actor: Actor,
        dataset_id: UUID,
        snapshot: str,
        against: str,
        page: int,
        page_size: int,
    ) -> VersionDiff:
        """What changes going from version ``against`` to version ``snapshot`` (a read)."""
        dataset = self._read(actor, dataset_id)
        dataset.require_snapshots(Operation.READ_SNAPSHOTS)
        old, new = dataset.version_named(against), dataset.version_named(snapshot)
        return self._diff((against, old), (snapshot, new), page, page_size)

    def preview_restore(
        self, actor: Actor, dataset_id: UUID, snapshot: str, page: int, page_size: int
    ) -> VersionDiff:
        """What restoring ``snapshot`` (an id or ``current``) would change, changing nothing.

        Same rules as the restore: the caller needs the editor role, and whatever would
        refuse the restore (unknown snapshot, a busy dataset, a clone running) refuses the
        preview.
        """
        dataset = self._read(actor, dataset_id, Role.EDITOR)
        trial = copy.deepcopy(dataset)  # the guard emits events; they go nowhere
        trial.start_restore(str(uuid4()), snapshot, actor.email, datetime.now(UTC))
        target = trial.restoring
        assert target is not None, "a restore that started names its snapshot"
        current = (CURRENT, dataset.current)
        return self._diff(current, (target, dataset.version_named(target)), page, page_size)

    def _diff(
        self, old: tuple[str, Version], new: tuple[str, Version], page: int, page_size: int
    ) -> VersionDiff:
        (old_name, old_version), (new_name, new_version) = old, new
        changes = self.tree.diff(old_version["root"], new_version["root"])
        return VersionDiff(
            snapshot_id=new_name,
            against=old_name,
            page=page_of(changes, page, page_size),
            facets=changed_facets(old_version["facets"], new_version["facets"]),
        )
