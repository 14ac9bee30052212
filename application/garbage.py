"""Garbage collection of content-tree nodes: mark from every live root, sweep the rest.

Live roots are every dataset's current content, its live checkpoints and the roots its
running tasks will publish. Nodes written within the grace period are never swept, which
protects trees that running operations are building but have not published yet.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Protocol
from uuid import UUID

from application.datasets import Datasets
from domain.content_tree import reachable

_CREATED = "snapset:Dataset.Created"


class Sweepable(Protocol):
    def sweep(self, keep: set[str], written_before: float) -> int: ...


def dataset_ids(app: Datasets, batch: int = 1000) -> Iterator[UUID]:
    start = 0
    while True:
        notifications = app.recorder.select_notifications(
            start=start, limit=batch, topics=[_CREATED], inclusive_of_start=False)
        if not notifications:
            return
        for notification in notifications:
            yield UUID(str(notification.originator_id))
        start = notifications[-1].id


def live_roots(app: Datasets) -> set[str]:
    roots: set[str] = set()
    for dataset_id in dataset_ids(app):
        dataset = app._load(dataset_id)
        roots.add(dataset.content_root)
        roots.update(c["root"] for c in dataset.checkpoints.values() if not c["deleted"])
        if dataset.active_task is not None and "root" in dataset.active_task["params"]:
            roots.add(str(dataset.active_task["params"]["root"]))
    return roots


def collect_garbage(app: Datasets, nodes: Sweepable, *, grace_seconds: float = 3600) -> int:
    """Remove unreachable nodes older than the grace period; returns how many."""
    cutoff = time.time() - grace_seconds
    keep = reachable(app.tree, live_roots(app))
    return nodes.sweep(keep, cutoff)
