"""``snapset`` whose task worker pauses, so that a test's SIGKILL lands inside a task.

    python -m tests.support.paced_worker [--hold S] [--pause S] SNAPSET-ARGS...

``--hold``: seconds the worker waits after claiming each task, before running it.
``--pause``: seconds it waits after each item an operation counts.
This is the worker's test seam (``application.worker.WorkerObserver``); the product itself
never pauses.
"""

from __future__ import annotations

import argparse
import sys
import threading

from adapters.cli import main


class Pacing:
    def __init__(self, hold: float, pause: float) -> None:
        self._hold = hold
        self._pause = pause

    def claimed(self, task_id: str) -> None:
        if self._hold:
            threading.Event().wait(self._hold)

    def counted(self, task_id: str, done: int, total: int) -> None:
        if self._pause:
            threading.Event().wait(self._pause)


def paced_command(*args: str, hold: float = 0.0, pause: float = 0.0) -> list[str]:
    """The command line of ``snapset ARGS`` with a paced worker."""
    pacing = ["--hold", str(hold), "--pause", str(pause), "--log-level", "warning"]
    return [sys.executable, "-m", "tests.support.paced_worker", *pacing, *args]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hold", type=float, default=0.0)
    parser.add_argument("--pause", type=float, default=0.0)
    known, rest = parser.parse_known_args()
    sys.exit(main(rest, observer=Pacing(known.hold, known.pause)))
