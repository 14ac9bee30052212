"""Media bytes in a content-addressed folder: ``blobs/ab/cdef...`` under the sha256.

A blob appears under its name only once its bytes are durable: it is written to a temporary
file (hashed while copied, so each source is read once), fsynced, renamed into place, and
its folder fsynced. A batch does this for many files at once, syncing them together at the
end (one ``syncfs`` on Linux, else in parallel), which is what makes ingest fast: per-file
fsyncs dominated it.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
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
_SMALL = 1 << 20  # files up to this size are read whole, in one call


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
        self._fans: set[str] = set()  # the waiting folders made so far (at most 256)

    def put_file(self, path: Path) -> tuple[str, int]:
        """Safe to call from several threads."""
        with path.open("rb") as source:
            head = source.read(_SMALL + 1)
        if len(head) <= _SMALL:  # most images: read, hashed and written in one call each
            sha256 = hashlib.sha256(head).hexdigest()
            fd, name = tempfile.mkstemp(dir=self._fan(sha256), prefix="blob-")
            with os.fdopen(fd, "wb") as f:
                f.write(head)
            self._keep(Path(name), sha256)
            return sha256, len(head)
        temporary, sha256, size = self._folder._copy_hashing(path, self._waiting)
        self._keep(temporary, sha256)
        return sha256, size

    def _fan(self, sha256: str) -> Path:
        """The waiting folder for ``sha256``: fanned out as the blob folder is (a folder of a
        million names slowed each file written into it: ingest of 1M files took twice as
        long)."""
        fan = self._waiting / sha256[:2]
        if sha256[:2] not in self._fans:
            fan.mkdir(parents=True, exist_ok=True)
            self._fans.add(sha256[:2])
        return fan

    def _holds(self, sha256: str) -> bool:
        return (self._waiting / sha256[:2] / sha256).exists() or self._folder.exists(sha256)

    def _keep(self, temporary: Path, sha256: str) -> None:
        """Name ``temporary`` for its bytes' ``sha256`` unless the batch or the blob folder
        holds them already."""
        with self._lock:
            keep = not self._holds(sha256)
            if keep:
                temporary.rename(self._fan(sha256) / sha256)
        if not keep:
            temporary.unlink()

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
            if not _sync_filesystem(self._waiting):
                for block in self._blocks():
                    list(pool.map(_fsync_file, block))
            for block in self._blocks():
                for waiting in block:
                    target = self._folder.path(waiting.name)
                    target.parent.mkdir(exist_ok=True)
                    os.replace(waiting, target)
                    folders.add(target.parent)
            if folders and not _sync_filesystem(self._waiting):
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


def _sync_filesystem(folder: Path) -> bool:
    """Make everything written on ``folder``'s file system durable with one ``syncfs(2)``,
    where there is one (Linux): fsyncing each of a thousand small files costs a thousand
    journal commits (236 us a file on the CI machine, against 36 for the one call). Linux's
    syncfs waits for the writes and, since 5.8, reports a failed one as fsync does. False
    where the system has no such call: the caller then syncs file by file."""
    if _SYNCFS is None:
        return False
    fd = os.open(folder, os.O_RDONLY)
    try:
        if _SYNCFS(fd) != 0:
            code = ctypes.get_errno()
            raise OSError(code, f"syncfs: {os.strerror(code)}", str(folder))
    finally:
        os.close(fd)
    return True


def _load_syncfs() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        call: Callable[[int], int] = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    return call


_SYNCFS = _load_syncfs()


def _fsync_file(path: Path) -> None:
    with path.open("rb") as f:
        os.fsync(f.fileno())


def _fsync_folder(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
