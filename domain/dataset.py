"""The Dataset aggregate: content root, checkpoints (user-facing "snapshots"), roles, tasks.

Every public method guards (status machine, API.md's rules) and raises a domain error;
only then a private ``@event`` method mutates. ``@event`` bodies never raise: they re-run
on every replay. "Snapshot" is the library's word for aggregate snapshots, so the
user-facing concept is called a *checkpoint* here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.content_tree import EMPTY_ROOT
from domain.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Invalid,
    SnapshotNotFound,
    SnapshotsDisabled,
    StatusConflict,
    TaskNotFound,
)
from domain.ids import checkpoint_id_for_task
from domain.status import Operation, Status, may_start
from domain.tasks import CLONE, CREATION, EXPORT, RESTORE, TaskState

ROLES = ("owner", "editor", "viewer")
_RANK = {"viewer": 0, "editor": 1, "owner": 2}
MAX_NAME = 200
MAX_DESCRIPTION = 2000

_T = "snapset:Dataset."


def default_checkpoint_name(dataset_name: str, checkpoint_id: str) -> str:
    return f"{dataset_name}_snapshot_{checkpoint_id.replace('-', '')[:8]}"


def default_facets() -> dict[str, Any]:
    """Dataset-level state that snapshots capture with the content: whether clusters exist,
    the enrichment models applied (type -> model id), and the custom metadata schema."""
    return {"clustered": False, "models": {}, "schema": {}}


MAX_RUNNING_EXPORTS = 4


def _checked_text(value: str, field: str, limit: int, *, required: bool = False) -> str:
    text = value.strip()
    if required and not text:
        raise Invalid(f"The {field} must not be empty.")
    if len(text) > limit:
        raise Invalid(f"The {field} is longer than {limit} characters.")
    return text


class Dataset(Aggregate):
    """A dataset. Records held in its containers (checkpoints, tasks) are copy-on-write:
    a mutator replaces a record, it never edits one in place. So a copy of the dataset
    needs only copies of its containers, which keeps loading from the aggregate cache cheap
    however many checkpoints a dataset has."""

    TOPIC = "snapset:Dataset"

    def __deepcopy__(self, memo: dict[int, Any]) -> Dataset:
        clone = object.__new__(type(self))
        memo[id(self)] = clone
        for key, value in self.__dict__.items():
            if isinstance(value, dict):
                clone.__dict__[key] = value.copy()
            elif isinstance(value, list):
                clone.__dict__[key] = list(value)
            else:
                clone.__dict__[key] = value
        return clone

    @event("Created", topic=_T + "Created")
    def __init__(
        self,
        id: UUID,
        name: str,
        description: str,
        owner_id: str,
        owner_email: str,
        source_type: str,
        snapshot_support: bool,
        source_dataset_id: UUID | None,
        at: datetime,
    ) -> None:
        self.name = name
        self.description = description
        self.owner_id = owner_id
        self.created_at = at
        self.source_type = source_type
        self.snapshot_support = snapshot_support
        self.source_dataset_id = source_dataset_id
        self.roles: dict[str, str] = {owner_id: "owner"}
        self.emails: dict[str, str] = {owner_id: owner_email}
        self.status = Status.DRAFT.value
        self.content_status = Status.READY.value
        self.fatal_error_msg: str | None = None
        self.content_root = EMPTY_ROOT
        self.n_images = 0
        self.n_videos = 0
        self.checkpoints: dict[str, dict[str, Any]] = {}
        self.current_checkpoint: str | None = None
        self.active_task: TaskState | None = None
        self.finished_tasks: dict[str, str] = {}
        self.pending_clones: dict[str, str] = {}
        self.clones: dict[str, str] = {}
        self.failed_task: TaskState | None = None
        self.facets: dict[str, Any] = default_facets()
        # Tasks that run beside the active one without changing the dataset (exports).
        self.side_tasks: dict[str, TaskState] = {}

    # Queries.

    def role_of(self, user_id: str, *, is_admin: bool = False) -> str | None:
        return "owner" if is_admin else self.roles.get(user_id)

    def has_role(self, user_id: str, at_least: str, *, is_admin: bool = False) -> bool:
        role = self.role_of(user_id, is_admin=is_admin)
        return role is not None and _RANK[role] >= _RANK[at_least]

    @property
    def clustered(self) -> bool:
        """Whether an index of clusters exists (a re-index sets it)."""
        return bool(self.facets.get("clustered"))

    @property
    def busy(self) -> bool:
        return self.active_task is not None

    @property
    def content_changed(self) -> bool:
        """Whether the content differs from the current checkpoint's."""
        current = self.checkpoints.get(self.current_checkpoint or "")
        return current is None or current["root"] != self.content_root

    def live_checkpoint(self, checkpoint_id: str) -> dict[str, Any]:
        record = self.checkpoints.get(checkpoint_id)
        if record is None or record["deleted"]:
            raise SnapshotNotFound(checkpoint_id)
        return record

    def task(self, task_id: str) -> TaskState:
        if self.active_task is not None and self.active_task["task_id"] == task_id:
            return self.active_task
        if task_id in self.side_tasks:
            return self.side_tasks[task_id]
        raise TaskNotFound(task_id)

    def _require(self, operation: Operation) -> None:
        if not may_start(operation, Status(self.status), busy=self.busy):
            why = "a task is running on it" if self.busy else f"its status is {self.status}"
            raise StatusConflict(f"Cannot {operation.value} on dataset {self.id}: {why}.")

    def _require_snapshots(self) -> None:
        if not self.snapshot_support:
            raise SnapshotsDisabled(self.id)

    # Sharing.

    def share(self, user_id: str, email: str, role: str, by: str) -> None:
        if role not in ROLES:
            raise Invalid(f"The role must be one of {', '.join(ROLES)}, not {role!r}.")
        if user_id == self.owner_id and role != "owner":
            raise Conflict("The dataset's creator always keeps the owner role.")
        self._shared(user_id=user_id, email=email, role=role, by=by)

    @event("Shared", topic=_T + "Shared")
    def _shared(self, user_id: str, email: str, role: str, by: str) -> None:
        self.roles[user_id] = role
        self.emails[user_id] = email

    # Checkpoints ("snapshots" in the API).

    def create_checkpoint(
        self, checkpoint_id: str, name: str, description: str, by: str, at: datetime
    ) -> bool:
        """Create a manual checkpoint; False when ``checkpoint_id`` exists (an idempotent retry)."""
        self._require_snapshots()
        if checkpoint_id in self.checkpoints:
            return False
        self._require(Operation.CREATE_SNAPSHOT)
        name = _checked_text(name, "snapshot name", MAX_NAME)
        description = _checked_text(description, "description", MAX_DESCRIPTION)
        self._take_checkpoint(checkpoint_id, name, description, "manual", by, at)
        return True

    def _take_checkpoint(
        self, checkpoint_id: str, name: str, description: str, reason: str, by: str, at: datetime
    ) -> None:
        self._checkpoint_created(
            checkpoint_id=checkpoint_id,
            name=name or default_checkpoint_name(self.name, checkpoint_id),
            description=description,
            reason=reason,
            created_by=by,
            at=at,
            root=self.content_root,
            n_images=self.n_images,
            n_videos=self.n_videos,
            status=self.content_status,
            facets=self.facets,
        )

    @event("SnapshotCreated", topic=_T + "SnapshotCreated")
    def _checkpoint_created(
        self,
        checkpoint_id: str,
        name: str,
        description: str,
        reason: str,
        created_by: str,
        at: datetime,
        root: str,
        n_images: int,
        n_videos: int,
        status: str,
        facets: dict[str, Any],
    ) -> None:
        self._add_checkpoint(
            checkpoint_id,
            name,
            description,
            reason,
            created_by,
            at,
            root,
            n_images,
            n_videos,
            status,
            facets,
        )

    def _add_checkpoint(
        self,
        checkpoint_id: str,
        name: str,
        description: str,
        reason: str,
        created_by: str,
        at: datetime,
        root: str,
        n_images: int,
        n_videos: int,
        status: str,
        facets: dict[str, Any],
    ) -> None:
        self.checkpoints[checkpoint_id] = {
            "name": name,
            "description": description,
            "reason": reason,
            "created_by": created_by,
            "created_at": at,
            "root": root,
            "n_images": n_images,
            "n_videos": n_videos,
            "status": status,
            "facets": facets,
            "deleted": False,
        }
        self.current_checkpoint = checkpoint_id

    def _auto_checkpoint(self, task_id: str, why: str, by: str, at: datetime) -> None:
        """Before a restore or an operation: keep the content it would replace, if unsaved."""
        if self.snapshot_support and self.content_changed and self.status != Status.DRAFT:
            checkpoint_id = str(checkpoint_id_for_task(task_id, "auto"))
            self._take_checkpoint(
                checkpoint_id, "", f"Automatic checkpoint before {why}.", "auto", by, at
            )

    def update_checkpoint(
        self, checkpoint_id: str, name: str | None, description: str | None, by: str
    ) -> None:
        self._require_snapshots()
        self.live_checkpoint(checkpoint_id)
        if name is None and description is None:
            raise Invalid("Give a name or a description to change.")
        self._checkpoint_updated(
            checkpoint_id=checkpoint_id,
            name=None
            if name is None
            else _checked_text(name, "snapshot name", MAX_NAME, required=True),
            description=None
            if description is None
            else _checked_text(description, "description", MAX_DESCRIPTION),
            by=by,
        )

    @event("SnapshotUpdated", topic=_T + "SnapshotUpdated")
    def _checkpoint_updated(
        self, checkpoint_id: str, name: str | None, description: str | None, by: str
    ) -> None:
        record = dict(self.checkpoints[checkpoint_id])
        if name is not None:
            record["name"] = name
        if description is not None:
            record["description"] = description
        self.checkpoints[checkpoint_id] = record

    def delete_checkpoint(self, checkpoint_id: str, by: str) -> None:
        self._require_snapshots()
        self.live_checkpoint(checkpoint_id)
        if checkpoint_id == self.current_checkpoint:
            raise Conflict(
                f"Snapshot {checkpoint_id} is the current version and cannot be removed."
            )
        if self.restoring == checkpoint_id:
            raise Conflict(f"Snapshot {checkpoint_id} is being restored and cannot be removed.")
        self._checkpoint_soft_deleted(checkpoint_id=checkpoint_id, by=by)

    @event("SnapshotSoftDeleted", topic=_T + "SnapshotSoftDeleted")
    def _checkpoint_soft_deleted(self, checkpoint_id: str, by: str) -> None:
        self.checkpoints[checkpoint_id] = {**self.checkpoints[checkpoint_id], "deleted": True}

    @property
    def restoring(self) -> str | None:
        task = self.active_task
        return task["params"].get("snapshot_id") if task and task["task_type"] == RESTORE else None

    # Tasks: start.

    def _new_task(
        self, task_id: str, task_type: str, by: str, params: dict[str, Any], at: datetime
    ) -> TaskState:
        return {
            "task_id": task_id,
            "task_type": task_type,
            "created_by": by,
            "params": params,
            "status": "INITIALIZING",
            "status_before": self.status,
            "start_time": at,
            "claimed_by": None,
            "lease_until": None,
            "progress": None,
        }

    def start_ingest(
        self, task_id: str, task_type: str, by: str, params: dict[str, Any], at: datetime
    ) -> bool:
        """Start the creation task; False when it already started (an idempotent retry)."""
        if self._known_task(task_id):
            return False
        self._require(Operation.INGEST)
        self._operation_started(
            task=self._new_task(task_id, task_type, by, params, at),
            status=Status.INDEXING.value,
            by=by,
        )
        return True

    def start_operation(
        self, task_id: str, task_type: str, by: str, params: dict[str, Any], at: datetime
    ) -> bool:
        """Start a data-modifying task; False when it already started (an idempotent retry)."""
        if self._known_task(task_id):
            return False
        self._require(Operation.MODIFY)
        self._auto_checkpoint(task_id, task_type.replace("_", " ").lower(), by, at)
        self._operation_started(
            task=self._new_task(task_id, task_type, by, params, at),
            status=Status.READ_ONLY.value,
            by=by,
        )
        return True

    @event("OperationStarted", topic=_T + "OperationStarted")
    def _operation_started(self, task: TaskState, status: str, by: str) -> None:
        self.active_task = task
        self.status = status
        self.fatal_error_msg = None

    def start_restore(self, task_id: str, checkpoint_id: str, by: str, at: datetime) -> bool:
        """Start restoring a checkpoint (or ``current``); False on an idempotent retry."""
        self._require_snapshots()
        if self._known_task(task_id):
            return False
        if checkpoint_id == "current":
            if self.current_checkpoint is None:
                raise SnapshotNotFound("current")
            checkpoint_id = self.current_checkpoint
        record = self.live_checkpoint(checkpoint_id)
        self._require(Operation.RESTORE)
        if self.pending_clones:
            raise StatusConflict(f"Cannot restore dataset {self.id}: a clone from it is running.")
        self._auto_checkpoint(task_id, f"restoring {record['name']!r}", by, at)
        task = self._new_task(task_id, RESTORE, by, {"snapshot_id": checkpoint_id}, at)
        self._restore_started(task=task, by=by)
        return True

    @event("RestoreStarted", topic=_T + "RestoreStarted")
    def _restore_started(self, task: TaskState, by: str) -> None:
        self.active_task = task
        self.status = Status.READ_ONLY.value

    def request_clone(
        self, task_id: str, checkpoint_id: str, new_dataset_id: UUID, by: str
    ) -> dict[str, Any]:
        """Record on the source that a clone of a checkpoint starts; returns its record."""
        self._require_snapshots()
        record = self.live_checkpoint(checkpoint_id)
        if task_id in self.clones:
            return record
        self._require(Operation.CLONE)
        self._clone_requested(
            task_id=task_id, checkpoint_id=checkpoint_id, new_dataset_id=new_dataset_id, by=by
        )
        return record

    @event("CloneRequested", topic=_T + "CloneRequested")
    def _clone_requested(
        self, task_id: str, checkpoint_id: str, new_dataset_id: UUID, by: str
    ) -> None:
        self.pending_clones[task_id] = checkpoint_id
        self.clones[task_id] = checkpoint_id

    def finish_clone(self, task_id: str, by: str) -> None:
        if task_id in self.pending_clones:
            self._clone_finished(task_id=task_id, by=by)

    @event("CloneFinished", topic=_T + "CloneFinished")
    def _clone_finished(self, task_id: str, by: str) -> None:
        self.pending_clones.pop(task_id, None)

    def start_clone(self, task_id: str, source: dict[str, Any], by: str, at: datetime) -> None:
        """On a new dataset: the clone task that will publish the source checkpoint's content."""
        params = {
            "root": source["root"],
            "n_images": source["n_images"],
            "n_videos": source["n_videos"],
            "status": source["status"],
            "facets": source["facets"],
            "snapshot_name": source["name"],
            "snapshot_description": source["description"],
        }
        self._clone_started(task=self._new_task(task_id, CLONE, by, params, at), by=by)

    @event("CloneStarted", topic=_T + "CloneStarted")
    def _clone_started(self, task: TaskState, by: str) -> None:
        self.active_task = task
        self.status = Status.INDEXING.value

    def _known_task(self, task_id: str) -> bool:
        return (
            task_id in self.finished_tasks
            or task_id in self.side_tasks
            or (self.active_task is not None and self.active_task["task_id"] == task_id)
        )

    # Side tasks: exports read a version of the content and change nothing, so they run
    # beside any other task and in any status.

    def start_export(self, task_id: str, by: str, params: dict[str, Any], at: datetime) -> bool:
        """Start an export; False when it already started (an idempotent retry)."""
        if self._known_task(task_id):
            return False
        if len(self.side_tasks) >= MAX_RUNNING_EXPORTS:
            raise Conflict(
                f"Dataset {self.id} already has {MAX_RUNNING_EXPORTS} exports running; "
                "wait for one to finish."
            )
        task = self._new_task(task_id, EXPORT, by, params, at)
        self._export_started(task=task, by=by)
        return True

    @event("ExportStarted", topic=_T + "ExportStarted")
    def _export_started(self, task: TaskState, by: str) -> None:
        self.side_tasks = {**self.side_tasks, task["task_id"]: task}

    def complete_export(
        self, task_id: str, worker: str, report: dict[str, Any], message: str
    ) -> None:
        task = self._check_holder(task_id, worker)
        if task["task_type"] != EXPORT:
            raise BadRequest(f"Task {task_id} is not an export.")
        self._export_completed(
            task_id=task_id, report=report, message=message, by=task["created_by"]
        )

    @event("ExportCompleted", topic=_T + "ExportCompleted")
    def _export_completed(
        self, task_id: str, report: dict[str, Any], message: str, by: str
    ) -> None:
        self._finish_side(task_id, "COMPLETED")

    @event("ExportFailed", topic=_T + "ExportFailed")
    def _export_failed(self, task_id: str, error: str, by: str) -> None:
        self._finish_side(task_id, "FAILED")

    def _finish_side(self, task_id: str, final: str) -> None:
        side = dict(self.side_tasks)
        side.pop(task_id, None)
        self.side_tasks = side
        self.finished_tasks[task_id] = final

    def _put_task(self, task: TaskState) -> None:
        """Replace a running task's state (records are copy-on-write)."""
        if task["task_id"] in self.side_tasks:
            self.side_tasks = {**self.side_tasks, task["task_id"]: task}
        else:
            self.active_task = task

    # Tasks: claim, progress, finish. Each guard makes finishing happen exactly once.

    def claim_task(self, task_id: str, worker: str, lease_until: datetime, now: datetime) -> None:
        task = self.task(task_id)
        lease = task["lease_until"]
        if task["claimed_by"] not in (None, worker) and lease is not None and lease > now:
            raise Conflict(f"Task {task_id} is leased by another worker.")
        self._task_claimed(task_id=task_id, worker=worker, lease_until=lease_until, by="system")

    @event("TaskClaimed", topic=_T + "TaskClaimed")
    def _task_claimed(self, task_id: str, worker: str, lease_until: datetime, by: str) -> None:
        task = self.task(task_id).copy()
        task["claimed_by"] = worker
        task["lease_until"] = lease_until
        task["status"] = "RUNNING"
        self._put_task(task)

    def report_progress(
        self, task_id: str, worker: str, progress: int, message: str, lease_until: datetime
    ) -> None:
        self._check_holder(task_id, worker)
        self._task_progressed(
            task_id=task_id,
            progress=max(0, min(100, progress)),
            message=message,
            lease_until=lease_until,
            by="system",
        )

    @event("TaskProgressed", topic=_T + "TaskProgressed")
    def _task_progressed(
        self, task_id: str, progress: int, message: str, lease_until: datetime, by: str
    ) -> None:
        task = self.task(task_id).copy()
        task["progress"] = progress
        task["lease_until"] = lease_until
        self._put_task(task)

    def _check_holder(self, task_id: str, worker: str) -> TaskState:
        task = self.task(task_id)
        if task["claimed_by"] != worker:
            raise Conflict(f"Task {task_id} is no longer held by worker {worker}.")
        return task

    def complete_operation(
        self,
        task_id: str,
        worker: str,
        root: str,
        n_images: int,
        n_videos: int,
        content_status: str,
        by: str,
        at: datetime,
        *,
        facets: dict[str, Any] | None = None,
        report: dict[str, Any] | None = None,
        message: str = "",
    ) -> None:
        """Publish an operation's result. ``facets`` holds the facet keys it replaces."""
        task = self._check_holder(task_id, worker)
        if task["task_type"] in (RESTORE, CLONE, EXPORT):
            raise BadRequest(f"Task {task_id} is a {task['task_type']} task.")
        checkpoint_id = ""
        if task["task_type"] == CREATION and self.snapshot_support:
            checkpoint_id = str(checkpoint_id_for_task(task_id, "creation"))
        self._operation_completed(
            task_id=task_id,
            root=root,
            n_images=n_images,
            n_videos=n_videos,
            status=content_status,
            checkpoint_id=checkpoint_id,
            by=by,
            at=at,
            facets={**self.facets, **(facets or {})},
            report=report,
            message=message,
        )

    @event("OperationCompleted", topic=_T + "OperationCompleted")
    def _operation_completed(
        self,
        task_id: str,
        root: str,
        n_images: int,
        n_videos: int,
        status: str,
        checkpoint_id: str,
        by: str,
        at: datetime,
        facets: dict[str, Any],
        report: dict[str, Any] | None,
        message: str,
    ) -> None:
        self._publish(root, n_images, n_videos, status)
        self.facets = facets
        self._finish(task_id, "COMPLETED")
        if checkpoint_id:
            self._add_checkpoint(
                checkpoint_id,
                default_checkpoint_name(self.name, checkpoint_id),
                "",
                "creation",
                by,
                at,
                root,
                n_images,
                n_videos,
                status,
                facets,
            )

    def complete_restore(self, task_id: str, worker: str) -> None:
        task = self._check_holder(task_id, worker)
        if task["task_type"] != RESTORE:
            raise BadRequest(f"Task {task_id} is not a restore.")
        checkpoint_id = task["params"]["snapshot_id"]
        record = self.checkpoints[checkpoint_id]
        self._restore_completed(
            task_id=task_id,
            checkpoint_id=checkpoint_id,
            root=record["root"],
            n_images=record["n_images"],
            n_videos=record["n_videos"],
            status=record["status"],
            facets=record["facets"],
            by=task["created_by"],
        )

    @event("RestoreCompleted", topic=_T + "RestoreCompleted")
    def _restore_completed(
        self,
        task_id: str,
        checkpoint_id: str,
        root: str,
        n_images: int,
        n_videos: int,
        status: str,
        facets: dict[str, Any],
        by: str,
    ) -> None:
        self._publish(root, n_images, n_videos, status)
        self.facets = facets
        self.current_checkpoint = checkpoint_id
        self._finish(task_id, "COMPLETED")

    def complete_clone(self, task_id: str, worker: str, by: str, at: datetime) -> None:
        task = self._check_holder(task_id, worker)
        if task["task_type"] != CLONE:
            raise BadRequest(f"Task {task_id} is not a clone.")
        p = task["params"]
        checkpoint_id = str(checkpoint_id_for_task(task_id, "clone"))
        self._clone_completed(
            task_id=task_id,
            checkpoint_id=checkpoint_id,
            name=default_checkpoint_name(self.name, checkpoint_id),
            description=p["snapshot_description"],
            root=p["root"],
            n_images=p["n_images"],
            n_videos=p["n_videos"],
            status=p["status"],
            facets=p["facets"],
            by=by,
            at=at,
        )

    @event("CloneCompleted", topic=_T + "CloneCompleted")
    def _clone_completed(
        self,
        task_id: str,
        checkpoint_id: str,
        name: str,
        description: str,
        root: str,
        n_images: int,
        n_videos: int,
        status: str,
        facets: dict[str, Any],
        by: str,
        at: datetime,
    ) -> None:
        self._publish(root, n_images, n_videos, status)
        self.facets = facets
        self._finish(task_id, "COMPLETED")
        self._add_checkpoint(
            checkpoint_id,
            name,
            description,
            "clone",
            by,
            at,
            root,
            n_images,
            n_videos,
            status,
            facets,
        )

    def fail_task(self, task_id: str, worker: str, error: str) -> None:
        task = self._check_holder(task_id, worker)
        error = error.strip() or "The task failed."
        by = task["created_by"]
        if task["task_type"] == EXPORT:
            self._export_failed(task_id=task_id, error=error, by=by)
        elif task["task_type"] == RESTORE:
            self._restore_failed(task_id=task_id, error=error, by=by)
        elif task["task_type"] == CLONE:
            self._clone_failed(task_id=task_id, error=error, by=by)
        else:
            self._operation_failed(task_id=task_id, error=error, by=by)

    @event("OperationFailed", topic=_T + "OperationFailed")
    def _operation_failed(self, task_id: str, error: str, by: str) -> None:
        self._fail(task_id, error, "FAILED")

    @event("RestoreFailed", topic=_T + "RestoreFailed")
    def _restore_failed(self, task_id: str, error: str, by: str) -> None:
        self._fail(task_id, error, "FAILED")

    @event("CloneFailed", topic=_T + "CloneFailed")
    def _clone_failed(self, task_id: str, error: str, by: str) -> None:
        self._fail(task_id, error, "FAILED")

    def abort_task(self, task_id: str, by: str) -> None:
        if task_id in self.finished_tasks:
            raise Conflict(f"Task {task_id} is already {self.finished_tasks[task_id]}.")
        task = self.task(task_id)
        if task_id in self.side_tasks:
            self._task_aborted(task_id=task_id, status=self.status, by=by)
            return
        fails = task["task_type"] in (CREATION, CLONE)
        self._task_aborted(
            task_id=task_id, status=Status.ERROR.value if fails else task["status_before"], by=by
        )

    @event("TaskAborted", topic=_T + "TaskAborted")
    def _task_aborted(self, task_id: str, status: str, by: str) -> None:
        if task_id in self.side_tasks:
            self._finish_side(task_id, "ABORTED")
        elif status == Status.ERROR.value:
            self._fail(task_id, "The task was aborted.", "ABORTED")
        else:
            self.status = status
            self._finish(task_id, "ABORTED")

    def retry_task(self, task_id: str, at: datetime, by: str) -> None:
        final = self.finished_tasks.get(task_id)
        if final is None and not self._known_task(task_id):
            raise TaskNotFound(task_id)
        if (
            final not in ("FAILED", "ABORTED")
            or self.failed_task is None
            or self.failed_task["task_id"] != task_id
            or self.failed_task["task_type"] != CREATION
        ):
            raise BadRequest(
                f"Only a failed or aborted creation task can be retried; task {task_id} is not one."
            )
        if self.active_task is not None:
            # Retrying replaces the active task: a running one would never finish.
            raise StatusConflict(
                f"Cannot retry task {task_id} on dataset {self.id}: task "
                f"{self.active_task['task_id']} is running on it."
            )
        self._task_retried(task_id=task_id, at=at, by=by)

    @event("TaskRetried", topic=_T + "TaskRetried")
    def _task_retried(self, task_id: str, at: datetime, by: str) -> None:
        assert self.failed_task is not None
        task = dict(self.failed_task)
        task.update(
            status="INITIALIZING", claimed_by=None, lease_until=None, progress=None, start_time=at
        )
        self.active_task = task  # type: ignore[assignment]
        self.failed_task = None
        self.finished_tasks.pop(task_id, None)
        self.status = Status.INDEXING.value
        self.fatal_error_msg = None

    # Small synchronous content edits (tags, labels, metadata fields).

    def edit_content(self, root: str, n_images: int, n_videos: int, summary: str, by: str) -> None:
        self._require(Operation.EDIT_ITEMS)
        if root != self.content_root:
            self._content_edited(
                root=root, n_images=n_images, n_videos=n_videos, summary=summary, by=by
            )

    @event("ContentEdited", topic=_T + "ContentEdited")
    def _content_edited(
        self, root: str, n_images: int, n_videos: int, summary: str, by: str
    ) -> None:
        self.content_root, self.n_images, self.n_videos = root, n_images, n_videos

    # Mutation helpers, called only from @event bodies.

    def _publish(self, root: str, n_images: int, n_videos: int, status: str) -> None:
        self.content_root, self.n_images, self.n_videos = root, n_images, n_videos
        self.content_status = status
        self.status = status
        self.fatal_error_msg = None

    def _finish(self, task_id: str, final: str) -> None:
        self.finished_tasks[task_id] = final
        self.active_task = None

    def _fail(self, task_id: str, error: str, final: str) -> None:
        self.failed_task = self.active_task
        self.status = Status.ERROR.value
        self.fatal_error_msg = error
        self._finish(task_id, final)


def may_see(dataset: Dataset, user_id: str, *, is_admin: bool) -> bool:
    return dataset.has_role(user_id, "viewer", is_admin=is_admin)


def check_may_write(
    dataset: Dataset, user_id: str, *, is_admin: bool, need: str = "editor"
) -> None:
    if not dataset.has_role(user_id, need, is_admin=is_admin):
        raise Forbidden(
            f"Your role on dataset {dataset.id} does not allow this; it needs the {need} role."
        )


# The events that put a task in INITIALIZING: each starts one task for its ``by``.
_TASK_STARTS = (
    "OperationStarted",
    "RestoreStarted",
    "CloneStarted",
    "ExportStarted",
    "TaskRetried",
)


def task_starters(events: Iterable[object]) -> list[str]:
    """Who starts a task in ``events``: one email per task they start."""
    starts = tuple(getattr(Dataset, name) for name in _TASK_STARTS)
    return [str(getattr(e, "by")) for e in events if isinstance(e, starts)]  # noqa: B009
