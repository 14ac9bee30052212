"""What the application's queries and commands answer with: plain, frozen details objects,
never the aggregate. Each is read from a private copy of the dataset, so holding one costs
nothing and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, NamedTuple, TypeVar
from uuid import UUID

from domain.checkpoints import Checkpoint, Reason
from domain.dataset import Dataset
from domain.status import Status
from domain.tasks import TaskState
from domain.version import Version

T = TypeVar("T")


class Written(NamedTuple, Generic[T]):
    """A command's result and the log position of its last event (for read-your-writes)."""

    result: T
    position: int


@dataclass(frozen=True)
class DatasetDetails:
    id: UUID
    revision: int  # the aggregate's version: how many events it has had
    name: str
    description: str
    source_type: str
    owner_id: str
    owner_email: str
    created_at: datetime
    status: str
    fatal_error_msg: str | None
    progress: int | None  # the running task's, 100 when READY and idle, else None
    current: Version
    snapshot_support: bool
    source_dataset_id: UUID | None
    role: str  # the caller's role on the dataset
    roles: Mapping[str, str]  # user id -> role, for everyone with one
    current_checkpoint: str | None
    restoring: str | None  # the checkpoint a running restore brings back
    checkpoints: Mapping[str, Checkpoint]  # live and soft-deleted ones
    active_task: TaskState | None
    failed_task: TaskState | None
    finished_tasks: Mapping[str, str]  # task id -> final status
    pending_clones: Mapping[str, str]  # clone task id -> checkpoint, while clones from it run

    @property
    def clustered(self) -> bool:
        return bool(self.current["facets"].get("clustered"))


@dataclass(frozen=True)
class SnapshotDetails:
    """A checkpoint as the API names it (``snapshot``)."""

    snapshot_id: UUID
    snapshot_name: str
    source_dataset_name: str
    created_at: datetime
    created_by: str
    n_images: int
    n_videos: int
    description: str
    reason: Reason
    is_current: bool
    is_restoring: bool


@dataclass(frozen=True)
class ClonePreview:
    """What cloning a snapshot would create."""

    dataset_name: str
    snapshot_id: UUID
    n_images: int
    n_videos: int


@dataclass(frozen=True)
class ClaimedTask:
    """A task as the worker that claimed it sees it, with the dataset's version it starts
    from and, for a restore or a clone, the version it will publish."""

    dataset_id: UUID
    dataset_name: str
    task: TaskState
    current: Version
    publishes: Version | None


def dataset_details(dataset: Dataset, role: str) -> DatasetDetails:
    task = dataset.active_task
    progress = task["progress"] if task else (100 if dataset.status == Status.READY else None)
    return DatasetDetails(
        id=dataset.id,
        revision=dataset.version,
        name=dataset.name,
        description=dataset.description,
        source_type=dataset.source_type,
        owner_id=dataset.owner_id,
        owner_email=dataset.emails[dataset.owner_id],
        created_at=dataset.created_at,
        status=dataset.status,
        fatal_error_msg=dataset.fatal_error_msg,
        progress=progress,
        current=dataset.current,
        snapshot_support=dataset.snapshot_support,
        source_dataset_id=dataset.source_dataset_id,
        role=role,
        roles=dataset.roles,
        current_checkpoint=dataset.current_checkpoint,
        restoring=dataset.restoring,
        checkpoints=dataset.checkpoints,
        active_task=dataset.active_task,
        failed_task=dataset.failed_task,
        finished_tasks=dataset.finished_tasks,
        pending_clones=dataset.pending_clones,
    )


def snapshot_details(dataset: Dataset, snapshot_id: str) -> SnapshotDetails:
    record = dataset.checkpoints[snapshot_id]
    version = record["version"]
    return SnapshotDetails(
        snapshot_id=UUID(snapshot_id),
        snapshot_name=record["name"],
        source_dataset_name=dataset.name,
        created_at=record["created_at"],
        created_by=record["created_by"],
        n_images=version["n_images"],
        n_videos=version["n_videos"],
        description=record["description"],
        reason=Reason(record["reason"]),
        is_current=dataset.current_checkpoint == snapshot_id,
        is_restoring=dataset.restoring == snapshot_id,
    )
