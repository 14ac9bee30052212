"""The task log behind the Task Manager API, with what it needs to filter by access."""

from __future__ import annotations

from typing import Any, Protocol

from projections.events import event_name, iso, status_after


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


_STARTED = ("OperationStarted", "RestoreStarted", "CloneStarted", "ExportStarted")
_FAILED = ("OperationFailed", "RestoreFailed", "CloneFailed", "ExportFailed")
_COMPLETED = ("OperationCompleted", "RestoreCompleted", "CloneCompleted", "ExportCompleted")


class TaskLogProjection:
    name = "task_log"

    def process(self, event: Any, position: int, writer: TaskLogWriter) -> None:
        name = event_name(event)
        dataset_id = str(event.originator_id)
        if name == "Created":
            writer.dataset(dataset_id, event.name)
            writer.grant(dataset_id, event.owner_id)
        elif name == "Shared":
            writer.grant(dataset_id, event.user_id)
        elif name in _STARTED:
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
        elif name == "TaskClaimed":
            writer.claimed(event.task_id, iso(event.lease_until))
        elif name == "TaskProgressed":
            writer.progressed(event.task_id, event.progress, event.message, iso(event.lease_until))
        elif name in _COMPLETED:
            writer.finished(
                event.task_id,
                "COMPLETED",
                iso(event.timestamp),
                getattr(event, "message", "") or "Completed.",
                None,
                getattr(event, "report", None),
            )
        elif name in _FAILED:
            writer.finished(event.task_id, "FAILED", iso(event.timestamp), "Failed.", event.error)
        elif name == "TaskAborted":
            writer.finished(event.task_id, "ABORTED", iso(event.timestamp), "Aborted.", None)
        elif name == "TaskRetried":
            writer.retried(event.task_id, iso(event.at))
        status = status_after(event)
        if status is not None:
            writer.dataset_status(dataset_id, status)
