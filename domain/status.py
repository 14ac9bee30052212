"""The dataset status machine, as data: which operation may start in which status."""

from enum import StrEnum


class Status(StrEnum):
    DRAFT = "DRAFT"
    INDEXING = "INDEXING"
    READ_ONLY = "READ ONLY"
    PARTIAL_INDEX = "PARTIAL INDEX"
    READY = "READY"
    ERROR = "ERROR"


class Operation(StrEnum):
    """Everything a user can ask of a dataset that the status machine gates."""

    CREATE_SNAPSHOT = "create snapshot"
    RESTORE = "restore"
    CLONE = "clone"
    EDIT_SNAPSHOT = "edit snapshot"
    DELETE_SNAPSHOT = "delete snapshot"
    INGEST = "ingest"
    MODIFY = "modify"  # a data-modifying task: media addition and every later operation
    EDIT_ITEMS = "edit items"  # small synchronous edits: tags, labels, metadata


_ANY = frozenset(Status)
_AFTER_INDEXING = frozenset({Status.READY, Status.PARTIAL_INDEX, Status.ERROR})

ALLOWED: dict[Operation, frozenset[Status]] = {
    Operation.CREATE_SNAPSHOT: frozenset({Status.READY}),
    Operation.RESTORE: _AFTER_INDEXING,
    Operation.CLONE: _AFTER_INDEXING,
    Operation.EDIT_SNAPSHOT: _ANY,
    Operation.DELETE_SNAPSHOT: _ANY,
    Operation.INGEST: frozenset({Status.DRAFT}),
    Operation.MODIFY: _AFTER_INDEXING,
    Operation.EDIT_ITEMS: _AFTER_INDEXING,
}

# Operations that may not start while another data-modifying task runs on the dataset.
EXCLUSIVE: frozenset[Operation] = frozenset(
    {
        Operation.CREATE_SNAPSHOT,
        Operation.RESTORE,
        Operation.INGEST,
        Operation.MODIFY,
        Operation.EDIT_ITEMS,
    }
)


def may_start(operation: Operation, status: Status, *, busy: bool) -> bool:
    """Whether ``operation`` may start on a dataset in ``status`` (``busy``: a task runs)."""
    return status in ALLOWED[operation] and not (busy and operation in EXCLUSIVE)


def task_status_name(status: Status) -> str:
    """The Task Manager API spells dataset statuses with underscores."""
    return status.value.replace(" ", "_")
