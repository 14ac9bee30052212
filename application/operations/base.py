"""The operation mechanism: each long, data-modifying task type is one ``Operation``.

An operation reads the dataset's current content, builds the new content tree out of place
(nodes are invisible until referenced) and returns it; the worker then publishes it with one
event. Operations report progress through the context, which also renews the task's lease.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from domain.content_tree import ContentTree
from domain.tasks import TaskState


class OperationFailed(Exception):
    """The operation cannot complete; the message is shown to the user as the task's error."""


@dataclass
class TaskContext:
    dataset_id: str
    dataset_name: str
    content_root: str
    clustered: bool
    task: TaskState
    tree: ContentTree
    progress: Callable[[int, str], None]

    @property
    def task_id(self) -> str:
        return self.task["task_id"]

    @property
    def params(self) -> dict[str, Any]:
        return self.task["params"]


@dataclass
class Outcome:
    root: str
    status: str
    message: str = ""
    clustered: bool | None = None
    cleanup: list[Callable[[], None]] = field(default_factory=list)


class Operation(Protocol):
    task_type: str

    def run(self, context: TaskContext) -> Outcome: ...
