"""Export archives as files in ``<data dir>/exports``, one ``<task id>.zip`` per export.

An archive is written to a ``.partial-`` file in the same folder and renamed into place
(``os.replace`` is atomic) only once complete and synced, so a killed worker never leaves a
half archive under a final name; the task's re-run writes it afresh.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

DOWNLOAD_PATH = "/api/v1/dataset/{dataset_id}/export/{task_id}/download"
_TASK_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class ExportFolder:
    def __init__(self, root: Path) -> None:
        self._root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, task_id: str) -> Path:
        if not _TASK_ID.match(task_id):
            raise ValueError(f"{task_id!r} is not a task id")
        return self._root / f"{task_id}.zip"

    @contextlib.contextmanager
    def create(self, task_id: str) -> Iterator[IO[bytes]]:
        target = self.path(task_id)
        fd, partial = tempfile.mkstemp(dir=self._root, prefix=f".partial-{task_id}-", suffix=".zip")
        try:
            with os.fdopen(fd, "w+b") as out:
                yield out
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)

    def sweep(self, keep: set[str], written_before: float) -> int:
        """Remove half-written archives that a killed worker left, once their task is over
        (not in ``keep``) and they are older than the cutoff."""
        removed = 0
        for partial in self._root.glob(".partial-*.zip"):
            task_id = partial.name[len(".partial-") :][:36]
            if task_id not in keep and partial.stat().st_mtime < written_before:
                partial.unlink(missing_ok=True)
                removed += 1
        return removed

    def download_uri(self, dataset_id: str, task_id: str) -> str:
        return DOWNLOAD_PATH.format(dataset_id=dataset_id, task_id=task_id)
