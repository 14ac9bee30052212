"""The dataset status machine, as data: one table of gates, one row for everything a user
can ask of a dataset, saying in which statuses it may start and what else must hold."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    DRAFT = "DRAFT"
    INDEXING = "INDEXING"
    READ_ONLY = "READ ONLY"
    PARTIAL_INDEX = "PARTIAL INDEX"
    READY = "READY"
    ERROR = "ERROR"


class Operation(StrEnum):
    """Everything a user can ask of a dataset that a gate guards."""

    CREATE_SNAPSHOT = "create snapshot"
    RESTORE = "restore"
    CLONE = "clone"
    EDIT_SNAPSHOT = "edit snapshot"
    DELETE_SNAPSHOT = "delete snapshot"
    READ_SNAPSHOTS = "read snapshots"  # list, diff and preview them
    INGEST = "ingest"
    MODIFY = "modify"  # a data-modifying task: media addition and every later operation
    PROPAGATE_LABELS = "propagate labels"  # a data-modifying task that needs clusters
    EDIT_ITEMS = "edit items"  # small synchronous edits: tags, labels, metadata
    EXPORT = "export"
    RETRY = "retry"  # a failed or aborted creation task


@dataclass(frozen=True)
class Gate:
    statuses: frozenset[Status]
    exclusive: bool = False  # refused while a task runs on the dataset (409)
    snapshots: bool = False  # refused when the dataset's snapshot support is off (403)
    not_while_cloned: bool = False  # refused while a clone from this dataset runs (409)
    most_at_once: int | None = None  # at most this many of it run on the dataset (409)
    clustered: bool = False  # refused until a re-index made clusters (409)
    enters: Status | None = None  # the status the dataset takes when it starts (None: same)


_ANY = frozenset(Status)
_AFTER_INDEXING = frozenset({Status.READY, Status.PARTIAL_INDEX, Status.ERROR})
MAX_RUNNING_EXPORTS = 4

GATES: dict[Operation, Gate] = {
    Operation.CREATE_SNAPSHOT: Gate(frozenset({Status.READY}), exclusive=True, snapshots=True),
    Operation.RESTORE: Gate(
        _AFTER_INDEXING,
        exclusive=True,
        snapshots=True,
        not_while_cloned=True,
        enters=Status.READ_ONLY,
    ),
    Operation.CLONE: Gate(_AFTER_INDEXING, snapshots=True),
    Operation.EDIT_SNAPSHOT: Gate(_ANY, snapshots=True),
    Operation.DELETE_SNAPSHOT: Gate(_ANY, snapshots=True),
    Operation.READ_SNAPSHOTS: Gate(_ANY, snapshots=True),
    Operation.INGEST: Gate(frozenset({Status.DRAFT}), exclusive=True, enters=Status.INDEXING),
    Operation.MODIFY: Gate(_AFTER_INDEXING, exclusive=True, enters=Status.READ_ONLY),
    Operation.PROPAGATE_LABELS: Gate(
        _AFTER_INDEXING, exclusive=True, clustered=True, enters=Status.READ_ONLY
    ),
    Operation.EDIT_ITEMS: Gate(_AFTER_INDEXING, exclusive=True),
    # Exports read a version and change nothing: any status, beside any other task.
    Operation.EXPORT: Gate(_ANY, most_at_once=MAX_RUNNING_EXPORTS),
    # Retrying replaces the active task: a running one would never finish.
    Operation.RETRY: Gate(_ANY, exclusive=True, enters=Status.INDEXING),
}


def may_start(operation: Operation, status: Status, *, busy: bool) -> bool:
    """Whether ``operation`` may start on a dataset in ``status`` (``busy``: a task runs)."""
    gate = GATES[operation]
    return status in gate.statuses and not (busy and gate.exclusive)


def task_status_name(status: Status) -> str:
    """The Task Manager API spells dataset statuses with underscores."""
    return status.value.replace(" ", "_")
