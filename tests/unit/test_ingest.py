"""Ingest on fakes: files become records, zips are read safely, ids are deterministic."""

from __future__ import annotations

import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid5

import pytest

from application.operations import ingest as ingest_module
from application.operations.base import OperationFailed, Outcome, TaskContext
from application.operations.ingest import Ingest, MediaAddition
from domain.content_tree import EMPTY_ROOT, ContentTree, Record
from domain.ids import NAMESPACE
from domain.status import Status
from domain.tasks import CREATION, TaskState
from tests.unit.fakes import DictNodeStore, FakeBlobStore, FakeProbe, FakeStaging


class Setup:
    def __init__(self, tmp_path: Path) -> None:
        self.imports = tmp_path / "imports"
        self.imports.mkdir(parents=True)
        self.blobs = FakeBlobStore()
        self.staging = FakeStaging(tmp_path / "staging")
        self.tree = ContentTree(DictNodeStore())
        self.progress: list[tuple[int, str]] = []

    def ingest(self, cls: type[Ingest] = Ingest) -> Ingest:
        return cls(self.blobs, FakeProbe(), self.staging, self.imports)

    def context(
        self,
        params: dict[str, Any],
        task_id: str = "task-1",
        *,
        root: str = EMPTY_ROOT,
        clustered: bool = False,
    ) -> TaskContext:
        task: TaskState = {
            "task_id": task_id,
            "task_type": CREATION,
            "created_by": "a@example.com",
            "params": params,
            "status": "RUNNING",
            "status_before": "DRAFT",
            "start_time": datetime(2026, 1, 1, tzinfo=UTC),
            "claimed_by": "w1",
            "lease_until": None,
            "progress": None,
        }
        return TaskContext(
            dataset_id="d1",
            dataset_name="cats",
            content_root=root,
            facets={"clustered": clustered},
            task=task,
            tree=self.tree,
            progress=lambda p, m: self.progress.append((p, m)),
        )

    def run_folder(self, folder: Path, task_id: str = "task-1") -> Outcome:
        return self.ingest().run(self.context({"source": "path", "path": str(folder)}, task_id))

    def records(self, outcome: Outcome) -> dict[str, Record]:
        return dict(self.tree.items(outcome.root))

    def names(self, outcome: Outcome) -> list[str]:
        return sorted(r["file_name"] for r in self.records(outcome).values())


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path)


