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
_FAN = re.compile(r"^[0-9a-f]{2}$")
_CHUNK = 1 << 20
_SYNC_THREADS = 4
_BLOCK = 1000  # waiting files synced, then moved, at a time


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
        # A folder per batch inside the owner's: a retry of a task never trusts, nor races
        # over, what an earlier attempt left waiting (``sweep`` removes that).
        batch = BlobBatch(self, self._incoming / _safe_name(owner) / uuid4().hex)
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
        waiting.mkdir(parents=True, exist_ok=True)
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
    """Files waiting in a folder of their own, each named for its sha256 once hashed: the
    folder is the batch's whole state, so a batch of any size holds nothing per file in
    memory, and commit syncs and moves them a block at a time."""

    def __init__(self, folder: BlobFolder, waiting: Path) -> None:
        self._folder = folder
        self._waiting = waiting
        self._lock = threading.Lock()

    def put_file(self, path: Path) -> tuple[str, int]:
        """Safe to call from several threads."""
        temporary, sha256, size = self._folder._copy_hashing(path, self._waiting)
        # Fanned out as the blob folder is: a folder of a million names slowed each file
        # written into it (ingest of 1M files took twice as long).
        named = self._waiting / sha256[:2] / sha256
        with self._lock:
            duplicate = named.exists() or self._folder.exists(sha256)
            if not duplicate:
                named.parent.mkdir(exist_ok=True)
                temporary.rename(named)
        if duplicate:
            temporary.unlink()
        return sha256, size

    def commit(self) -> None:
        try:
            self._publish()
        finally:
            fans = sorted(self._waiting.iterdir()) if self._waiting.is_dir() else []
            for folder in (*fans, self._waiting, self._waiting.parent):
                with contextlib.suppress(OSError):  # gone already, or another batch uses it
                    folder.rmdir()

    def _publish(self) -> None:
        if not self._waiting.is_dir():
            return
        folders: set[Path] = set()  # at most 256: the blob folder's fan-out
        with ThreadPoolExecutor(_SYNC_THREADS) as pool:
            for block in self._blocks():
                list(pool.map(_fsync_file, block))
            for block in self._blocks():
                for waiting in block:
                    target = self._folder.path(waiting.name)
                    target.parent.mkdir(exist_ok=True)
                    os.replace(waiting, target)
                    folders.add(target.parent)
            list(pool.map(_fsync_folder, sorted(folders)))

    def _blocks(self) -> Iterator[list[Path]]:
        """The waiting files (named for their sha256, in folders of its first two digits),
        ``_BLOCK`` at a time."""
        block: list[Path] = []
        with os.scandir(self._waiting) as fans:
            folders = sorted(e.path for e in fans if e.is_dir() and _FAN.fullmatch(e.name))
        for folder in folders:
            with os.scandir(folder) as listing:
                for entry in listing:
                    if _SHA256.fullmatch(entry.name):
                        block.append(Path(entry.path))
                        if len(block) >= _BLOCK:
                            yield block
                            block = []
        if block:
            yield block

    def discard(self) -> None:
        shutil.rmtree(self._waiting, ignore_errors=True)
        with contextlib.suppress(OSError):
            self._waiting.parent.rmdir()


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
