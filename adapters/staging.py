"""Upload staging folders under the data directory, one per task."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

_TASK_ID = re.compile(r"^[0-9a-f-]{36}$")


class StagingFolder:
    def __init__(self, root: Path) -> None:
        self._root = root
        root.mkdir(parents=True, exist_ok=True)

    def folder(self, task_id: str) -> Path:
        if not _TASK_ID.match(task_id):
            raise ValueError(f"{task_id!r} is not a task id")
        return self._root / task_id

    def remove(self, task_id: str) -> None:
        shutil.rmtree(self.folder(task_id), ignore_errors=True)

    def sweep(self, keep: set[str], written_before: float) -> int:
        """Remove the folders of tasks not in ``keep`` last written before the cutoff."""
        removed = 0
        for folder in self._root.iterdir():
            if (
                folder.is_dir()
                and folder.name not in keep
                and folder.stat().st_mtime < written_before
            ):
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed
