"""Sorting more records than fit in memory: sorted runs spill to a temporary folder and are
merged as they are read. Memory holds one run (``run_bytes``) and a block of each run file.
"""

from __future__ import annotations

import heapq
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, NamedTuple, Self

_LENGTHS = struct.Struct("<IIII")


class Entry(NamedTuple):
    """One record to sort: by file name, then media id."""

    file_name: str
    media_id: str
    body: bytes  # the record's canonical JSON
    blob: str | None


class SortedSpill:
    """Entries added in any order, read back sorted, as often as wanted. Use as a context
    manager: the spilled runs are removed when it ends."""

    def __init__(self, run_bytes: int = 32 << 20) -> None:
        self._run_bytes = run_bytes
        self._folder = tempfile.TemporaryDirectory(prefix="snapset-sort-")
        self._runs: list[Path] = []
        self._pending: list[Entry] = []
        self._pending_bytes = 0
        self.count = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._folder.cleanup()

    def add(self, entry: Entry) -> None:
        self._pending.append(entry)
        self._pending_bytes += len(entry.body) + len(entry.file_name) + 100
        self.count += 1
        if self._pending_bytes >= self._run_bytes:
            self._spill()

    def __iter__(self) -> Iterator[Entry]:
        self._pending.sort()
        runs = [_read(path) for path in self._runs]
        return heapq.merge(*runs, iter(self._pending))

    def _spill(self) -> None:
        self._pending.sort()
        path = Path(self._folder.name) / f"run-{len(self._runs):06d}"
        with path.open("wb") as out:
            for entry in self._pending:
                _write(out, entry)
        self._runs.append(path)
        self._pending, self._pending_bytes = [], 0


def _write(out: BinaryIO, entry: Entry) -> None:
    name, media_id = entry.file_name.encode(), entry.media_id.encode()
    blob = b"\x00" if entry.blob is None else b"\x01" + entry.blob.encode()
    out.write(_LENGTHS.pack(len(name), len(media_id), len(entry.body), len(blob)))
    out.write(name + media_id + entry.body + blob)


def _read(path: Path) -> Iterator[Entry]:
    with path.open("rb", buffering=1 << 20) as source:
        while header := source.read(_LENGTHS.size):
            sizes = _LENGTHS.unpack(header)
            data = source.read(sum(sizes))
            name_end = sizes[0]
            id_end = name_end + sizes[1]
            body_end = id_end + sizes[2]
            blob = data[body_end:]
            yield Entry(
                data[:name_end].decode(),
                data[name_end:id_end].decode(),
                data[id_end:body_end],
                None if blob == b"\x00" else blob[1:].decode(),
            )
