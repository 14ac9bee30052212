"""Domain errors. Each names the thing and why; the HTTP layer maps each class to a code.

DomainError
├── NotFound                 the thing does not exist for this caller
│   ├── DatasetNotFound
│   ├── SnapshotNotFound
│   ├── TaskNotFound
│   └── UserNotFound
├── Forbidden                the caller may see it but not do this
│   └── SnapshotsDisabled
├── Conflict                 the dataset's state forbids it now
│   └── StatusConflict
├── BadRequest               the request cannot be carried out as asked
├── Invalid                  a value is out of its domain
└── TooManyTasks             the caller has as many unfinished tasks as one user may
"""


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    pass


class DatasetNotFound(NotFound):
    def __init__(self, dataset_id: object) -> None:
        super().__init__(f"Dataset {dataset_id} was not found.")


class SnapshotNotFound(NotFound):
    def __init__(self, snapshot_id: object) -> None:
        super().__init__(f"Snapshot {snapshot_id} was not found.")


class TaskNotFound(NotFound):
    def __init__(self, task_id: object) -> None:
        super().__init__(f"Task {task_id} was not found.")


class UserNotFound(NotFound):
    def __init__(self, email: str) -> None:
        super().__init__(f"No user has the email {email!r}.")


class Forbidden(DomainError):
    pass


class SnapshotsDisabled(Forbidden):
    def __init__(self, dataset_id: object) -> None:
        super().__init__(f"Snapshots are disabled for dataset {dataset_id}.")


class Conflict(DomainError):
    pass


class StatusConflict(Conflict):
    pass


class BadRequest(DomainError):
    pass


class Invalid(DomainError):
    pass


class TooManyTasks(DomainError):
    retry_after_seconds = 5
