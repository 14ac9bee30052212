"""The export operation on fakes: the archive holds exactly the version's records, sorted,
media under safe unique names with their original bytes, and appears only when complete."""

from __future__ import annotations

import hashlib
import json
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.export_folder import ExportFolder
from application.operations.base import TaskContext
from application.operations.export import Export, media_path
from domain.content_tree import ContentTree, Record
from domain.tasks import EXPORT, TaskState
from tests.unit.fakes import DictNodeStore, FakeBlobStore

TASK_ID = "0b7c8f7e-1111-4222-8333-444455556666"


class Setup:
    def __init__(self, tmp_path: Path) -> None:
        self.blobs = FakeBlobStore()
        self.tree = ContentTree(DictNodeStore())
        self.folder = ExportFolder(tmp_path / "exports")
        self.progress: list[tuple[int, str]] = []
        self.observed: list[tuple[int, int]] = []

    def record(self, media_id: str, file_name: str, data: bytes, **extra: Any) -> Record:
        sha256 = hashlib.sha256(data).hexdigest()
        self.blobs.blobs[sha256] = data
        return {
            "media_id": media_id,
            "kind": "image",
            "file_name": file_name,
            "blob": sha256,
            "size": len(data),
            "width": 1,
            "height": 1,
            "metadata": {},
            "tags": [],
            "labels": [],
            "enrichment": {},
            "cluster_id": None,
            **extra,
        }

    def context(
        self,
        root: str,
        *,
        include_media: bool,
        snapshot_id: str | None = None,
        facets: dict[str, Any] | None = None,
    ) -> TaskContext:
        params: dict[str, Any] = {
            "root": root,
            "snapshot_id": snapshot_id,
            "include_media": include_media,
        }
        if facets is not None:
            params["facets"] = facets
        task: TaskState = {
            "task_id": TASK_ID,
            "task_type": EXPORT,
            "created_by": "v@example.com",
            "params": params,
            "status": "RUNNING",
            "status_before": "READY",
            "start_time": datetime(2026, 1, 1, tzinfo=UTC),
            "claimed_by": "w1",
            "lease_until": None,
            "progress": None,
        }
        return TaskContext(
            dataset_id="d1",
            dataset_name="pets",
            content_root="not-this-root",
            facets={"clustered": False, "models": {}, "schema": {}},
            task=task,
            tree=self.tree,
            progress=lambda p, m: self.progress.append((p, m)),
            observe=lambda done, total: self.observed.append((done, total)),
        )

    def export(self, context: TaskContext) -> tuple[dict[str, Any], zipfile.ZipFile]:
        outcome = Export(self.blobs, self.folder).run(context)
        assert outcome.report is not None
        return outcome.report, zipfile.ZipFile(self.folder.path(TASK_ID))


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path)


def test_metadata_holds_every_record_sorted_by_file_name_then_media_id(setup: Setup) -> None:
    records = [
        setup.record("m3", "b/z.png", b"three", tags=["x"]),
        setup.record("m1", "a.png", b"one"),
        setup.record("m4", "same.png", b"four"),
        setup.record("m2", "same.png", b"two", metadata={"k": 1}),
    ]
    root = setup.tree.build((r["media_id"], r) for r in records)
    report, archive = setup.export(setup.context(root, include_media=False))

    assert archive.namelist() == ["metadata.json"]
    metadata = json.loads(archive.read("metadata.json"))
    expected = sorted(records, key=lambda r: (r["file_name"], r["media_id"]))
    assert metadata["items"] == expected
    assert [r["media_id"] for r in metadata["items"]] == ["m1", "m3", "m2", "m4"]
    assert "media" not in metadata
    assert metadata["dataset"] == {
        "id": "d1",
        "name": "pets",
        "snapshot_id": "current",
        "include_media": False,
        "counts": {"items": 4, "images": 4, "videos": 0, "objects": 0},
        "facets": {"clustered": False, "models": {}, "schema": {}},
    }
    size = setup.folder.path(TASK_ID).stat().st_size
    assert report == {
        "download_uri": f"/api/v1/dataset/d1/export/{TASK_ID}/download",
        "items": 4,
        "media_files": 0,
        "bytes": size,
        "error_count": 0,
        "errors": [],
    }


