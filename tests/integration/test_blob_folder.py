"""The content-addressed blob folder."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from adapters.runtime import Runtime
from adapters.storage import blobs as blobs_module
from adapters.storage.blobs import BlobFolder
from application.actor import Actor
from tests.integration.helpers import ingested


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_a_blob_is_stored_under_its_sha256(tmp_path: Path) -> None:
    blobs = BlobFolder(tmp_path / "blobs")
    source = tmp_path / "a.bin"
    source.write_bytes(b"some media bytes")

    sha256, size = blobs.put_file(source)

    assert sha256 == hashlib.sha256(b"some media bytes").hexdigest()
    assert size == len(b"some media bytes")
    assert blobs.path(sha256) == tmp_path / "blobs" / sha256[:2] / sha256[2:]
    assert blobs.exists(sha256)
    with blobs.open(sha256) as f:
        assert f.read() == b"some media bytes"


def test_the_same_bytes_from_two_files_are_stored_once(tmp_path: Path) -> None:
    blobs = BlobFolder(tmp_path / "blobs")
    first, second, other = tmp_path / "1.bin", tmp_path / "2.bin", tmp_path / "3.bin"
    first.write_bytes(b"identical")
    second.write_bytes(b"identical")
    other.write_bytes(b"different")

    a, _ = blobs.put_file(first)
    b, _ = blobs.put_file(second)
    c, _ = blobs.put_file(other)

    assert a == b != c
    assert stored_files(tmp_path / "blobs") == sorted([blobs.path(a), blobs.path(c)])


def test_a_batch_makes_its_blobs_visible_only_when_it_ends(tmp_path: Path) -> None:
    blobs = BlobFolder(tmp_path / "blobs")
    sources = []
    for number, data in enumerate([b"one", b"two", b"one"]):
        sources.append(tmp_path / f"{number}.bin")
        sources[-1].write_bytes(data)

    with blobs.batch("task-1") as batch:
        stored = [batch.put_file(source) for source in sources]
        assert not any(blobs.exists(sha256) for sha256, _ in stored)

    assert [size for _, size in stored] == [3, 3, 3]
    assert stored[0][0] == stored[2][0] == hashlib.sha256(b"one").hexdigest()
    assert stored_files(tmp_path / "blobs") == sorted({blobs.path(sha256) for sha256, _ in stored})
    assert list((tmp_path / "blobs" / ".incoming").iterdir()) == []


def test_a_batch_larger_than_a_block_commits_every_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blobs_module, "_BLOCK", 2)
    blobs = BlobFolder(tmp_path / "blobs")
    sources = []
    for number in range(7):
        sources.append(tmp_path / f"{number}.bin")
        sources[-1].write_bytes(b"file %d" % (number % 5))  # two repeat earlier ones

    with blobs.batch("task-1") as batch:
        stored = {batch.put_file(source)[0] for source in sources}

    assert len(stored) == 5
    assert stored_files(tmp_path / "blobs") == sorted(blobs.path(sha256) for sha256 in stored)
    assert list((tmp_path / "blobs" / ".incoming").iterdir()) == []


@pytest.mark.parametrize("syncfs", [True, False], ids=["syncfs", "fsync-each"])
def test_small_and_large_files_are_stored_whole_and_synced_before_they_show(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, syncfs: bool
) -> None:
    monkeypatch.setattr(blobs_module, "_SMALL", 16)  # larger files are copied in a stream
    synced: list[str] = []
    if syncfs:
        assert blobs_module._SYNCFS is not None, "this Linux has syncfs(2)"
        real = blobs_module._SYNCFS

        def recording_syncfs(fd: int) -> int:
            synced.append("filesystem")
            return real(fd)

        monkeypatch.setattr(blobs_module, "_SYNCFS", recording_syncfs)
    else:
        monkeypatch.setattr(blobs_module, "_SYNCFS", None)
        real_fsync = blobs_module._fsync_file

        def recording_fsync(path: Path) -> None:
            synced.append(path.name)
            real_fsync(path)

        monkeypatch.setattr(blobs_module, "_fsync_file", recording_fsync)
    blobs = BlobFolder(tmp_path / "blobs")
    contents = [b"tiny", b"exactly 16 bytes", b"seventeen bytes!!", b"x" * 100_000, b"tiny"]
    sources = []
    for number, data in enumerate(contents):
        sources.append(tmp_path / f"{number}.bin")
        sources[-1].write_bytes(data)

    with blobs.batch("task-1") as batch:
        stored = [batch.put_file(source) for source in sources]
        assert synced == []

    assert stored == [(hashlib.sha256(data).hexdigest(), len(data)) for data in contents]
    for (sha256, _), data in zip(stored, contents, strict=True):
        assert blobs.path(sha256).read_bytes() == data
    assert len(stored_files(tmp_path / "blobs")) == 4
    assert list((tmp_path / "blobs" / ".incoming").iterdir()) == []
    if syncfs:
        assert synced == ["filesystem", "filesystem"]  # the files, then their new names
    else:
        assert sorted(synced) == sorted({sha256 for sha256, _ in stored})


def test_a_retried_task_publishes_only_what_it_wrote_itself(tmp_path: Path) -> None:
    blobs = BlobFolder(tmp_path / "blobs")
    first, second = tmp_path / "first.bin", tmp_path / "second.bin"
    first.write_bytes(b"written by the killed attempt")
    second.write_bytes(b"written by the retry")
    killed = blobs.batch("task-1")
    left_behind = killed.__enter__().put_file(first)[0]  # the process died here

    with blobs.batch("task-1") as retry:
        written = retry.put_file(second)[0]

    assert blobs.exists(written)
    assert not blobs.exists(left_behind)
    assert blobs.sweep(set(), written_before=time.time() + 1) == 1
    assert stored_files(tmp_path / "blobs") == [blobs.path(written)]


def test_a_batch_that_fails_leaves_no_blob_and_no_temporary_file(tmp_path: Path) -> None:
    blobs = BlobFolder(tmp_path / "blobs")
    source = tmp_path / "a.bin"
    source.write_bytes(b"half an ingest")

    stored: list[str] = []

    def failing_ingest() -> None:
        with blobs.batch("task-1") as batch:
            stored.append(batch.put_file(source)[0])
            raise RuntimeError("the task failed")

    with pytest.raises(RuntimeError):
        failing_ingest()

    assert not blobs.exists(stored[0])
    assert stored_files(tmp_path / "blobs") == []


def test_blobs_a_killed_task_left_waiting_are_swept_once_the_task_is_over(tmp_path: Path) -> None:
    blobs = BlobFolder(tmp_path / "blobs")
    source = tmp_path / "a.bin"
    source.write_bytes(b"killed mid-ingest")
    stuck = [blobs.batch(owner) for owner in ("dead-task", "running-task")]
    for batch in stuck:  # entered, never left: the process was killed mid-batch
        batch.__enter__().put_file(source)

    assert blobs.sweep({"running-task"}, written_before=time.time() - 3600) == 0
    assert blobs.sweep({"running-task"}, written_before=time.time() + 1) == 1

    waiting = [p.parents[2].name for p in stored_files(tmp_path / "blobs")]
    assert waiting == ["running-task"]  # in a fan-out folder of its batch, inside its task's


def test_an_unknown_blob_does_not_exist(tmp_path: Path) -> None:
    blobs = BlobFolder(tmp_path / "blobs")

    assert not blobs.exists(hashlib.sha256(b"never stored").hexdigest())


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "",
        "abc",
        "A" * 64,
        "g" * 64,
        "0" * 63,
        "0" * 65,
        "/" + "0" * 63,
        "0" * 62 + "/.",
        "0" * 64 + "\n",
    ],
)
def test_path_rejects_names_that_are_not_sha256_hex(tmp_path: Path, name: str) -> None:
    blobs = BlobFolder(tmp_path / "blobs")

    with pytest.raises(ValueError, match="sha256"):
        blobs.path(name)


def test_ingesting_the_same_media_twice_stores_each_blob_once(
    runtime: Runtime, alice: Actor
) -> None:
    first = ingested(runtime, alice, "first", images=3, videos=1)
    second = ingested(runtime, alice, "second", images=3, videos=1)

    blob_root = runtime.backend.settings.data_dir / "blobs"
    hashes = {
        r["blob"]
        for d in (first, second)
        for _, r in runtime.app.tree.items(runtime.app.get_dataset(alice, d).current["root"])
    }
    assert len(hashes) == 4
    assert stored_files(blob_root) == sorted(runtime.backend.blobs.path(h) for h in hashes)
