"""n_objects follows the labels of the current content; refused uploads leave nothing behind."""

from __future__ import annotations

from pathlib import Path

from tests.e2e import helpers
from tests.support.client import SnapsetClient
from tests.support.media import image
from tests.support.server import ServerProcess

no_server_errors = helpers.no_server_errors


def test_n_objects_counts_labels_and_a_restore_brings_the_old_count_back(
    client: SnapsetClient, tmp_path: Path
) -> None:
    files = [image(tmp_path / "a.png"), image(tmp_path / "b.png", 20, 20)]
    dataset_id = client.create_dataset("labelled", files=files)
    client.wait_status(dataset_id, "READY")
    [creation] = client.snapshots(dataset_id)
    assert client.dataset(dataset_id)["n_objects"] == 0
    first, second = (m["media_id"] for m in client.media(dataset_id))
    client.edit_media(
        dataset_id,
        first,
        labels=[{"class_name": "cat"}, {"class_name": "dog", "bbox": [0, 0, 4, 4]}],
    )
    client.edit_media(dataset_id, second, labels=[{"class_name": "cat"}])
    assert client.dataset(dataset_id)["n_objects"] == 3

    client.wait_task(client.restore(dataset_id, creation["snapshot_id"])["task_id"])
    assert client.dataset(dataset_id)["n_objects"] == 0


def test_an_upload_refused_with_409_leaves_no_staged_files(
    client: SnapsetClient, server: ServerProcess, tmp_path: Path
) -> None:
    draft = client.create_dataset("draft")  # no source: DRAFT, which refuses media addition
    response = client.request(
        "POST",
        f"/dataset/{draft}/media",
        files=[("files", ("a.png", image(tmp_path / "a.png").read_bytes()))],
    )
    assert response.status_code == 409
    staging = server.data_dir / "staging"
    assert not staging.exists() or list(staging.iterdir()) == []
