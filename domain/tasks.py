"""Tasks: their types and statuses (the Task Manager API's), a task's state on its dataset,
and the rules of its lease and lifecycle.

A task starts INITIALIZING; a worker claims it with a lease (RUNNING), renews the lease as it
reports progress, and finishes it exactly once: only the worker holding it may. Records are
copy-on-write: each rule returns a new state, never edits one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from domain.checkpoints import Checkpoint
from domain.errors import BadRequest, Conflict
from domain.status import Operation, Status

CREATION = "DATASET_CREATION"
MEDIA_ADDITION = "MEDIA_ADDITION"
REINDEX = "REINDEX"
ENRICHMENT = "ENRICHMENT"
CUSTOM_METADATA = "CUSTOM_METADATA"
LABEL_PROPAGATION = "LABEL_PROPAGATION"
RESTORE = "SNAPSHOT_RESTORE"
CLONE = "SNAPSHOT_CLONE"
EXPORT = "EXPORT"

TASK_TYPES = (
    CREATION,
    MEDIA_ADDITION,
    REINDEX,
    ENRICHMENT,
    CUSTOM_METADATA,
    LABEL_PROPAGATION,
    RESTORE,
    CLONE,
    EXPORT,
)
TASK_STATUSES = ("INITIALIZING", "RUNNING", "COMPLETED", "FAILED", "ABORTED")
FINAL_STATUSES = ("COMPLETED", "FAILED", "ABORTED")


class TaskState(TypedDict):
    task_id: str
    task_type: str
    created_by: str
    params: dict[str, Any]
    status: str
    status_before: str
    start_time: datetime
    claimed_by: str | None
    lease_until: datetime | None
    progress: int | None


def gate_of(task_type: str) -> Operation:
    """The gate a task of this type starts through: the creation task ingests into a new
    dataset, label propagation needs clusters, every other task modifies the data."""
    special = {CREATION: Operation.INGEST, LABEL_PROPAGATION: Operation.PROPAGATE_LABELS}
    return special.get(task_type, Operation.MODIFY)


def new_task(
    task_id: str, task_type: str, by: str, params: dict[str, Any], at: datetime, status: str
) -> TaskState:
    """A task about to start on a dataset now in ``status``."""
    return {
        "task_id": task_id,
        "task_type": task_type,
        "created_by": by,
        "params": params,
        "status": "INITIALIZING",
        "status_before": status,
        "start_time": at,
        "claimed_by": None,
        "lease_until": None,
        "progress": None,
    }


def clone_params(source: Checkpoint) -> dict[str, Any]:
    """A clone task publishes its source checkpoint's version, described as the source was."""
    return {
        "version": source["version"],
        "snapshot_name": source["name"],
        "snapshot_description": source["description"],
    }


def check_claim(task: TaskState, worker: str, now: datetime) -> None:
    """A worker may claim a task nobody holds, one it holds, or one whose lease ran out."""
    lease = task["lease_until"]
    if task["claimed_by"] not in (None, worker) and lease is not None and lease > now:
        raise Conflict(f"Task {task['task_id']} is leased by another worker.")


def check_holder(task: TaskState, worker: str) -> None:
    """Only the worker holding a task may report on it or finish it."""
    if task["claimed_by"] != worker:
        raise Conflict(f"Task {task['task_id']} is no longer held by worker {worker}.")


def claimed(task: TaskState, worker: str, lease_until: datetime) -> TaskState:
    return {**task, "claimed_by": worker, "lease_until": lease_until, "status": "RUNNING"}


def progressed(task: TaskState, progress: int, lease_until: datetime) -> TaskState:
    return {**task, "progress": progress, "lease_until": lease_until}


def restarted(task: TaskState, at: datetime) -> TaskState:
    """A failed or aborted task, as its retry starts it again."""
    return {
        **task,
        "status": "INITIALIZING",
        "claimed_by": None,
        "lease_until": None,
        "progress": None,
        "start_time": at,
    }


def clamped(progress: int) -> int:
    return max(0, min(100, progress))


def status_after_abort(task: TaskState) -> str:
    """Aborting a creation or a clone leaves no content to go back to: ERROR. Any other
    task leaves the dataset as it found it."""
    return Status.ERROR.value if task["task_type"] in (CREATION, CLONE) else task["status_before"]


def check_retryable(task_id: str, final: str | None, failed: TaskState | None) -> None:
    """Only the last failed task may be retried, and only if it is a failed or aborted
    creation."""
    if (
        final not in ("FAILED", "ABORTED")
        or failed is None
        or failed["task_id"] != task_id
        or failed["task_type"] != CREATION
    ):
        raise BadRequest(
            f"Only a failed or aborted creation task can be retried; task {task_id} is not one."
        )
