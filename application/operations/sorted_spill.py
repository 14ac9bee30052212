"""Sorting more entries than fit in memory: sorted runs spill to a temporary folder and are
merged as they are read. Memory holds one run (``run_bytes``) and a block of each run file.

An entry is a sort key and a value, both bytes: keys compare bytewise, which for UTF-8 text
is the order of its code points, Python's order for ``str``.
"""

from __future__ import annotations

import heapq
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Self

_LENGTHS = struct.Struct("<II")
Entry = tuple[bytes, bytes]


class SortedSpill:
    """Entries added in any order, read back sorted by key, as often as wanted. Use as a
    context manager: the spilled runs are removed when it ends."""

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

    def add(self, key: bytes, value: bytes) -> None:
        self._pending.append((key, value))
        self._pending_bytes += len(key) + len(value) + 100
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
            for key, value in self._pending:
                out.write(_LENGTHS.pack(len(key), len(value)) + key + value)
        self._runs.append(path)
        self._pending, self._pending_bytes = [], 0


def _read(path: Path) -> Iterator[Entry]:
    with path.open("rb", buffering=1 << 20) as source:
        while header := source.read(_LENGTHS.size):
            key_size, value_size = _LENGTHS.unpack(header)
            data = source.read(key_size + value_size)
            yield data[:key_size], data[key_size:]
