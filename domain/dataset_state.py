"""What a dataset holds, the questions its rules ask of it, and the record keeping its
events do. ``Dataset`` (the aggregate) adds the guard/emit pairs on top.

Records in the containers (checkpoints, tasks) are copy-on-write: a mutator replaces a
record, never edits one in place. So a copy of the dataset needs only copies of its
containers, which keeps loading from the aggregate cache cheap however many checkpoints a
dataset has.
"""

from __future__ import annotations

from typing import Any, Self
from uuid import UUID

from domain import access, tasks
from domain.access import Role
from domain.checkpoints import Checkpoint
from domain.errors import (
    BadRequest,
    SnapshotNotFound,
    SnapshotsDisabled,
    StatusConflict,
    TaskNotFound,
)
from domain.status import GATES, Operation, Status, may_start
from domain.tasks import RESTORE, TaskState
from domain.version import Version, empty_version

CURRENT = "current"  # the name of a dataset's current version, beside its checkpoints' ids


class DatasetState:
    name: str
    owner_id: str
    snapshot_support: bool
    roles: dict[str, str]
    emails: dict[str, str]
    status: str
    fatal_error_msg: str | None
    current: Version
    checkpoints: dict[str, Checkpoint]
    current_checkpoint: str | None
    active_task: TaskState | None
    finished_tasks: dict[str, str]
    pending_clones: dict[str, str]
    clones: dict[str, str]
    failed_task: TaskState | None
    side_tasks: dict[str, TaskState]  # tasks beside the active one that change nothing

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        clone = object.__new__(type(self))
        memo[id(self)] = clone
        for key, value in self.__dict__.items():
            clone.__dict__[key] = value.copy() if isinstance(value, dict | list) else value
        return clone

    @property
    def id(self) -> UUID:  # the aggregate's
        raise NotImplementedError

    def _begin(self, owner_id: str, owner_email: str) -> None:
        """A new dataset's state: its creator owns it; it has no content, checkpoint or task."""
        self.roles = {owner_id: Role.OWNER.value}
        self.emails = {owner_id: owner_email}
        self.fatal_error_msg = None
        self.current = empty_version()
        self.checkpoints = {}
        self.current_checkpoint = None
        self.active_task = None
        self.finished_tasks = {}
        self.pending_clones = {}
        self.clones = {}
        self.failed_task = None
        self.side_tasks = {}

    @staticmethod
    def clone_name(source_name: str) -> str:
        """API.md: a clone of dataset X is named ``X (cloned)``."""
        return f"{source_name} (cloned)"

    # Access.

    def role_of(self, user_id: str, *, is_admin: bool = False) -> str | None:
        return access.role_of(self.roles, user_id, is_admin=is_admin)

    def has_role(self, user_id: str, at_least: str, *, is_admin: bool = False) -> bool:
        return access.allows(self.role_of(user_id, is_admin=is_admin), Role(at_least))

    def check_access(self, user_id: str, need: Role, *, is_admin: bool = False) -> None:
        """DatasetNotFound for a stranger, Forbidden for a role below ``need``."""
        access.check(self.role_of(user_id, is_admin=is_admin), need, self.id)

    # Versions and checkpoints.

    @property
    def clustered(self) -> bool:
        """Whether an index of clusters exists (a re-index sets it)."""
        return bool(self.current["facets"].get("clustered"))

    @property
    def content_changed(self) -> bool:
        """Whether the content differs from the current checkpoint's."""
        checkpoint = self.checkpoints.get(self.current_checkpoint or "")
        return checkpoint is None or checkpoint["version"]["root"] != self.current["root"]

    def live_checkpoint(self, checkpoint_id: str) -> Checkpoint:
        record = self.checkpoints.get(checkpoint_id)
        if record is None or record["deleted"]:
            raise SnapshotNotFound(checkpoint_id)
        return record

    def _checkpoint_named(self, name: str) -> str:
        """A checkpoint id, or ``current`` for the current checkpoint's (if there is one)."""
        if name != CURRENT:
            return name
        if self.current_checkpoint is None:
            raise SnapshotNotFound(CURRENT)
        return self.current_checkpoint

    def version_named(self, name: str) -> Version:
        """``current`` or a live checkpoint's id; SnapshotNotFound for anything else."""
        return self.current if name == CURRENT else self.live_checkpoint(name)["version"]

    def live_roots(self) -> set[str]:
        """The content roots this dataset still needs: its current version's, its live
        checkpoints', and those its running tasks will publish (a clone) or read (an export)."""
        roots = {self.current["root"]}
        roots.update(c["version"]["root"] for c in self.checkpoints.values() if not c["deleted"])
        for task in self.running_tasks():
            params = task["params"]
            roots.update(str(p["root"]) for p in (params, params.get("version", {})) if "root" in p)
        return roots

    # Tasks.

    @property
    def busy(self) -> bool:
        return self.active_task is not None

    @property
    def restoring(self) -> str | None:
        task = self.active_task
        return task["params"].get("snapshot_id") if task and task["task_type"] == RESTORE else None

    def running_tasks(self) -> list[TaskState]:
        active = [] if self.active_task is None else [self.active_task]
        return [*active, *self.side_tasks.values()]

    def task(self, task_id: str) -> TaskState:
        for task in self.running_tasks():
            if task["task_id"] == task_id:
                return task
        raise TaskNotFound(task_id)

    def _known_task(self, task_id: str) -> bool:
        return task_id in self.finished_tasks or any(
            t["task_id"] == task_id for t in self.running_tasks()
        )

    def _held(
        self, task_id: str, worker: str, *, only: str | None = None, not_of: tuple[str, ...] = ()
    ) -> TaskState:
        """The task, if ``worker`` holds it and it is of a type this step may finish."""
        task = self.task(task_id)
        tasks.check_holder(task, worker)
        if task["task_type"] in not_of or only not in (None, task["task_type"]):
            raise BadRequest(f"Task {task_id} is a {task['task_type']} task.")
        return task

    # Gates (domain.status): what must hold for an operation to start.

    def require_snapshots(self, operation: Operation) -> None:
        if GATES[operation].snapshots and not self.snapshot_support:
            raise SnapshotsDisabled(self.id)

    def _require(self, operation: Operation) -> str:
        """The operation's gate: snapshot support, status, and what else must not run.
        Returns the status the dataset takes when the operation starts."""
        self.require_snapshots(operation)
        gate = GATES[operation]
        if not may_start(operation, Status(self.status), busy=self.busy):
            why = "a task is running on it" if self.busy else f"its status is {self.status}"
        elif gate.not_while_cloned and self.pending_clones:
            why = "a clone from it is running"
        elif gate.most_at_once is not None and len(self.side_tasks) >= gate.most_at_once:
            why = f"it already has {gate.most_at_once} {operation.value}s running"
        elif gate.clustered and not self.clustered:
            why = "it has no clusters yet; re-index it first"
        else:
            return (gate.enters or Status(self.status)).value
        raise StatusConflict(f"Cannot {operation.value} on dataset {self.id}: {why}.")

    # Record keeping, called only from @event bodies.

    def _add_checkpoint(self, checkpoint_id: str, record: Checkpoint) -> None:
        self.checkpoints[checkpoint_id] = record
        self.current_checkpoint = checkpoint_id

    def _publish(self, task_id: str, version: Version, status: str) -> None:
        self.current = version
        self.status = status
        self.fatal_error_msg = None
        self._finish(task_id, "COMPLETED")

    def _put_task(self, task: TaskState) -> None:
        """Replace a running task's state (records are copy-on-write)."""
        if task["task_id"] in self.side_tasks:
            self.side_tasks = {**self.side_tasks, task["task_id"]: task}
        else:
            self.active_task = task

    def _finish(self, task_id: str, final: str) -> None:
        self.finished_tasks[task_id] = final
        self.active_task = None

    def _finish_side(self, task_id: str, final: str) -> None:
        self.side_tasks = {k: v for k, v in self.side_tasks.items() if k != task_id}
        self.finished_tasks[task_id] = final

    def _fail(self, task_id: str, error: str, status: str, final: str) -> None:
        self.failed_task = self.active_task
        self.status = status
        self.fatal_error_msg = error
        self._finish(task_id, final)
