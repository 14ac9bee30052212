"""The task quota (``application.ports.TaskQuota``): how many unfinished tasks one user may
have, counted in the task log."""

from __future__ import annotations

from adapters.positions import Positions
from adapters.views.task_log import TaskLogView
from domain.errors import TooManyTasks


class OpenTasksQuota:
    """At most ``limit`` unfinished tasks per user, counted in the task log once it has
    reached the position asked about (waiting at most ``wait_seconds``), so a task the same
    user just started is counted."""

    def __init__(
        self, view: TaskLogView, limit: int, positions: Positions, wait_seconds: float
    ) -> None:
        self._view = view
        self._limit = limit
        self._positions = positions
        self._wait_seconds = wait_seconds

    def check(self, email: str, position: int) -> None:
        self._positions.wait(position, self._wait_seconds, (self._view.store.name,))
        open_tasks = self._view.open_tasks_created_by(email)
        if open_tasks >= self._limit:
            raise TooManyTasks(
                f"You have {open_tasks} unfinished tasks, the most one user may have "
                f"({self._limit}); start this one when one of them finishes."
            )
