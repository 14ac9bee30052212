"""The Dataset aggregate, as guard/emit pairs over ``DatasetState``.

Every public method guards (its gate in ``domain.status``, API.md's rules, the rules of
``domain.access``, ``domain.checkpoints`` and ``domain.tasks``) and raises a domain error;
only then a private ``@event`` method mutates. ``@event`` bodies never raise: they re-run on
every replay. The events and their kinds are in ``domain.dataset_events``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import checkpoints as cp
from domain import dataset_events as e
from domain import tasks
from domain.access import ROLES, Role
from domain.checkpoints import Checkpoint, Reason
from domain.dataset_state import DatasetState
from domain.dataset_upcasts import dataset_state_v2
from domain.errors import Conflict, Invalid, TaskNotFound
from domain.ids import checkpoint_id_for_task
from domain.status import Operation, Status
from domain.tasks import CLONE, CREATION, EXPORT, RESTORE, TaskState
from domain.version import Version, with_content, with_facets

Params = dict[str, Any]
Report = dict[str, Any] | None


class Dataset(Aggregate, DatasetState):
    """A dataset: guard/emit pairs over ``DatasetState``."""

    TOPIC = "snapset:Dataset"
    class_version = 2
    upcast_v1_v2 = staticmethod(dataset_state_v2)

    Created, Shared, ContentEdited = e.Created, e.Shared, e.ContentEdited
    SnapshotCreated, SnapshotUpdated = e.SnapshotCreated, e.SnapshotUpdated
    SnapshotSoftDeleted = e.SnapshotSoftDeleted
    OperationStarted, OperationCompleted = e.OperationStarted, e.OperationCompleted
    RestoreStarted, RestoreCompleted = e.RestoreStarted, e.RestoreCompleted
    OperationFailed, RestoreFailed, CloneFailed = e.OperationFailed, e.RestoreFailed, e.CloneFailed
    CloneRequested, CloneStarted, CloneFinished = e.CloneRequested, e.CloneStarted, e.CloneFinished
    CloneCompleted, ExportStarted = e.CloneCompleted, e.ExportStarted
    ExportCompleted, ExportFailed = e.ExportCompleted, e.ExportFailed
    TaskClaimed, TaskProgressed = e.TaskClaimed, e.TaskProgressed
    TaskAborted, TaskRetried = e.TaskAborted, e.TaskRetried

    @classmethod
    def new(cls, *, name: str, **fields: Any) -> Dataset:
        """A new dataset (the fields of ``Created``), named as ``checked_name`` allows."""
        return cls(name=cls.checked_name(name), **fields)

    @staticmethod
    def checked_name(name: str) -> str:
        """A dataset's name: not blank, at most ``MAX_NAME`` characters, trimmed."""
        return cp.checked_text(name, "dataset name", cp.MAX_NAME, required=True)

    @event(e.Created)
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
        status: str = Status.DRAFT.value,
    ) -> None:
        self.name = name
        self.description = description
        self.owner_id = owner_id
        self.created_at = at
        self.source_type = source_type
        self.snapshot_support = snapshot_support
        self.source_dataset_id = source_dataset_id
        self.status = status
        self._begin(owner_id, owner_email)

    # Sharing.

    def share(self, user_id: str, email: str, role: str, by: str) -> None:
        if role not in ROLES:
            raise Invalid(f"The role must be one of {', '.join(ROLES)}, not {role!r}.")
        if user_id == self.owner_id and role != Role.OWNER:
            raise Conflict("The dataset's creator always keeps the owner role.")
        self._shared(user_id=user_id, email=email, role=role, by=by)

    @event(e.Shared)
    def _shared(self, user_id: str, email: str, role: str, by: str) -> None:
        self.roles[user_id] = role
        self.emails[user_id] = email

    # Checkpoints ("snapshots" in the API).

    def create_checkpoint(
        self, checkpoint_id: str, name: str, description: str, by: str, at: datetime
    ) -> bool:
        """Create a manual checkpoint; False when ``checkpoint_id`` exists (an idempotent retry)."""
        self.require_snapshots(Operation.CREATE_SNAPSHOT)
        if checkpoint_id in self.checkpoints:
            return False
        self._require(Operation.CREATE_SNAPSHOT)
        name, description = cp.checked_name(name), cp.checked_description(description)
        self._take_checkpoint(checkpoint_id, name, description, Reason.MANUAL, by, at)
        return True

    def _take_checkpoint(
        self, checkpoint_id: str, name: str, description: str, why: Reason, by: str, at: datetime
    ) -> None:
        name = name or cp.default_name(self.name, checkpoint_id)
        record = cp.new_checkpoint(name, description, why, by, at, self.current)
        self._checkpoint_created(checkpoint_id=checkpoint_id, checkpoint=record)

    @event(e.SnapshotCreated)
    def _checkpoint_created(self, checkpoint_id: str, checkpoint: Checkpoint) -> None:
        self._add_checkpoint(checkpoint_id, checkpoint)

    def _auto_checkpoint(self, task_id: str, why: str, by: str, at: datetime) -> None:
        """Before a restore or an operation: keep the content it would replace, if unsaved."""
        if self.snapshot_support and self.content_changed and self.status != Status.DRAFT:
            checkpoint_id = str(checkpoint_id_for_task(task_id, Reason.AUTO.value))
            description = f"Automatic checkpoint before {why}."
            self._take_checkpoint(checkpoint_id, "", description, Reason.AUTO, by, at)

    def update_checkpoint(
        self, checkpoint_id: str, name: str | None, description: str | None, by: str
    ) -> None:
        self.require_snapshots(Operation.EDIT_SNAPSHOT)
        cp.check_edit(name, description)
        self.live_checkpoint(checkpoint_id)
        self._require(Operation.EDIT_SNAPSHOT)
        name = None if name is None else cp.checked_name(name, required=True)
        description = None if description is None else cp.checked_description(description)
        self._checkpoint_updated(
            checkpoint_id=checkpoint_id, name=name, description=description, by=by
        )

    @event(e.SnapshotUpdated)
    def _checkpoint_updated(
        self, checkpoint_id: str, name: str | None, description: str | None, by: str
    ) -> None:
        self.checkpoints[checkpoint_id] = cp.edited(
            self.checkpoints[checkpoint_id], name, description
        )

    def delete_checkpoint(self, checkpoint_id: str, by: str) -> None:
        self.require_snapshots(Operation.DELETE_SNAPSHOT)
        self.live_checkpoint(checkpoint_id)
        if checkpoint_id == self.current_checkpoint:
            why = "is the current version"
        elif self.restoring == checkpoint_id:
            why = "is being restored"
        else:
            self._require(Operation.DELETE_SNAPSHOT)
            self._checkpoint_soft_deleted(checkpoint_id=checkpoint_id, by=by)
            return
        raise Conflict(f"Snapshot {checkpoint_id} {why} and cannot be removed.")

    @event(e.SnapshotSoftDeleted)
    def _checkpoint_soft_deleted(self, checkpoint_id: str, by: str) -> None:
        self.checkpoints[checkpoint_id] = {**self.checkpoints[checkpoint_id], "deleted": True}

    # Tasks: start. Each returns False when the task already started (an idempotent retry).

    def start_operation(
        self, task_id: str, task_type: str, by: str, params: Params, at: datetime
    ) -> bool:
        """Start the creation task or a data-modifying task, gated as its type says."""
        if self._known_task(task_id):
            return False
        status = self._require(tasks.gate_of(task_type))
        self._auto_checkpoint(task_id, task_type.replace("_", " ").lower(), by, at)
        task = tasks.new_task(task_id, task_type, by, params, at, self.status)
        self._operation_started(task=task, status=status, by=by)
        return True

    @event(e.OperationStarted)
    def _operation_started(self, task: TaskState, status: str, by: str) -> None:
        self.active_task = task
        self.status = status
        self.fatal_error_msg = None

    def start_restore(self, task_id: str, checkpoint_id: str, by: str, at: datetime) -> bool:
        """Start restoring a checkpoint (or ``current``)."""
        self.require_snapshots(Operation.RESTORE)
        if self._known_task(task_id):
            return False
        checkpoint_id = self._checkpoint_named(checkpoint_id)
        record = self.live_checkpoint(checkpoint_id)
        status = self._require(Operation.RESTORE)
        self._auto_checkpoint(task_id, f"restoring {record['name']!r}", by, at)
        params = {"snapshot_id": checkpoint_id}
        task = tasks.new_task(task_id, RESTORE, by, params, at, self.status)
        self._restore_started(task=task, status=status, by=by)
        return True

    @event(e.RestoreStarted)
    def _restore_started(self, task: TaskState, status: str, by: str) -> None:
        self.active_task = task
        self.status = status

    def request_clone(
        self, task_id: str, checkpoint_id: str, new_dataset_id: UUID, by: str
    ) -> Checkpoint:
        """Record on the source that a clone of a checkpoint starts; returns its record."""
        self.require_snapshots(Operation.CLONE)
        record = self.live_checkpoint(checkpoint_id)
        if task_id not in self.clones:
            self._require(Operation.CLONE)
            self._clone_requested(
                task_id=task_id, checkpoint_id=checkpoint_id, new_dataset_id=new_dataset_id, by=by
            )
        return record

    @event(e.CloneRequested)
    def _clone_requested(
        self, task_id: str, checkpoint_id: str, new_dataset_id: UUID, by: str
    ) -> None:
        self.pending_clones[task_id] = checkpoint_id
        self.clones[task_id] = checkpoint_id

    def finish_clone(self, task_id: str, by: str) -> None:
        if task_id in self.pending_clones:
            self._clone_finished(task_id=task_id, by=by)

    @event(e.CloneFinished)
    def _clone_finished(self, task_id: str, by: str) -> None:
        self.pending_clones.pop(task_id, None)

    def start_clone(self, task_id: str, source: Checkpoint, by: str, at: datetime) -> None:
        """On a new dataset: the clone task that will publish the source checkpoint's version."""
        task = tasks.new_task(task_id, CLONE, by, tasks.clone_params(source), at, self.status)
        self._clone_started(task=task, status=Status.INDEXING.value, by=by)

    @event(e.CloneStarted)
    def _clone_started(self, task: TaskState, status: str, by: str) -> None:
        self.active_task = task
        self.status = status

    def start_export(self, task_id: str, by: str, params: Params, at: datetime) -> bool:
        """Start an export: it reads a version and changes nothing, so it runs beside any
        other task, as a side task."""
        if self._known_task(task_id):
            return False
        self._require(Operation.EXPORT)
        task = tasks.new_task(task_id, EXPORT, by, params, at, self.status)
        self._export_started(task=task, by=by)
        return True

    @event(e.ExportStarted)
    def _export_started(self, task: TaskState, by: str) -> None:
        self.side_tasks = {**self.side_tasks, task["task_id"]: task}

    # Tasks: claim, progress, finish. Each guard makes finishing happen exactly once.

    def claim_task(self, task_id: str, worker: str, lease_until: datetime, now: datetime) -> None:
        tasks.check_claim(self.task(task_id), worker, now)
        self._task_claimed(task_id=task_id, worker=worker, lease_until=lease_until, by="system")

    @event(e.TaskClaimed)
    def _task_claimed(self, task_id: str, worker: str, lease_until: datetime, by: str) -> None:
        self._put_task(tasks.claimed(self.task(task_id), worker, lease_until))

    def report_progress(
        self, task_id: str, worker: str, progress: int, message: str, lease_until: datetime
    ) -> None:
        self._held(task_id, worker)
        self._task_progressed(task_id, tasks.clamped(progress), message, lease_until, "system")

    @event(e.TaskProgressed)
    def _task_progressed(
        self, task_id: str, progress: int, message: str, lease_until: datetime, by: str
    ) -> None:
        self._put_task(tasks.progressed(self.task(task_id), progress, lease_until))

    def complete_operation(
        self,
        task_id: str,
        worker: str,
        result: Version,
        by: str,
        at: datetime,
        *,
        report: Report = None,
        message: str = "",
    ) -> None:
        """Publish an operation's result: its version, whose facets are those it replaces."""
        self._held(task_id, worker, not_of=(RESTORE, CLONE, EXPORT))
        version = with_facets(result, {**self.current["facets"], **result["facets"]})
        checkpoint_id = name = ""
        if self.task(task_id)["task_type"] == CREATION and self.snapshot_support:
            checkpoint_id = str(checkpoint_id_for_task(task_id, Reason.CREATION.value))
            name = cp.default_name(self.name, checkpoint_id)
        status = version["status"]
        self._operation_completed(
            task_id, version, status, checkpoint_id, name, by, at, report, message
        )

    @event(e.OperationCompleted)
    def _operation_completed(
        self,
        task_id: str,
        version: Version,
        status: str,
        checkpoint_id: str,
        checkpoint_name: str,
        by: str,
        at: datetime,
        report: Report,
        message: str,
    ) -> None:
        self._publish(task_id, version, status)
        if checkpoint_id:
            name = cp.creation_name(checkpoint_name, self.name, checkpoint_id)
            self._add_checkpoint(
                checkpoint_id, cp.new_checkpoint(name, "", Reason.CREATION, by, at, version)
            )

    def complete_restore(self, task_id: str, worker: str) -> None:
        task = self._held(task_id, worker, only=RESTORE)
        checkpoint_id = task["params"]["snapshot_id"]
        version = self.checkpoints[checkpoint_id]["version"]
        by = task["created_by"]
        self._restore_completed(task_id, checkpoint_id, version, version["status"], by)

    @event(e.RestoreCompleted)
    def _restore_completed(
        self, task_id: str, checkpoint_id: str, version: Version, status: str, by: str
    ) -> None:
        self._publish(task_id, version, status)
        self.current_checkpoint = checkpoint_id

    def complete_clone(self, task_id: str, worker: str, by: str, at: datetime) -> None:
        params = self._held(task_id, worker, only=CLONE)["params"]
        checkpoint_id = str(checkpoint_id_for_task(task_id, Reason.CLONE.value))
        name = cp.default_name(self.name, checkpoint_id)
        description, version = params["snapshot_description"], params["version"]
        record = cp.new_checkpoint(name, description, Reason.CLONE, by, at, version)
        self._clone_completed(task_id, checkpoint_id, record, version["status"], by)

    @event(e.CloneCompleted)
    def _clone_completed(
        self, task_id: str, checkpoint_id: str, checkpoint: Checkpoint, status: str, by: str
    ) -> None:
        self._publish(task_id, checkpoint["version"], status)
        self._add_checkpoint(checkpoint_id, checkpoint)

    def complete_export(self, task_id: str, worker: str, report: Params, message: str) -> None:
        task = self._held(task_id, worker, only=EXPORT)
        by = task["created_by"]
        self._export_completed(task_id=task_id, report=report, message=message, by=by)

    @event(e.ExportCompleted)
    def _export_completed(self, task_id: str, report: Params, message: str, by: str) -> None:
        self._finish_side(task_id, "COMPLETED")

    def fail_task(self, task_id: str, worker: str, error: str) -> None:
        task = self._held(task_id, worker)
        error, by = error.strip() or "The task failed.", task["created_by"]
        if task["task_type"] == EXPORT:
            self._export_failed(task_id=task_id, error=error, by=by)
            return
        fail = {RESTORE: self._restore_failed, CLONE: self._clone_failed}.get(
            task["task_type"], self._operation_failed
        )
        fail(task_id=task_id, error=error, status=Status.ERROR.value, by=by)

    @event(e.ExportFailed)
    def _export_failed(self, task_id: str, error: str, by: str) -> None:
        self._finish_side(task_id, "FAILED")

    @event(e.OperationFailed)
    def _operation_failed(self, task_id: str, error: str, status: str, by: str) -> None:
        self._fail(task_id, error, status, "FAILED")

    @event(e.RestoreFailed)
    def _restore_failed(self, task_id: str, error: str, status: str, by: str) -> None:
        self._fail(task_id, error, status, "FAILED")

    @event(e.CloneFailed)
    def _clone_failed(self, task_id: str, error: str, status: str, by: str) -> None:
        self._fail(task_id, error, status, "FAILED")

    def abort_task(self, task_id: str, by: str) -> None:
        if task_id in self.finished_tasks:
            raise Conflict(f"Task {task_id} is already {self.finished_tasks[task_id]}.")
        task = self.task(task_id)
        status = self.status if task in self.side_tasks.values() else tasks.status_after_abort(task)
        self._task_aborted(task_id=task_id, status=status, by=by)

    @event(e.TaskAborted)
    def _task_aborted(self, task_id: str, status: str, by: str) -> None:
        if task_id in self.side_tasks:
            self._finish_side(task_id, "ABORTED")
        elif status == Status.ERROR.value:
            self._fail(task_id, "The task was aborted.", status, "ABORTED")
        else:
            self.status = status
            self._finish(task_id, "ABORTED")

    def retry_task(self, task_id: str, at: datetime, by: str) -> None:
        final = self.finished_tasks.get(task_id)
        if final is None and not self._known_task(task_id):
            raise TaskNotFound(task_id)
        tasks.check_retryable(task_id, final, self.failed_task)
        status = self._require(Operation.RETRY)
        self._task_retried(task_id=task_id, at=at, status=status, by=by)

    @event(e.TaskRetried)
    def _task_retried(self, task_id: str, at: datetime, status: str, by: str) -> None:
        assert self.failed_task is not None
        self.active_task = tasks.restarted(self.failed_task, at)
        self.failed_task = None
        self.finished_tasks.pop(task_id, None)
        self.status = status
        self.fatal_error_msg = None

    # Small synchronous content edits (tags, labels, metadata fields).

    def edit_content(self, root: str, n_images: int, n_videos: int, summary: str, by: str) -> None:
        self._require(Operation.EDIT_ITEMS)
        if root != self.current["root"]:
            self._content_edited(
                root=root, n_images=n_images, n_videos=n_videos, summary=summary, by=by
            )

    @event(e.ContentEdited)
    def _content_edited(
        self, root: str, n_images: int, n_videos: int, summary: str, by: str
    ) -> None:
        self.current = with_content(self.current, root, n_images, n_videos)
