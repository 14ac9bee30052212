"""The Dataset aggregate's events, and the kinds they fall into.

Each event is a past-tense class with an explicit, stable topic and a primitive payload. The
kinds are base classes that say what an event means to anyone who reads the log, so readers
never rebuild the aggregate's rules from event names:

- ``StatusChanged``: its ``status`` is the dataset's status after it;
- ``VersionPublished``: ``published()`` is the dataset's current version after it (a
  ``ContentEdited`` changes only the content: its root and counts);
- ``TaskBegun``: it starts a task for ``by`` (``TaskOpened`` also carries the task's state);
- ``TaskCompleted``, ``TaskFailed``: it ends task ``task_id`` so.

Stored events of older class versions are upcast on load (``upcast_vN_vN+1``); the golden
fixtures in ``tests/reliability/fixtures/events`` keep one of every version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.checkpoints import Checkpoint, creation_name
from domain.dataset_upcasts import clone_task_v2, grouped
from domain.status import Status
from domain.tasks import TaskState
from domain.version import Version

_T = "snapset:Dataset."


class DatasetEvent(Aggregate.Event):
    """Every dataset event."""

    def actor(self) -> str:
        """Who did it: the ``by`` of most events; ``system`` for the worker's own."""
        return str(getattr(self, "by", None) or "system")


class StatusChanged(DatasetEvent):
    status: str


class VersionPublished(DatasetEvent):
    def published(self) -> Version:
        """The version the dataset has after this event."""
        raise NotImplementedError


class TaskBegun(DatasetEvent):
    by: str


class TaskOpened(TaskBegun):
    task: TaskState


class TaskCompleted(DatasetEvent):
    task_id: str

    def outcome(self) -> tuple[str, dict[str, Any] | None]:
        """What the task says it did: a message ("" for none) and a report."""
        return "", None


class TaskFailed(DatasetEvent):
    task_id: str
    error: str


def _fixed_status(status: Status) -> Any:
    """The upcaster of events whose v1 left the resulting status implicit (always ``status``)."""

    def upcast(state: dict[str, Any]) -> None:
        state["status"] = status.value

    return staticmethod(upcast)


def _group_version(state: dict[str, Any]) -> None:
    """v1 spelled a version out as five fields; v2 carries it as one."""
    state["version"] = grouped(state)


class Created(Aggregate.Created, StatusChanged):
    TOPIC = _T + "Created"
    class_version = 2
    name: str
    description: str
    owner_id: str
    owner_email: str
    source_type: str
    snapshot_support: bool
    source_dataset_id: UUID | None
    at: datetime

    upcast_v1_v2 = _fixed_status(Status.DRAFT)

    def actor(self) -> str:
        return self.owner_email


class Shared(DatasetEvent):
    TOPIC = _T + "Shared"
    user_id: str
    email: str
    role: str
    by: str


class SnapshotCreated(DatasetEvent):
    TOPIC = _T + "SnapshotCreated"
    class_version = 2
    checkpoint_id: str
    checkpoint: Checkpoint

    def actor(self) -> str:
        return self.checkpoint["created_by"]

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        fields = ("name", "description", "reason", "created_by")
        record = {k: state.pop(k) for k in fields}
        record.update(created_at=state.pop("at"), version=grouped(state), deleted=False)
        state["checkpoint"] = record


class SnapshotUpdated(DatasetEvent):
    TOPIC = _T + "SnapshotUpdated"
    checkpoint_id: str
    name: str | None
    description: str | None
    by: str


class SnapshotSoftDeleted(DatasetEvent):
    TOPIC = _T + "SnapshotSoftDeleted"
    checkpoint_id: str
    by: str


class OperationStarted(TaskOpened, StatusChanged):
    TOPIC = _T + "OperationStarted"


class RestoreStarted(TaskOpened, StatusChanged):
    TOPIC = _T + "RestoreStarted"
    class_version = 2

    upcast_v1_v2 = _fixed_status(Status.READ_ONLY)


class CloneRequested(DatasetEvent):
    TOPIC = _T + "CloneRequested"
    task_id: str
    checkpoint_id: str
    new_dataset_id: UUID
    by: str


class CloneFinished(DatasetEvent):
    TOPIC = _T + "CloneFinished"
    task_id: str
    by: str


