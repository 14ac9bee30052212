"""A broadcast wake-up between threads of one process (saves, committed batches)."""

from __future__ import annotations

import threading


class Signal:
    """A broadcast wake-up: everything waiting on it wakes when it is pulsed.

    Take ``generation`` before checking your condition and pass it to ``wait``: a pulse
    that lands between the check and the wait then returns at once instead of being lost.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generation = 0

    @property
    def generation(self) -> int:
        return self._generation

    def pulse(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def wait(self, timeout: float, since: int | None = None) -> None:
        with self._cond:
            seen = self._generation if since is None else since
            self._cond.wait_for(lambda: self._generation != seen, timeout)
