"""Export a version of a dataset as a zip archive (the EXPORT side task).

The archive holds ``metadata.json`` (a ``dataset`` header and every item's full record,
sorted by file name then media id) and, when asked, each item's file under
``media/<media_id><suffix>``: named by id, so equal file names cannot clash, and from safe
characters only, so nothing escapes the archive. The version's root comes in the task's
params, so any snapshot exports without being restored, and the export changes nothing.

Items stream from the tree and media bytes stream from the blob store; the records (their
canonical JSON) are sorted in bounded memory, spilling sorted runs to a temporary folder
(``SortedSpill``). The archive is written through
``ExportArchives``, which publishes it under its final name only once it is complete.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO, Any, Protocol

from application.operations.base import Outcome, TaskContext
from application.operations.sorted_spill import SortedSpill
from application.ports import BlobStore
from domain.content_tree import Counts, Record, canonical_bytes
from domain.tasks import EXPORT

METADATA = "metadata.json"
_SAFE_ID = re.compile(r"[^A-Za-z0-9_-]")
_SAFE_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,12}$")
_SAMPLE_ERRORS = 10
_CHUNK = 1 << 20


class ExportArchives(Protocol):
    """Where finished archives live, one per export task."""

    def create(self, task_id: str) -> AbstractContextManager[IO[bytes]]:
        """A binary file to write the archive into. It appears under ``task_id`` only when
        the block ends without an exception; until then no reader can see it."""
        ...

    def download_uri(self, dataset_id: str, task_id: str) -> str: ...


def media_path(media_id: str, file_name: str) -> str:
    """``media/<media_id><suffix>`` from safe characters only."""
    suffix = PurePosixPath(file_name).suffix
    return f"media/{_SAFE_ID.sub('_', media_id)}{suffix if _SAFE_SUFFIX.match(suffix) else ''}"


@dataclass
class _Report:
    items: int = 0
    media_files: int = 0
    errors: list[str] = field(default_factory=list)
    error_count: int = 0

    def error(self, what: str) -> None:
        self.error_count += 1
        if len(self.errors) < _SAMPLE_ERRORS:
            self.errors.append(what)


class Export:
    task_type = EXPORT

    def __init__(self, blobs: BlobStore, archives: ExportArchives) -> None:
        self._blobs = blobs
        self._archives = archives

    def run(self, context: TaskContext) -> Outcome:
        params = context.params
        root = str(params["root"])
        include_media = bool(params.get("include_media"))
        counts = context.tree.counts(root)
        work = counts.items * (2 if include_media else 1)
        with SortedSpill() as entries:
            self._read_entries(context, root, work, entries)
            return self._archive(context, counts, include_media, work, entries)

    def _archive(
        self,
        context: TaskContext,
        counts: Counts,
        include_media: bool,
        work: int,
        entries: SortedSpill,
    ) -> Outcome:
        params = context.params
        report = _Report(items=entries.count)
        header = {
            "id": context.dataset_id,
            "name": context.dataset_name,
            "snapshot_id": params.get("snapshot_id") or "current",
            "counts": {
                "items": counts.items,
                "images": counts.images,
                "videos": counts.videos,
                "objects": counts.objects,
            },
            "facets": params.get("facets", context.facets),
            "include_media": include_media,
        }
        with self._archives.create(context.task_id) as out:
            with zipfile.ZipFile(out, "w") as archive:
                paths = (
                    self._write_media(context, archive, entries, report, work)
                    if include_media
                    else None
                )
                _write_metadata(archive, header, entries, paths)
            size = out.tell()
        uri = self._archives.download_uri(context.dataset_id, context.task_id)
        message = f"Exported {report.items} items"
        message += f" and {report.media_files} media files." if include_media else "."
        if report.error_count:
            message += f" {report.error_count} media files were missing."
        return Outcome(
            root=context.content_root,
            status="",  # an export changes nothing: both unused
            message=message,
            report={
                "download_uri": uri,
                "items": report.items,
                "media_files": report.media_files,
                "bytes": size,
                "error_count": report.error_count,
                "errors": report.errors,
            },
        )

    def _read_entries(
        self, context: TaskContext, root: str, work: int, entries: SortedSpill
    ) -> None:
        for batch in context.tree.leaf_batches(root):
            for _, items in batch:
                for media_id, record in items:
                    entries.add(*_entry(media_id, record))
            context.tick(entries.count, work, f"Read {entries.count} records.")

    def _write_media(
        self,
        context: TaskContext,
        archive: zipfile.ZipFile,
        entries: SortedSpill,
        report: _Report,
        work: int,
    ) -> dict[str, str]:
        paths: dict[str, str] = {}
        used: set[str] = set()
        for number, entry in enumerate(_entries(entries), 1):
            context.tick(entries.count + number, work, f"Wrote {number} media files.")
            if entry.blob is None:
                report.error(f"{entry.file_name} ({entry.media_id}): no media file")
                continue
            path = _unique(media_path(entry.media_id, entry.file_name), used)
            with ExitStack() as stack:
                try:
                    source = stack.enter_context(self._blobs.open(entry.blob))
                except (OSError, LookupError, ValueError):
                    report.error(f"{entry.file_name} ({entry.media_id}): media file missing")
                    continue
                info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_STORED  # media is compressed already
                with archive.open(info, "w", force_zip64=True) as target:
                    shutil.copyfileobj(source, target, _CHUNK)
            paths[entry.media_id] = path
            report.media_files += 1
        return paths


@dataclass(frozen=True)
class _Entry:
    file_name: str
    media_id: str
    body: bytes  # the record's canonical JSON
    blob: str | None


def _entry(media_id: str, record: Record) -> tuple[bytes, bytes]:
    """A record as a sort key (file name, then media id: NUL between, as neither holds one)
    and a value (its blob, then its canonical JSON)."""
    blob = record.get("blob")
    key = f"{record.get('file_name') or ''}\x00{media_id}".encode()
    value = (blob if isinstance(blob, str) else "").encode() + b"\x00" + canonical_bytes(record)
    return key, value


def _entries(spill: SortedSpill) -> Iterator[_Entry]:
    for key, value in spill:
        file_name, _, media_id = key.decode().partition("\x00")
        blob, _, body = value.partition(b"\x00")
        yield _Entry(file_name, media_id, body, blob.decode() or None)


def _unique(path: str, used: set[str]) -> str:
    """Ids are unique, but two may make the same safe name; number the later ones."""
    candidate, number = path, 1
    while candidate in used:
        number += 1
        stem, dot, suffix = path.partition(".")
        candidate = f"{stem}-{number}{dot}{suffix}"
    used.add(candidate)
    return candidate


def _write_metadata(
    archive: zipfile.ZipFile,
    header: dict[str, Any],
    entries: SortedSpill,
    paths: dict[str, str] | None,
) -> None:
    """``{"dataset": header, "items": [records], "media": {media_id: path}}``, streamed."""
    info = zipfile.ZipInfo(METADATA, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    with archive.open(info, "w", force_zip64=True) as out:
        out.write(b'{"dataset":' + canonical_bytes(header) + b',"items":[')
        for number, entry in enumerate(_entries(entries)):
            out.write(b"," + entry.body if number else entry.body)
        out.write(b"]")
        if paths is not None:
            out.write(b',"media":' + canonical_bytes(paths))
        out.write(b"}")