def write(path: Path, data: bytes = b"image-bytes") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def zip_with(
    path: Path,
    members: list[tuple[str | zipfile.ZipInfo, bytes]],
    compression: int = zipfile.ZIP_STORED,
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return path


def no_file_named(name: str, *roots: Path) -> bool:
    return (
        not any(any(root.rglob(name)) for root in roots)
        and not (Path(tempfile.gettempdir()) / name).exists()
    )


# Files.


def test_images_and_videos_become_records_with_their_blob_and_size(setup: Setup) -> None:
    folder = setup.imports / "cats"
    write(folder / "a.png", b"12345")
    write(folder / "sub" / "b.JPG", b"123")
    write(folder / "clip.mp4", b"video")
    outcome = setup.run_folder(folder)
    records = {r["file_name"]: r for r in setup.records(outcome).values()}
    assert sorted(records) == ["a.png", "clip.mp4", "sub/b.JPG"]
    assert (records["a.png"]["kind"], records["a.png"]["width"], records["a.png"]["size"]) == (
        "image",
        5,
        5,
    )
    clip = records["clip.mp4"]
    assert (clip["kind"], clip["width"], clip["height"], clip["duration"]) == ("video", 5, 2, 1.5)
    assert setup.blobs.blobs[records["sub/b.JPG"]["blob"]] == b"123"
    assert outcome.status == Status.READY
    assert outcome.message == "Ingested 3 media (2 images, 1 videos)."
    assert setup.tree.counts(outcome.root).items == 3


def test_unsupported_and_unreadable_files_are_skipped_and_counted_in_the_message(
    setup: Setup,
) -> None:
    folder = setup.imports / "cats"
    write(folder / "a.png")
    write(folder / "notes.txt", b"hello")
    write(folder / "README", b"hello")
    write(folder / "broken.png", b"bad bytes")
    write(folder / "broken.mp4", b"bad video")
    outcome = setup.run_folder(folder)
    assert setup.names(outcome) == ["a.png"]
    assert outcome.message.startswith("Ingested 1 media (1 images, 0 videos). Skipped 4 files: ")
    assert "broken.mp4: not a readable video" in outcome.message
    assert "notes.txt: unsupported file type .txt" in outcome.message
    assert "README: unsupported file type (none)" in outcome.message
    assert "broken.png: not a readable image" in outcome.message


def test_a_source_without_supported_files_fails_the_operation(setup: Setup) -> None:
    folder = setup.imports / "cats"
    write(folder / "notes.txt")
    with pytest.raises(OperationFailed, match=r"No supported images or videos.*Skipped 1 files"):
        setup.run_folder(folder)
    (setup.imports / "empty").mkdir()
    with pytest.raises(OperationFailed, match="The source has no files"):
        setup.run_folder(setup.imports / "empty")


def test_a_source_folder_outside_the_import_root_is_refused(setup: Setup, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside / "a.png")
    (setup.imports / "link").symlink_to(outside, target_is_directory=True)
    for path in (outside, setup.imports / ".." / "outside", setup.imports / "link"):
        with pytest.raises(OperationFailed, match="outside the import root"):
            setup.run_folder(path)
    assert setup.blobs.blobs == {}


def test_an_uploaded_source_is_read_from_staging_and_removed_after_publication(
    setup: Setup,
) -> None:
    write(setup.staging.folder("upload-1") / "a.png")
    ingest = setup.ingest()
    outcome = ingest.run(setup.context({"source": "upload", "task_id": "upload-1"}))
    assert setup.names(outcome) == ["a.png"]
    assert setup.staging.removed == []
    for cleanup in outcome.cleanup:
        cleanup()
    assert setup.staging.removed == ["task-1"]


@pytest.mark.parametrize(
    ("clustered", "status"),
    [
        (False, Status.READY),
        (True, Status.PARTIAL_INDEX),
    ],
)
def test_media_addition_adds_to_the_content_and_ends_partial_index_only_when_clustered(
    setup: Setup,
    clustered: bool,
    status: Status,
) -> None:
    first = setup.run_folder(write(setup.imports / "one" / "a.png").parent)
    folder = setup.imports / "two"
    write(folder / "b.png")
    params = {"source": "path", "path": str(folder)}
    outcome = setup.ingest(MediaAddition).run(
        setup.context(params, "task-2", root=first.root, clustered=clustered)
    )
    assert setup.names(outcome) == ["a.png", "b.png"]
    assert outcome.status == status


# Deterministic media ids.


def test_the_same_task_and_files_give_the_same_root_twice(tmp_path: Path) -> None:
    roots = []
    for attempt in ("first", "second"):
        setup = Setup(tmp_path / attempt)
        folder = setup.imports / "cats"
        write(folder / "a.png", b"aaa")
        write(folder / "clip.mp4", b"vvv")
        zip_with(folder / "more.zip", [("c.png", b"ccc")])
        roots.append(setup.run_folder(folder, task_id="task-1").root)
    assert roots[0] == roots[1]

    again = Setup(tmp_path / "other-task")
    write(again.imports / "cats" / "a.png", b"aaa")
    write(again.imports / "cats" / "clip.mp4", b"vvv")
    zip_with(again.imports / "cats" / "more.zip", [("c.png", b"ccc")])
    assert again.run_folder(again.imports / "cats", task_id="task-2").root != roots[0]


def test_a_media_id_is_a_uuid5_of_the_task_and_the_file_path(setup: Setup) -> None:
    folder = setup.imports / "cats"
    write(folder / "sub" / "a.png")
    outcome = setup.run_folder(folder, task_id="task-9")
    [(media_id, record)] = setup.records(outcome).items()
    assert media_id == record["media_id"] == str(uuid5(NAMESPACE, "media:task-9:sub/a.png"))


# Zips.


def test_a_zip_is_read_member_by_member(setup: Setup) -> None:
    folder = setup.imports / "cats"
    zip_with(folder / "pics.zip", [("a.png", b"a"), ("dir/b.mp4", b"b"), ("dir/", b"")])
    outcome = setup.run_folder(folder)
    assert setup.names(outcome) == ["pics.zip/a.png", "pics.zip/dir/b.mp4"]
    assert outcome.message == "Ingested 2 media (1 images, 1 videos)."


def symlink_member() -> zipfile.ZipInfo:
    info = zipfile.ZipInfo("link.png")
    info.external_attr = 0o120777 << 16
    return info


UNSAFE_ZIPS: dict[str, tuple[list[tuple[str | zipfile.ZipInfo, bytes]], str]] = {
    "zip slip": ([("ok.png", b"ok"), ("../evil.png", b"x")], "escapes the archive"),
    "deep zip slip": ([("a/../../evil.png", b"x")], "escapes the archive"),
    "backslash slip": ([("..\\evil.png", b"x")], "escapes the archive"),
    "absolute path": ([("ok.png", b"ok"), ("/tmp/evil.png", b"x")], "escapes the archive"),
    "symlink": ([("ok.png", b"ok"), (symlink_member(), b"/etc/passwd")], "symbolic link"),
}


@pytest.mark.parametrize("case", UNSAFE_ZIPS.values(), ids=UNSAFE_ZIPS.keys())
def test_an_unsafe_zip_is_an_item_error_and_nothing_is_extracted_from_it(
    setup: Setup, tmp_path: Path, case: tuple[list[tuple[str | zipfile.ZipInfo, bytes]], str]
) -> None:
    members, why = case
    folder = setup.imports / "cats" / "in"
    write(folder / "good.png")
    zip_with(folder / "pics.zip", members)
    outcome = setup.run_folder(folder)
    assert setup.names(outcome) == ["good.png"]
    assert "Skipped 1 files: pics.zip: unreadable zip archive (" in outcome.message
    assert why in outcome.message
    assert no_file_named("evil.png", tmp_path)
    assert no_file_named("link.png", tmp_path)
    assert len(setup.blobs.blobs) == 1


def test_a_zip_with_too_many_members_is_an_item_error(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_module, "MAX_ZIP_MEMBERS", 3)
    folder = setup.imports / "cats"
    zip_with(folder / "three.zip", [(f"{i}.png", b"x") for i in range(3)])
    zip_with(folder / "four.zip", [(f"{i}.png", b"x") for i in range(4)])
    outcome = setup.run_folder(folder)
    assert setup.names(outcome) == [f"three.zip/{i}.png" for i in range(3)]
    assert "four.zip: unreadable zip archive (it has more than 3 files)" in outcome.message


def test_a_zip_bomb_is_an_item_error(setup: Setup) -> None:
    folder = setup.imports / "cats"
    write(folder / "good.png")
    bomb = zip_with(folder / "bomb.zip", [("zeros.png", bytes(3 << 20))], zipfile.ZIP_DEFLATED)
    assert bomb.stat().st_size * 200 + (1 << 20) < 3 << 20  # the ratio is over the limit
    outcome = setup.run_folder(folder)
    assert setup.names(outcome) == ["good.png"]
    assert "bomb.zip: unreadable zip archive (it expands to too much data" in outcome.message


def test_a_corrupt_zip_is_an_item_error(setup: Setup) -> None:
    folder = setup.imports / "cats"
    write(folder / "good.png")
    write(folder / "broken.zip", b"PK\x03\x04 not really a zip")
    outcome = setup.run_folder(folder)
    assert setup.names(outcome) == ["good.png"]
    assert "broken.zip: unreadable zip archive" in outcome.message
