"""The worker's side of a task, mixed into the Datasets application: claim it with a lease,
report progress (which renews the lease), and publish its result with one event, or its
failure. Each step is decided on the dataset, so only the worker holding a task may take it
and a task finishes exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from uuid import UUID

from application.actor import SYSTEM_EMAIL
from application.decisions import Also, now
from application.details import ClaimedTask
from domain.content_tree import ContentTree
from domain.dataset import Dataset
from domain.tasks import CLONE, RESTORE
from domain.version import Version, version_of

T = TypeVar("T")


class TaskRuns:
    tree: ContentTree

    def _load(self, dataset_id: UUID) -> Dataset:
        raise NotImplementedError

    def _system(self, dataset_id: UUID, decide: Callable[[Dataset], T]) -> T:
        raise NotImplementedError

    def claim_task(self, dataset_id: UUID, task_id: str, worker: str, lease: float) -> ClaimedTask:
        """Lease a task to ``worker``; returns the task as claimed."""

        def claim(dataset: Dataset) -> ClaimedTask:
            dataset.claim_task(task_id, worker, now() + timedelta(seconds=lease), now())
            task = dataset.task(task_id)
            publishes: Version | None = None
            if task["task_type"] == RESTORE:
                publishes = dataset.checkpoints[task["params"]["snapshot_id"]]["version"]
            elif task["task_type"] == CLONE:
                publishes = task["params"]["version"]
            return ClaimedTask(dataset.id, dataset.name, task, dataset.current, publishes)

        return self._system(dataset_id, claim)

    def report_progress(
        self,
        dataset_id: UUID,
        task_id: str,
        worker: str,
        progress: int,
        message: str,
        lease: float,
    ) -> None:
        until = now() + timedelta(seconds=lease)
        self._system(
            dataset_id, lambda d: d.report_progress(task_id, worker, progress, message, until)
        )

    def complete_operation(
        self,
        dataset_id: UUID,
        task_id: str,
        worker: str,
        root: str,
        status: str,
        *,
        facets: dict[str, Any] | None = None,
        report: dict[str, Any] | None = None,
        message: str = "",
    ) -> None:
        counts = self.tree.counts(root)
        result = version_of(root, counts.images, counts.videos, status, facets or {})

        def decide(dataset: Dataset) -> None:
            by = dataset.task(task_id)["created_by"]
            dataset.complete_operation(
                task_id, worker, result, by, now(), report=report, message=message
            )

        self._system(dataset_id, decide)

    def complete_export(
        self,
        dataset_id: UUID,
        task_id: str,
        worker: str,
        report: dict[str, Any],
        message: str = "",
    ) -> None:
        self._system(dataset_id, lambda d: d.complete_export(task_id, worker, report, message))

    def complete_restore(self, dataset_id: UUID, task_id: str, worker: str) -> None:
        self._system(dataset_id, lambda d: d.complete_restore(task_id, worker))

    def complete_clone(self, dataset_id: UUID, task_id: str, worker: str) -> None:
        def decide(dataset: Dataset) -> Also:
            by = dataset.task(task_id)["created_by"]
            return self._end_task(
                dataset, task_id, lambda: dataset.complete_clone(task_id, worker, by, now())
            )

        self._system(dataset_id, decide)

    def fail_task(self, dataset_id: UUID, task_id: str, worker: str, error: str) -> None:
        self._system(
            dataset_id,
            lambda d: self._end_task(d, task_id, lambda: d.fail_task(task_id, worker, error)),
        )

    def _end_task(self, dataset: Dataset, task_id: str, end: Callable[[], None]) -> Also:
        """End a task however it ends; a clone's end also releases its source dataset (which
        refuses restores while a clone from it runs), in the same save."""
        task = dataset.active_task
        is_clone = task is not None and task["task_id"] == task_id and task["task_type"] == CLONE
        end()
        if not is_clone or dataset.source_dataset_id is None:
            return Also()
        source = self._load(dataset.source_dataset_id)
        source.finish_clone(task_id, SYSTEM_EMAIL)
        return Also([source])
