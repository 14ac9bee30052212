"""The reference service's example, end to end through HTTP against a running server."""

from __future__ import annotations

from pathlib import Path

from tests.support.client import SnapsetClient
from tests.support.media import folder_of_media, image


def test_list_create_rename_restore_oldest_brings_back_the_old_data(
    client: SnapsetClient, tmp_path: Path
) -> None:
    files = sorted(folder_of_media(tmp_path / "upload", images=3, videos=1).iterdir())
    dataset_id = client.create_dataset("birds", files=files)
    client.wait_status(dataset_id, "READY")
    old_media = client.media(dataset_id)
    [creation] = client.snapshots(dataset_id)
    assert creation["reason"] == "creation"
    assert creation["is_current"] is True
    assert (creation["n_images"], creation["n_videos"]) == (3, 1)

    target = old_media[0]["media_id"]
    client.edit_media(dataset_id, target, tags=["blurry"], metadata={"score": 0.5})
    manual = client.create_snapshot(dataset_id, name="tagged", description="after tagging")
    assert manual["snapshot_name"] == "tagged"
    assert manual["is_current"] is True
    renamed = client.edit_snapshot(dataset_id, manual["snapshot_id"], name="tagged v1")
    assert renamed["snapshot_name"] == "tagged v1"
    assert [s["snapshot_name"] for s in client.snapshots(dataset_id)] == [
        "tagged v1",
        creation["snapshot_name"],
    ]

    started = client.restore(dataset_id, creation["snapshot_id"])
    assert started["dataset_id"] == dataset_id
    while True:
        page = client.tasks(dataset_id=dataset_id, task_type="SNAPSHOT_RESTORE")
        [task] = page["tasks"]
        if task["status"] == "COMPLETED":
            break
        assert task["status"] in ("INITIALIZING", "RUNNING")

    assert client.media(dataset_id) == old_media
    listed = {s["snapshot_id"]: s for s in client.snapshots(dataset_id)}
    assert listed[creation["snapshot_id"]]["is_current"] is True
    assert manual["snapshot_id"] in listed, "later snapshots survive a restore"
    assert client.dataset(dataset_id)["status"] == "READY"


def test_clone_creates_an_independent_dataset_with_a_clone_snapshot(
    client: SnapsetClient, tmp_path: Path
) -> None:
    dataset_id = client.create_dataset("cats", files=[image(tmp_path / "a.png")])
    client.wait_status(dataset_id, "READY")
    [snapshot] = client.snapshots(dataset_id)
    started = client.clone(dataset_id, snapshot["snapshot_id"])
    task = client.wait_task(started["task_id"])
    assert task["status"] == "COMPLETED"
    clone_id = started["dataset_id"]
    clone = client.dataset(clone_id)
    assert clone["display_name"] == "cats (cloned)"
    assert clone["source_dataset_id"] == dataset_id
    [first] = client.snapshots(clone_id)
    assert first["reason"] == "clone"
    assert client.media(clone_id) == client.media(dataset_id)
    item = client.media(clone_id)[0]["media_id"]
    client.edit_media(clone_id, item, tags=["only-in-clone"])
    assert client.media(dataset_id)[0]["tags"] == []