class CloneStarted(TaskOpened, StatusChanged):
    """On a clone: its task's params hold the version it will publish."""

    TOPIC = _T + "CloneStarted"
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["status"] = Status.INDEXING.value
        state["task"] = clone_task_v2(state["task"])


class ExportStarted(TaskOpened):
    TOPIC = _T + "ExportStarted"


class ExportCompleted(TaskCompleted):
    TOPIC = _T + "ExportCompleted"
    report: dict[str, Any]
    message: str
    by: str

    def outcome(self) -> tuple[str, dict[str, Any] | None]:
        return self.message, self.report


class ExportFailed(TaskFailed):
    TOPIC = _T + "ExportFailed"
    by: str


class TaskClaimed(DatasetEvent):
    TOPIC = _T + "TaskClaimed"
    task_id: str
    worker: str
    lease_until: datetime
    by: str


class TaskProgressed(DatasetEvent):
    TOPIC = _T + "TaskProgressed"
    task_id: str
    progress: int
    message: str
    lease_until: datetime
    by: str


class OperationCompleted(TaskCompleted, VersionPublished, StatusChanged):
    """An operation's result. A creation task's also names the checkpoint it takes."""

    TOPIC = _T + "OperationCompleted"
    class_version = 2
    version: Version
    checkpoint_id: str
    checkpoint_name: str
    by: str
    at: datetime
    report: dict[str, Any] | None
    message: str

    def outcome(self) -> tuple[str, dict[str, Any] | None]:
        return self.message, self.report

    def published(self) -> Version:
        return self.version

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        status = state["status"]
        _group_version(state)
        state["status"] = status
        state["checkpoint_name"] = ""  # v1 left it to the default: see ``checkpoint_title``

    def checkpoint_title(self, dataset_name: str) -> str:
        """The creation checkpoint's name (``creation_name``: v1 events did not carry it)."""
        return creation_name(self.checkpoint_name, dataset_name, self.checkpoint_id)


class RestoreCompleted(TaskCompleted, VersionPublished, StatusChanged):
    TOPIC = _T + "RestoreCompleted"
    class_version = 2
    checkpoint_id: str
    version: Version
    by: str

    def published(self) -> Version:
        return self.version

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        status = state["status"]
        _group_version(state)
        state["status"] = status


class CloneCompleted(TaskCompleted, VersionPublished, StatusChanged):
    """A clone's result: its first checkpoint, whose version it publishes."""

    TOPIC = _T + "CloneCompleted"
    class_version = 2
    checkpoint_id: str
    checkpoint: Checkpoint
    by: str

    def published(self) -> Version:
        return self.checkpoint["version"]

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        record = {k: state.pop(k) for k in ("name", "description")}
        status = state["status"]
        record.update(reason="clone", created_by=state["by"], created_at=state.pop("at"))
        record.update(version=grouped(state), deleted=False)
        state.update(checkpoint=record, status=status)


class _TaskFailedInError(TaskFailed, StatusChanged):
    """A task's failure that leaves its dataset in ERROR (v1 left the status implicit)."""

    class_version = 2
    by: str

    upcast_v1_v2 = _fixed_status(Status.ERROR)


class OperationFailed(_TaskFailedInError):
    TOPIC = _T + "OperationFailed"


class RestoreFailed(_TaskFailedInError):
    TOPIC = _T + "RestoreFailed"


class CloneFailed(_TaskFailedInError):
    TOPIC = _T + "CloneFailed"


class TaskAborted(StatusChanged):
    TOPIC = _T + "TaskAborted"
    task_id: str
    by: str


class TaskRetried(TaskBegun, StatusChanged):
    TOPIC = _T + "TaskRetried"
    class_version = 2
    task_id: str
    at: datetime

    upcast_v1_v2 = _fixed_status(Status.INDEXING)


class ContentEdited(DatasetEvent):
    """A small synchronous edit: new content, the same status and facets."""

    TOPIC = _T + "ContentEdited"
    root: str
    n_images: int
    n_videos: int
    summary: str
    by: str


def task_starters(events: list[Any]) -> list[str]:
    """Who begins a task in ``events``: one email per task they begin."""
    return [event.by for event in events if isinstance(event, TaskBegun)]
