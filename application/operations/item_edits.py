"""What operations that edit existing items in place share: the status they leave the dataset
in, and a bounded sample of per-item errors for the task's report.
"""

from __future__ import annotations

from typing import Any

from application.operations.base import TaskContext
from domain.status import Status

SAMPLE_ERRORS = 20


def status_kept(context: TaskContext) -> str:
    """Editing items neither builds nor breaks an index: the dataset returns to the status
    it had before the task (READY or PARTIAL INDEX); a dataset in ERROR becomes READY,
    since this operation completed."""
    before = context.task["status_before"]
    if before == Status.PARTIAL_INDEX.value:
        return before
    return Status.READY.value


class ErrorSample:
    """Counts every error and keeps the first ``SAMPLE_ERRORS`` of them."""

    def __init__(self) -> None:
        self.count = 0
        self.sample: list[dict[str, Any]] = []

    def add(self, **error: Any) -> None:
        self.count += 1
        if len(self.sample) < SAMPLE_ERRORS:
            self.sample.append(error)
