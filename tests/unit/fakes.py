"""Hand-written in-memory stand-ins for the ports the unit tier keeps out: node store, blob
store, staging, media probe and task queue. They are fakes, not mocks: each behaves like the
real thing for what the tests ask of it, and counts what the tests want to measure.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from uuid import UUID

from application.datasets import Datasets
from application.operations.base import Outcome, TaskContext
from application.operations.ingest import UnsupportedMedia
from domain.dataset import Dataset
from domain.status import Status
from domain.tasks import CREATION

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


class DictNodeStore:
    """A dict-backed NodeStore that counts reads and writes."""

    def __init__(self) -> None:
        self.nodes: dict[str, bytes] = {}
        self.reads = 0  # node hashes asked for through get_many
        self.written: list[str] = []  # node hashes passed to put_many, in order

    def get_many(self, hashes: Iterable[str]) -> dict[str, bytes]:
        found = {}
        for node_hash in hashes:
            self.reads += 1
            if node_hash in self.nodes:
                found[node_hash] = self.nodes[node_hash]
        return found

    def put_many(self, nodes: Mapping[str, bytes]) -> None:
        self.written.extend(nodes)
        self.nodes.update(nodes)

    def sweep(self, keep: set[str]) -> int:
        """Remove every node not in ``keep``; returns how many went."""
        gone = [h for h in self.nodes if h not in keep]
        for node_hash in gone:
            del self.nodes[node_hash]
        return len(gone)


class FakeBlobStore:
    """Content-addressed bytes in a dict."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def put_file(self, path: Path) -> tuple[str, int]:
        data = path.read_bytes()
        sha256 = hashlib.sha256(data).hexdigest()
        self.blobs[sha256] = data
        return sha256, len(data)

    @contextmanager
    def batch(self, owner: str) -> Iterator[FakeBlobStore]:
        yield self

    def open(self, sha256: str) -> AbstractContextManager[IO[bytes]]:
        @contextmanager
        def opened() -> Iterator[IO[bytes]]:
            yield io.BytesIO(self.blobs[sha256])

        return opened()

    def path(self, sha256: str) -> Path:
        raise NotImplementedError("the fake blob store keeps no files")

    def exists(self, sha256: str) -> bool:
        return sha256 in self.blobs


class FakeStaging:
    """Staging folders under one directory; remembers which tasks were removed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.removed: list[str] = []

    def folder(self, task_id: str) -> Path:
        path = self.root / task_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def remove(self, task_id: str) -> None:
        self.removed.append(task_id)


class FakeProbe:
    """Any image file is (its size in bytes) x 1 pixels, unless it starts with b"bad"."""

    def image_size(self, path: Path) -> tuple[int, int]:
        data = path.read_bytes()
        if data.startswith(b"bad"):
            raise UnsupportedMedia("not a readable image")
        return len(data), 1

    def video_info(self, path: Path) -> tuple[int, int, float | None]:
        """Any file is a 1.5 s video of (its size in bytes) x 2 pixels, unless it starts
        with b"bad"."""
        data = path.read_bytes()
        if data.startswith(b"bad"):
            raise UnsupportedMedia("not a readable video")
        return len(data), 2, 1.5


class InMemoryTaskQueue:
    """The open tasks of every dataset in the application's log that a worker may claim now."""

    def __init__(self, app: Datasets) -> None:
        self.app = app

    def claimable(self, limit: int) -> list[tuple[UUID, str]]:
        now = datetime.now(UTC)
        found: list[tuple[UUID, str]] = []
        for notification in self.app.recorder.select_notifications(
            start=None, limit=10_000, topics=["snapset:Dataset.Created"]
        ):
            dataset = self.app.repository.get(notification.originator_id)
            assert isinstance(dataset, Dataset)
            task = dataset.active_task
            if task is None:
                continue
            if task["claimed_by"] is None or (task["lease_until"] or now) <= now:
                found.append((dataset.id, task["task_id"]))
        return found[:limit]


class PublishRecords:
    """An ingest-free Operation: publishes the records given in the task's params."""

    task_type = CREATION

    def __init__(self) -> None:
        self.runs = 0

    def run(self, context: TaskContext) -> Outcome:
        self.runs += 1
        root = context.tree.update(context.content_root, context.params["records"])
        return Outcome(root=root, status=Status.READY.value, message="published")
