"""The task worker: claims open tasks with a lease, runs them, publishes each result once.

A worker killed at any point loses nothing: the task stays open in the log, its lease runs
out, and another worker claims it. Finishing is guarded on the dataset (the task must still
be held by this worker), so a task completes exactly once even if two workers ran it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Protocol
from uuid import UUID, uuid4

from eventsourcing.persistence import PersistenceError

from application.datasets import Datasets
from application.details import ClaimedTask
from application.operations.base import Operation, OperationFailed, TaskContext
from application.ports import TaskQueue
from domain.content_tree import NodeMissing
from domain.errors import Conflict, DomainError, NotFound
from domain.tasks import CLONE, EXPORT, RESTORE

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another worker took the task over; this one must stop without publishing."""


class WorkerObserver(Protocol):
    """Watches a worker's tasks: a CLI's progress bar, or a test that paces the worker so
    a kill lands inside a task (``tests/support/paced_worker.py``)."""

    def claimed(self, task_id: str) -> None:
        """The worker holds the task now, and runs it when this returns."""

    def counted(self, task_id: str, done: int, total: int) -> None:
        """The task's operation has done ``done`` of ``total`` items."""


class Worker:
    def __init__(
        self,
        app: Datasets,
        queue: TaskQueue,
        operations: Mapping[str, Operation],
        *,
        lease_seconds: float = 30.0,
        worker_id: str | None = None,
        observer: WorkerObserver | None = None,
    ) -> None:
        self.app = app
        self.queue = queue
        self.operations = operations
        self.lease = lease_seconds
        self.worker_id = worker_id or f"worker-{uuid4().hex[:8]}"
        self.observer = observer

    def run_once(self, limit: int = 8) -> int:
        """Claim and run what is claimable now; returns how many tasks it finished."""
        done = 0
        for dataset_id, task_id in self.queue.claimable(limit):
            done += self.run_task(UUID(str(dataset_id)), task_id)
        return done

    def run_task(self, dataset_id: UUID, task_id: str) -> bool:
        try:
            claimed = self.app.claim_task(dataset_id, task_id, self.worker_id, self.lease)
        except (Conflict, NotFound):
            return False  # finished, or leased by another worker meanwhile
        if self.observer is not None:
            self.observer.claimed(task_id)
        task_type = claimed.task["task_type"]
        try:
            if claimed.publishes is not None:  # a restore or a clone: nothing to compute
                self.app.tree.counts(claimed.publishes["root"])  # its root node must exist
                complete = {RESTORE: self.app.complete_restore, CLONE: self.app.complete_clone}
                finish = complete[task_type]
                self._publish(lambda: finish(dataset_id, task_id, self.worker_id))
            else:
                self._run_operation(claimed)
        except LeaseLost:
            return False
        except (OperationFailed, NodeMissing, DomainError) as error:
            self._fail(dataset_id, task_id, _describe(error))
        except PersistenceError:
            raise  # the database is unwell: leave the task to its lease and retry later
        except Exception as error:  # a defect: record it on the task rather than loop on it
            log.exception("task %s failed unexpectedly", task_id)
            self._fail(dataset_id, task_id, f"Internal error ({type(error).__name__}).")
        return True

    def _run_operation(self, claimed: ClaimedTask) -> None:
        dataset_id, task = claimed.dataset_id, claimed.task
        task_id = task["task_id"]
        operation = self.operations.get(task["task_type"])
        if operation is None:
            raise OperationFailed(f"No worker can run {task['task_type']} tasks.")
        context = TaskContext(
            dataset_id=str(dataset_id),
            dataset_name=claimed.dataset_name,
            content_root=claimed.current["root"],
            facets=claimed.current["facets"],
            task=task,
            tree=self.app.tree,
            progress=self._progress(dataset_id, task_id),
            observe=self._observe(task_id),
        )
        outcome = operation.run(context)
        if task["task_type"] == EXPORT:
            self._publish(
                lambda: self.app.complete_export(
                    dataset_id, task_id, self.worker_id, outcome.report or {}, outcome.message
                )
            )
        else:
            self._publish(
                lambda: self.app.complete_operation(
                    dataset_id,
                    task_id,
                    self.worker_id,
                    outcome.root,
                    outcome.status,
                    facets=outcome.facets,
                    report=outcome.report,
                    message=outcome.message,
                )
            )
        for cleanup in outcome.cleanup:
            cleanup()

    def _observe(self, task_id: str) -> Callable[[int, int], None] | None:
        observer = self.observer
        if observer is None:
            return None
        return lambda done, total: observer.counted(task_id, done, total)

    def _progress(self, dataset_id: UUID, task_id: str) -> Callable[[int, str], None]:
        def report(progress: int, message: str) -> None:
            self._publish(
                lambda: self.app.report_progress(
                    dataset_id, task_id, self.worker_id, progress, message, self.lease
                )
            )

        return report

    def _fail(self, dataset_id: UUID, task_id: str, error: str) -> None:
        with contextlib.suppress(Conflict, NotFound):  # no longer ours, or aborted
            self.app.fail_task(dataset_id, task_id, self.worker_id, error)

    @staticmethod
    def _publish(write: Callable[[], None]) -> None:
        """Write on the task's behalf; if it was taken over or aborted, the lease is lost."""
        try:
            write()
        except (Conflict, NotFound) as error:  # taken over, or aborted meanwhile
            raise LeaseLost(error.detail) from None


def _describe(error: BaseException) -> str:
    if isinstance(error, NodeMissing):
        return "The snapshot's content is missing from the content store."
    if isinstance(error, DomainError):
        return error.detail
    return str(error) or type(error).__name__


class Wakeable(Protocol):
    @property
    def generation(self) -> int: ...

    def wait(self, timeout: float, since: int | None = None) -> None: ...


class WorkerThread:
    """Runs a worker until stopped; wakes early when ``wake`` is pulsed."""

    def __init__(self, worker: Worker, wake: Wakeable, *, poll_seconds: float = 0.05) -> None:
        self._worker = worker
        self._wake = wake
        self._poll = poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="snapset-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            generation = self._wake.generation
            try:
                done = self._worker.run_once()
            except Exception:  # the loop outlives any one task or database outage
                log.exception("worker step failed; retrying")
                self._stop.wait(1.0)
                continue
            if not done:
                self._wake.wait(self._poll, since=generation)
