"""Ingest media files: the creation task (DATASET_CREATION) and media addition (MEDIA_ADDITION).

Sources are a staged upload folder or a folder under the import root; zips inside are read
member by member with limits (no absolute paths, no ``..``, no links, bounded count, size
and compression ratio). Each file becomes one media record with a deterministic id (uuid5 of
the task and its path), so a task re-run after a crash builds the very same tree.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol
from uuid import uuid5

from application.operations.base import OperationFailed, Outcome, TaskContext
from application.operations.parallel import ordered_map
from application.operations.sorted_spill import SortedSpill
from application.ports import BlobStore, BlobWriter, Staging, iter_files
from domain.content_tree import Record, canonical_bytes, route_of
from domain.ids import NAMESPACE
from domain.status import Status
from domain.tasks import CREATION, MEDIA_ADDITION

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v"}
MAX_ZIP_MEMBERS = 100_000
MAX_ZIP_BYTES = 8 << 30
MAX_ZIP_RATIO = 200
_SAMPLE_ERRORS = 10


class UnsupportedMedia(Exception):
    """A file that is not a readable image or video."""


class MediaProbe(Protocol):
    def image_size(self, path: Path) -> tuple[int, int]:
        """(width, height) of a readable image, else UnsupportedMedia."""
        ...

    def video_info(self, path: Path) -> tuple[int, int, float | None]:
        """(width, height, duration in seconds or None) of a readable video, else
        UnsupportedMedia."""
        ...


@dataclass
class _Report:
    images: int = 0
    videos: int = 0
    errors: list[str] = field(default_factory=list)
    error_count: int = 0

    def error(self, name: str, why: str) -> None:
        self.error_count += 1
        if len(self.errors) < _SAMPLE_ERRORS:
            self.errors.append(f"{name}: {why}")

    def message(self) -> str:
        text = (
            f"Ingested {self.images + self.videos} media ({self.images} images, "
            f"{self.videos} videos)."
        )
        if self.error_count:
            text += f" Skipped {self.error_count} files: " + "; ".join(self.errors)
        return text


class Ingest:
    """Shared by creation and media addition; they differ in where the result goes."""

    task_type = CREATION

    def __init__(
        self,
        blobs: BlobStore,
        probe: MediaProbe,
        staging: Staging,
        import_root: Path | None,
        *,
        threads: int = 2,
    ) -> None:
        # Large files are read and stored on a few threads (hashing and copying release the
        # GIL), small ones on the task's own (``ordered_map`` times them).
        self._threads = threads
        self._blobs = blobs
        self._probe = probe
        self._staging = staging
        self._import_root = import_root

    def run(self, context: TaskContext) -> Outcome:
        source = self._source_folder(context.params)
        report = _Report()
        total = sum(1 for _ in iter_files(source))
        with SortedSpill() as records:
            with self._blobs.batch(context.task_id) as blobs:

                def read(path: Path) -> tuple[Path, Record | str | None]:
                    if path.suffix.lower() == ".zip":
                        return path, None  # read member by member below, on this thread
                    name = path.relative_to(source).as_posix()
                    return path, self._read_file(context, blobs, path, name)

                results = ordered_map(read, iter_files(source), self._threads)
                for number, (path, result) in enumerate(results, 1):
                    relative = path.relative_to(source).as_posix()
                    if result is None:
                        self._ingest_zip(context, blobs, path, relative, records, report)
                    else:
                        _add(result, relative, records, report)
                    context.tick(number, total, f"Read {number} of {total} files.", share=90)
            if not records.count:
                detail = report.message() if report.error_count else "The source has no files."
                raise OperationFailed(f"No supported images or videos were found. {detail}")
            # In the tree's order, so each node is written about once, in bounded memory.
            root = context.tree.update_stream(
                context.content_root,
                ((key.decode(), json.loads(value)) for key, value in _by_route(records)),
            )
        task_id = context.task_id
        cleanup = (
            [lambda: self._staging.remove(task_id)]
            if context.params.get("source") == "upload"
            else []
        )
        return Outcome(
            root=root, status=self._status_after(context), message=report.message(), cleanup=cleanup
        )

    def _status_after(self, context: TaskContext) -> str:
        return Status.READY.value

    def _source_folder(self, params: dict[str, Any]) -> Path:
        if params.get("source") == "upload":
            return self._staging.folder(str(params["task_id"]))
        if params.get("source") == "path":
            path = Path(str(params["path"]))
            if self._import_root is None or not path.resolve().is_relative_to(
                self._import_root.resolve()
            ):
                raise OperationFailed("The source folder is outside the import root.")
            if not path.is_dir():
                raise OperationFailed(f"The source folder {params['path']} does not exist.")
            return path
        raise OperationFailed("The task has no media source.")

    def _ingest_file(
        self,
        context: TaskContext,
        blobs: BlobWriter,
        path: Path,
        name: str,
        records: SortedSpill,
        report: _Report,
    ) -> None:
        _add(self._read_file(context, blobs, path, name), name, records, report)

    def _read_file(
        self, context: TaskContext, blobs: BlobWriter, path: Path, name: str
    ) -> Record | str:
        """The file's media record, or why it was skipped. Safe to run on several threads."""
        suffix = path.suffix.lower()
        record: Record = {
            "kind": "",
            "file_name": name,
            "metadata": {},
            "tags": [],
            "labels": [],
            "enrichment": {},
            "cluster_id": None,
        }
        try:
            if suffix in IMAGE_SUFFIXES:
                width, height = self._probe.image_size(path)
                record.update(kind="image", width=width, height=height)
            elif suffix in VIDEO_SUFFIXES:
                width, height, duration = self._probe.video_info(path)
                record.update(kind="video", width=width, height=height, duration=duration)
            else:
                raise UnsupportedMedia(f"unsupported file type {suffix or '(none)'}")
        except UnsupportedMedia as error:
            return str(error)
        sha256, size = blobs.put_file(path)
        record.update(blob=sha256, size=size)
        record["media_id"] = str(uuid5(NAMESPACE, f"media:{context.task_id}:{name}"))
        return record

    def _ingest_zip(
        self,
        context: TaskContext,
        blobs: BlobWriter,
        path: Path,
        name: str,
        records: SortedSpill,
        report: _Report,
    ) -> None:
        try:
            with zipfile.ZipFile(path) as archive:
                members = _safe_members(archive, path.stat().st_size)
                with tempfile.TemporaryDirectory(prefix="snapset-zip-") as tmp:
                    for member in members:
                        target = Path(tmp) / f"member{Path(member.filename).suffix}"
                        with archive.open(member) as src, target.open("wb") as dst:
                            shutil.copyfileobj(src, dst, 1 << 20)
                        self._ingest_file(
                            context, blobs, target, f"{name}/{member.filename}", records, report
                        )
        except (
            zipfile.BadZipFile,
            UnsupportedMedia,
            OSError,
            EOFError,
            ValueError,
            NotImplementedError,
            zlib.error,
        ) as error:  # what damaged archives raise
            report.error(name, f"unreadable zip archive ({error or type(error).__name__})")


