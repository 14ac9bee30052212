"""What the application needs from the outside, as protocols the adapters implement."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, Protocol
from uuid import UUID


class BlobWriter(Protocol):
    def put_file(self, path: Path) -> tuple[str, int]:
        """Store a file's bytes; return (sha256 hex, size in bytes)."""
        ...


class BlobStore(BlobWriter, Protocol):
    """Content-addressed media bytes: each blob is stored once under its sha256."""

    def batch(self, owner: str) -> AbstractContextManager[BlobWriter]:
        """Store many files for ``owner`` (a task id): durable and visible together when the
        block ends, none if it raises."""
        ...

    def open(self, sha256: str) -> AbstractContextManager[IO[bytes]]: ...

    def path(self, sha256: str) -> Path: ...

    def exists(self, sha256: str) -> bool: ...


class TaskQuota(Protocol):
    """How many unfinished tasks one user may have. The application asks it about whoever
    a save would start a task for, before storing it: every path that starts a task is
    limited, whatever calls it."""

    def check(self, email: str, position: int) -> None:
        """Raise TooManyTasks when ``email`` may start no more tasks, counting every task
        started up to the log position ``position``."""
        ...


class TaskQueue(Protocol):
    """The tasks a worker may claim now: not final, and unclaimed or with an expired lease."""

    def claimable(self, limit: int) -> list[tuple[UUID, str]]: ...


class Staging(Protocol):
    """Folders where uploaded files wait for their task; they survive a process restart."""

    def folder(self, task_id: str) -> Path: ...

    def remove(self, task_id: str) -> None: ...


def iter_files(root: Path) -> Iterator[Path]:
    """Regular files below ``root`` in a stable order (their paths', part by part), never
    following links; one folder's listing at a time, so a million files cost no list."""
    with os.scandir(root) as listing:
        entries = sorted(listing, key=lambda entry: entry.name)
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from iter_files(Path(entry.path))
        elif entry.is_file(follow_symlinks=False):
            yield Path(entry.path)
