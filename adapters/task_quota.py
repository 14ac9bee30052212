"""The task quota (``application.ports.TaskQuota``): how many unfinished tasks one user may
have, counted in the task log."""

from __future__ import annotations

from collections.abc import Callable

from adapters.views.task_log import TaskLogView
from domain.errors import TooManyTasks


class OpenTasksQuota:
    """At most ``limit`` unfinished tasks per user. ``caught_up`` brings the task log up to
    the log's end first, so a task just started by the same user is counted."""

    def __init__(self, view: TaskLogView, limit: int, caught_up: Callable[[], None]) -> None:
        self._view = view
        self._limit = limit
        self._caught_up = caught_up

    def check(self, email: str) -> None:
        self._caught_up()
        open_tasks = self._view.open_tasks_created_by(email)
        if open_tasks >= self._limit:
            raise TooManyTasks(
                f"You have {open_tasks} unfinished tasks, the most one user may have "
                f"({self._limit}); start this one when one of them finishes."
            )
