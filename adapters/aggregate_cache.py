"""The application's aggregate cache, bounded in bytes instead of entries.

The library keeps recently used aggregates in memory and fast-forwards them with the events
stored since (other processes' writes too). Its cache counts entries; a dataset's in-memory
size grows with its checkpoints and finished tasks, so entries say little about memory.
This cache keeps the least recently used going once the aggregates' estimated sizes pass
``max_bytes``. A size is re-estimated whenever an aggregate is read, because fast-forwarding
grows it in place. The estimate (``estimated_bytes``) was measured with tracemalloc: about
410 bytes a checkpoint and 85 a finished task.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any
from uuid import UUID

from eventsourcing.application import Cache

from domain.dataset import Dataset

_BASE = 4096


def estimated_bytes(aggregate: object) -> int:
    """About how much memory an aggregate holds."""
    if not isinstance(aggregate, Dataset):
        return _BASE
    return (
        _BASE
        + 450 * len(aggregate.checkpoints)
        + 100 * len(aggregate.finished_tasks)
        + 200 * (len(aggregate.roles) + len(aggregate.clones) + len(aggregate.side_tasks))
    )


class BytesBoundedCache(Cache[UUID, Any]):
    """The library's cache interface (``get``, ``put``), least recently used first out."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__()
        self.max_bytes = max_bytes
        self._entries: OrderedDict[UUID, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def __bool__(self) -> bool:
        return True  # the repository tests "if self.cache": an empty cache is still a cache

    def get(self, key: UUID, *, evict: bool = False) -> Any:
        with self._lock:
            value, size = self._entries.pop(key) if evict else self._entries[key]
            if evict:
                self._bytes -= size
                return value
            self._entries.move_to_end(key)
            self._resize(key, value, size)
            self._evict()
            return value

    def put(self, key: UUID, value: Any) -> None:
        if value is None:
            return
        with self._lock:
            old = self._entries.get(key)
            self._resize(key, value, 0 if old is None else old[1])
            self._entries.move_to_end(key)
            self._evict()

    def _resize(self, key: UUID, value: Any, old_size: int) -> None:
        size = estimated_bytes(value)
        self._entries[key] = (value, size)
        self._bytes += size - old_size

    def _evict(self) -> None:
        """The least recently used go until the rest fit (the newest always stays)."""
        while self._bytes > self.max_bytes and len(self._entries) > 1:
            self._bytes -= self._entries.popitem(last=False)[1][1]