def _safe_members(archive: zipfile.ZipFile, archive_size: int) -> list[zipfile.ZipInfo]:
    if any(not m.filename for m in archive.infolist()):
        raise UnsupportedMedia("a member has no name")
    if any(m.flag_bits & 0x1 for m in archive.infolist()):
        raise UnsupportedMedia("it is encrypted")
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) > MAX_ZIP_MEMBERS:
        raise UnsupportedMedia(f"it has more than {MAX_ZIP_MEMBERS} files")
    total = sum(m.file_size for m in members)
    if total > MAX_ZIP_BYTES or total > MAX_ZIP_RATIO * max(archive_size, 1) + (1 << 20):
        raise UnsupportedMedia("it expands to too much data (a zip bomb?)")
    safe = []
    for member in members:
        posix = PurePosixPath(member.filename.replace("\\", "/"))
        if posix.is_absolute() or ".." in posix.parts:
            raise UnsupportedMedia(f"member {member.filename!r} escapes the archive")
        if (member.external_attr >> 16) & 0o170000 == 0o120000:
            raise UnsupportedMedia(f"member {member.filename!r} is a symbolic link")
        safe.append(member)
    return safe


class MediaAddition(Ingest):
    task_type = MEDIA_ADDITION

    def _status_after(self, context: TaskContext) -> str:
        return Status.PARTIAL_INDEX.value if context.clustered else Status.READY.value


def _add(result: Record | str, name: str, records: SortedSpill, report: _Report) -> None:
    """Note a file's record (sorted by its route in the tree, then its id) or why not."""
    if isinstance(result, str):
        report.error(name, result)
        return
    if result["kind"] == "image":
        report.images += 1
    else:
        report.videos += 1
    media_id = str(result["media_id"])
    records.add(f"{route_of(media_id)}\x00{media_id}".encode(), canonical_bytes(result))


def _by_route(records: SortedSpill) -> Iterator[tuple[bytes, bytes]]:
    """(media id, record JSON) in the tree's order."""
    for key, value in records:
        yield key.partition(b"\x00")[2], value
