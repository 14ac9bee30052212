"""The task log behind the Task Manager API, with what it needs to filter by access."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any, Protocol

from domain.dataset_events import (
    Created,
    DatasetEvent,
    Shared,
    StatusChanged,
    TaskAborted,
    TaskClaimed,
    TaskCompleted,
    TaskFailed,
    TaskOpened,
    TaskProgressed,
    TaskRetried,
)
from projections.timestamps import iso


class TaskLogWriter(Protocol):
    def dataset(self, dataset_id: str, name: str) -> None: ...

    def dataset_status(self, dataset_id: str, status: str) -> None: ...

    def grant(self, dataset_id: str, user_id: str) -> None: ...

    def started(self, row: dict[str, Any]) -> None: ...

    def claimed(self, task_id: str, lease_until: str) -> None: ...

    def progressed(self, task_id: str, progress: int, message: str, lease_until: str) -> None: ...

    def finished(
        self,
        task_id: str,
        status: str,
        end_time: str,
        message: str,
        error: str | None,
        report: dict[str, Any] | None = None,
    ) -> None: ...

    def retried(self, task_id: str, start_time: str) -> None: ...


class TaskLogProjection:
    name = "task_log"

    def process(self, event: DatasetEvent, position: int, writer: TaskLogWriter) -> None:
        dataset_id = str(event.originator_id)
        self._project(event, dataset_id, writer)
        if isinstance(event, StatusChanged):
            writer.dataset_status(dataset_id, event.status)

    @singledispatchmethod
    def _project(self, event: DatasetEvent, dataset_id: str, writer: TaskLogWriter) -> None:
        """An event that changes no task."""

    @_project.register
    def _created(self, event: Created, dataset_id: str, writer: TaskLogWriter) -> None:
        writer.dataset(dataset_id, event.name)
        writer.grant(dataset_id, event.owner_id)

    @_project.register
    def _shared(self, event: Shared, dataset_id: str, writer: TaskLogWriter) -> None:
        writer.grant(dataset_id, event.user_id)

    @_project.register
    def _started(self, event: TaskOpened, dataset_id: str, writer: TaskLogWriter) -> None:
        task = event.task
        writer.started(
            {
                "task_id": task["task_id"],
                "dataset_id": dataset_id,
                "task_type": task["task_type"],
                "created_by": task["created_by"],
                "start_time": iso(task["start_time"]),
            }
        )

    @_project.register
    def _claimed(self, event: TaskClaimed, dataset_id: str, writer: TaskLogWriter) -> None:
        writer.claimed(event.task_id, iso(event.lease_until))

    @_project.register
    def _progressed(self, event: TaskProgressed, dataset_id: str, writer: TaskLogWriter) -> None:
        writer.progressed(event.task_id, event.progress, event.message, iso(event.lease_until))

    @_project.register
    def _completed(self, event: TaskCompleted, dataset_id: str, writer: TaskLogWriter) -> None:
        message, report = event.outcome()
        end = iso(event.timestamp)
        writer.finished(event.task_id, "COMPLETED", end, message or "Completed.", None, report)

    @_project.register
    def _failed(self, event: TaskFailed, dataset_id: str, writer: TaskLogWriter) -> None:
        writer.finished(event.task_id, "FAILED", iso(event.timestamp), "Failed.", event.error)

    @_project.register
    def _aborted(self, event: TaskAborted, dataset_id: str, writer: TaskLogWriter) -> None:
        writer.finished(event.task_id, "ABORTED", iso(event.timestamp), "Aborted.", None)

    @_project.register
    def _retried(self, event: TaskRetried, dataset_id: str, writer: TaskLogWriter) -> None:
        writer.retried(event.task_id, iso(event.at))
