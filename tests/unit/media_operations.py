"""What the enrichment and re-index unit tests share: a content tree on a dict, a real blob
folder, task contexts, and hand-written models whose outputs the tests control."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.storage.blobs import BlobFolder
from application.operations.base import TaskContext
from application.operations.ingest import UnsupportedMedia
from domain.content_tree import EMPTY_ROOT, ContentTree, Record
from domain.tasks import TaskState
from tests.unit.fakes import DictNodeStore


class ByteCount:
    """An image model: the file's size; files starting with b"bad" are unreadable."""

    model_type = "BYTES"
    name = "Byte count"
    description = "How many bytes the file has."
    media_kinds = ("image",)

    def __init__(self, model_id: str = "bytes-v1") -> None:
        self.model_id = model_id
        self.runs: list[str] = []

    def run(self, path: Path, record: Record) -> dict[str, Any]:
        self.runs.append(record["media_id"])
        data = path.read_bytes()
        if data.startswith(b"bad"):
            raise UnsupportedMedia("not a readable image (bad bytes)")
        return {"bytes": len(data)}


class FirstByte:
    """A video model: the file's first byte."""

    model_type = "FIRST_BYTE"
    model_id = "first-byte-v1"
    name = "First byte"
    description = "The file's first byte."
    media_kinds = ("video",)

    def run(self, path: Path, record: Record) -> dict[str, Any]:
        return {"first": path.read_bytes()[0]}


class HexHash:
    """A PERCEPTUAL_HASH model whose hash is the file's text (16 hex digits)."""

    model_type = "PERCEPTUAL_HASH"
    name = "Hash from text"
    description = "The file's text is its hash."
    media_kinds = ("image",)

    def __init__(self, model_id: str = "hex-v1") -> None:
        self.model_id = model_id
        self.runs: list[str] = []

    def run(self, path: Path, record: Record) -> dict[str, Any]:
        self.runs.append(record["media_id"])
        text = path.read_text()
        if text.startswith("bad"):
            raise UnsupportedMedia("not a readable image (bad bytes)")
        return {"phash": text}


class Dataset:
    """Media records over a real blob folder, and task contexts to run operations on them."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.blobs = BlobFolder(tmp_path / "blobs")
        self.tree = ContentTree(DictNodeStore())
        self.root = EMPTY_ROOT
        self.progress: list[tuple[int, str]] = []
        self.ticks: list[tuple[int, int]] = []  # (done, total) each time an item finishes

    def add(self, media_id: str, data: bytes, kind: str = "image", **fields: Any) -> Record:
        source = self.tmp / "files" / media_id
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_bytes(data)
        sha256, size = self.blobs.put_file(source)
        record: Record = {
            "media_id": media_id,
            "kind": kind,
            "file_name": f"{media_id}.bin",
            "blob": sha256,
            "size": size,
            "width": 1,
            "height": 1,
            "metadata": {},
            "tags": [],
            "labels": [],
            "enrichment": {},
            "cluster_id": None,
            **fields,
        }
        self.root = self.tree.update(self.root, {media_id: record})
        return record

    def context(
        self,
        task_type: str,
        params: dict[str, Any],
        *,
        status: str = "READY",
        facets: dict[str, Any] | None = None,
        root: str | None = None,
    ) -> TaskContext:
        task: TaskState = {
            "task_id": "task-1",
            "task_type": task_type,
            "created_by": "a@example.com",
            "params": params,
            "status": "RUNNING",
            "status_before": status,
            "start_time": datetime(2026, 1, 1, tzinfo=UTC),
            "claimed_by": "w1",
            "lease_until": None,
            "progress": None,
        }
        return TaskContext(
            dataset_id="d1",
            dataset_name="cats",
            content_root=root or self.root,
            facets=facets if facets is not None else {"clustered": False, "models": {}},
            task=task,
            tree=self.tree,
            progress=lambda p, m: self.progress.append((p, m)),
            observe=lambda done, total: self.ticks.append((done, total)),
        )

    def records(self, root: str) -> dict[str, Record]:
        return dict(self.tree.items(root))
