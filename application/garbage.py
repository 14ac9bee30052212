"""Garbage collection: content-tree nodes no live version reaches, and staged uploads no
task will ingest.

Live roots are every dataset's current content, its live checkpoints and the roots its
running tasks will publish or read (a clone's source, an export's version). Nodes written
within the grace period are never swept, which protects trees that running operations are
building but have not published yet. Likewise
a staging folder is swept only when no open task owns it and it is older than the grace
period (an upload is staged just before its task is recorded).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol
from uuid import UUID

from application.datasets import Datasets
from domain.content_tree import reachable

_CREATED = "snapset:Dataset.Created"


class Sweepable(Protocol):
    def sweep(self, keep: set[str], written_before: float) -> int: ...


@dataclass
class Liveness:
    roots: set[str] = field(default_factory=set)
    open_tasks: set[str] = field(default_factory=set)


def dataset_ids(app: Datasets, batch: int = 1000) -> Iterator[UUID]:
    start = 0
    while True:
        notifications = app.recorder.select_notifications(
            start=start, limit=batch, topics=[_CREATED], inclusive_of_start=False
        )
        if not notifications:
            return
        for notification in notifications:
            yield UUID(str(notification.originator_id))
        start = notifications[-1].id


def liveness(app: Datasets) -> Liveness:
    """One pass over every dataset: the roots still referenced and the tasks still open."""
    live = Liveness()
    for dataset_id in dataset_ids(app):
        roots, open_tasks = app.liveness(dataset_id)
        live.roots |= roots
        live.open_tasks |= open_tasks
    return live


def live_roots(app: Datasets) -> set[str]:
    return liveness(app).roots


def collect_garbage(app: Datasets, nodes: Sweepable, *, grace_seconds: float = 3600) -> int:
    """Remove unreachable nodes older than the grace period; returns how many."""
    cutoff = time.time() - grace_seconds
    return nodes.sweep(reachable(app.tree, live_roots(app)), cutoff)


def collect_task_leftovers(
    app: Datasets, staging: Sweepable, *, grace_seconds: float = 3600
) -> int:
    """Remove what tasks leave behind (staged uploads, blobs waiting for their batch) when no
    open task owns it and it is older than the grace period."""
    cutoff = time.time() - grace_seconds
    return staging.sweep(liveness(app).open_tasks, cutoff)