def test_media_are_stored_by_id_with_their_bytes_so_equal_names_cannot_clash(
    setup: Setup,
) -> None:
    records = [
        setup.record("m1", "dir/same.PNG", b"first"),
        setup.record("m2", "other/same.PNG", b"second"),
        setup.record("m3", "noext", b"third"),
    ]
    root = setup.tree.build((r["media_id"], r) for r in records)
    report, archive = setup.export(
        setup.context(root, include_media=True, snapshot_id="s9", facets={"clustered": True})
    )

    metadata = json.loads(archive.read("metadata.json"))
    assert metadata["media"] == {"m1": "media/m1.PNG", "m2": "media/m2.PNG", "m3": "media/m3"}
    assert archive.read("media/m1.PNG") == b"first"
    assert archive.read("media/m2.PNG") == b"second"
    assert archive.read("media/m3") == b"third"
    assert (metadata["dataset"]["snapshot_id"], metadata["dataset"]["facets"]) == (
        "s9",
        {"clustered": True},
    )
    assert (report["items"], report["media_files"], report["error_count"]) == (3, 3, 0)
    assert setup.observed[-1] == (6, 6), "reading and writing each item are counted"


def test_the_root_comes_from_the_params_not_the_current_content(setup: Setup) -> None:
    old = setup.tree.build([("m1", setup.record("m1", "a.png", b"a"))])
    setup.tree.update(old, {"m2": setup.record("m2", "b.png", b"b")})
    _, archive = setup.export(setup.context(old, include_media=False))
    assert [r["media_id"] for r in json.loads(archive.read("metadata.json"))["items"]] == ["m1"]


def test_a_missing_media_file_is_reported_and_the_rest_exported(setup: Setup) -> None:
    records = [setup.record("m1", "a.png", b"kept"), setup.record("m2", "b.png", b"lost")]
    del setup.blobs.blobs[records[1]["blob"]]
    root = setup.tree.build((r["media_id"], r) for r in records)
    report, archive = setup.export(setup.context(root, include_media=True))
    assert archive.namelist() == ["media/m1.png", "metadata.json"]
    assert json.loads(archive.read("metadata.json"))["media"] == {"m1": "media/m1.png"}
    assert (report["media_files"], report["error_count"]) == (1, 1)
    assert report["errors"] == ["b.png (m2): media file missing"]


@pytest.mark.parametrize(
    ("media_id", "file_name", "path"),
    [
        ("../../etc/passwd", "x.png", "media/______etc_passwd.png"),
        ("m1", "../evil.png/..", "media/m1"),
        ("m1", "a.p/ng", "media/m1"),
        ("m1", "a.tar.gz", "media/m1.gz"),
    ],
)
def test_media_paths_never_leave_the_media_folder(media_id: str, file_name: str, path: str) -> None:
    assert media_path(media_id, file_name) == path


def test_nothing_appears_under_the_final_name_when_writing_fails(
    setup: Setup, tmp_path: Path
) -> None:
    def killed_halfway() -> None:
        with setup.folder.create(TASK_ID) as out:
            out.write(b"half an archive")
            raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError, match="worker killed"):
        killed_halfway()
    assert list((tmp_path / "exports").iterdir()) == []
    with setup.folder.create(TASK_ID) as out:
        out.write(b"whole")
    assert setup.folder.path(TASK_ID).read_bytes() == b"whole"
    assert [p.name for p in (tmp_path / "exports").iterdir()] == [f"{TASK_ID}.zip"]


def test_half_archives_a_killed_worker_left_are_swept_once_their_task_is_over(
    setup: Setup, tmp_path: Path
) -> None:
    other = "0f0e0d0c-0b0a-4908-8706-050403020100"
    stuck = [setup.folder.create(task_id) for task_id in (TASK_ID, other)]
    for writing in stuck:  # entered, never left: the worker was killed while writing
        writing.__enter__().write(b"half")
    assert len(list((tmp_path / "exports").glob(".partial-*"))) == 2

    assert setup.folder.sweep({TASK_ID}, written_before=time.time() - 3600) == 0
    assert setup.folder.sweep({TASK_ID}, written_before=time.time() + 1) == 1

    left = [p.name for p in (tmp_path / "exports").iterdir()]
    assert len(left) == 1
    assert left[0].startswith(f".partial-{TASK_ID}-")
