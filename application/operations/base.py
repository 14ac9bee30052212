"""The operation mechanism: each long, data-modifying task type is one ``Operation``.

An operation reads the dataset's current content, builds the new content tree out of place
(nodes are invisible until referenced) and returns it; the worker then publishes it with one
event. Operations report progress through the context, which also renews the task's lease.
"""

from __future__ import annotations

import time
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
    facets: dict[str, Any]
    task: TaskState
    tree: ContentTree
    progress: Callable[[int, str], None]
    observe: Callable[[int, int], None] | None = None
    _last_report: float = field(default_factory=time.monotonic)

    @property
    def clustered(self) -> bool:
        return bool(self.facets.get("clustered"))

    def tick(
        self, done: int, total: int, message: str, *, share: int = 100, start: int = 0
    ) -> None:
        """Count work done: tells an observer (a CLI's progress bar) every time, and reports
        progress on the task (which renews its lease) at most once a second: this stage runs
        from ``start`` percent of the whole task to ``start + share`` when done == total."""
        if self.observe is not None:
            self.observe(done, total)
        moment = time.monotonic()
        if moment - self._last_report >= 1.0:
            self._last_report = moment
            self.progress(start + share * done // max(total, 1), message)

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
    facets: dict[str, Any] | None = None  # the facet keys this operation replaces
    report: dict[str, Any] | None = None  # JSON-safe; served as the task's report
    cleanup: list[Callable[[], None]] = field(default_factory=list)


class Operation(Protocol):
    task_type: str

    def run(self, context: TaskContext) -> Outcome: ...
