"""Media bytes in a content-addressed folder: ``blobs/ab/cdef...`` under the sha256.

A blob appears under its name only once its bytes are durable: it is written to a temporary
file (hashed while copied, so each source is read once), fsynced, renamed into place, and
its folder fsynced. A batch does this for many files at once, syncing them in parallel at
the end, which is what makes ingest fast: per-file fsyncs dominated it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO
from uuid import uuid4

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20
_SYNC_THREADS = 4


class BlobFolder:
    def __init__(self, root: Path) -> None:
        self._root = root
        self._incoming = root / ".incoming"
        self._incoming.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"{sha256!r} is not a sha256 hex digest")
        return self._root / sha256[:2] / sha256[2:]

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put_file(self, path: Path) -> tuple[str, int]:
        """Store one file durably; returns (sha256 hex, size in bytes)."""
        with self.batch(f"single-{uuid4().hex}") as batch:
            return batch.put_file(path)  # the batch commits before the value is returned

    @contextmanager
    def batch(self, owner: str) -> Iterator[BlobBatch]:
        """Store many files; they are durable and visible when the block ends without error.
        Until then they wait in a folder named for ``owner`` (a task id), which ``sweep``
        removes once its task is over, if a killed process left it behind."""
        batch = BlobBatch(self, self._incoming / _safe_name(owner))
        try:
            yield batch
        except BaseException:
            batch.discard()
            raise
        batch.commit()

    @contextmanager
    def open(self, sha256: str) -> Iterator[IO[bytes]]:
        with self.path(sha256).open("rb") as f:
            yield f

    def sweep(self, keep: set[str], written_before: float) -> int:
        """Remove the waiting files of owners not in ``keep``, last written before the cutoff."""
        removed = 0
        for folder in self._incoming.iterdir():
            if folder.name not in keep and folder.stat().st_mtime < written_before:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed

    def _copy_hashing(self, source: Path, waiting: Path) -> tuple[Path, str, int]:
        digest = hashlib.sha256()
        waiting.mkdir(exist_ok=True)
        fd, name = tempfile.mkstemp(dir=waiting, prefix="blob-")
        size = 0
        try:
            with source.open("rb") as src, os.fdopen(fd, "wb") as dst:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    dst.write(chunk)
                    size += len(chunk)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return Path(name), digest.hexdigest(), size


class BlobBatch:
    def __init__(self, folder: BlobFolder, waiting: Path) -> None:
        self._folder = folder
        self._waiting = waiting
        self._pending: dict[str, Path] = {}  # sha256 -> temporary file
        self._lock = threading.Lock()

    def put_file(self, path: Path) -> tuple[str, int]:
        """Safe to call from several threads."""
        temporary, sha256, size = self._folder._copy_hashing(path, self._waiting)
        with self._lock:
            duplicate = sha256 in self._pending or self._folder.exists(sha256)
            if not duplicate:
                self._pending[sha256] = temporary
        if duplicate:
            temporary.unlink()
        return sha256, size

    def commit(self) -> None:
        try:
            self._publish()
        finally:
            with contextlib.suppress(OSError):  # gone already, or a retry of the task uses it
                self._waiting.rmdir()

    def _publish(self) -> None:
        if not self._pending:
            return
        with ThreadPoolExecutor(_SYNC_THREADS) as pool:
            list(pool.map(_fsync_file, self._pending.values()))
        folders: set[Path] = set()
        for sha256, temporary in self._pending.items():
            target = self._folder.path(sha256)
            target.parent.mkdir(exist_ok=True)
            os.replace(temporary, target)
            folders.add(target.parent)
        self._pending.clear()
        with ThreadPoolExecutor(_SYNC_THREADS) as pool:
            list(pool.map(_fsync_folder, sorted(folders)))

    def discard(self) -> None:
        for temporary in self._pending.values():
            temporary.unlink(missing_ok=True)
        self._pending.clear()
        with contextlib.suppress(OSError):
            self._waiting.rmdir()


def _safe_name(owner: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]", "_", owner)[:100]
    return name or "_"


def _fsync_file(path: Path) -> None:
    with path.open("rb") as f:
        os.fsync(f.fileno())


def _fsync_folder(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
