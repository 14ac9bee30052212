"""Idempotency-Key over HTTP: a repeated request with the same key does the work once."""

from __future__ import annotations

from pathlib import Path

from tests.e2e import helpers
from tests.e2e.helpers import finish, imports_root
from tests.support.client import SnapsetClient
from tests.support.media import folder_of_media
from tests.support.server import ServerProcess

no_server_errors = helpers.no_server_errors


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


def test_a_repeated_dataset_creation_makes_one_dataset_and_one_task(
    server: ServerProcess, client: SnapsetClient, other_user: SnapsetClient
) -> None:
    folder_of_media(imports_root(server) / "set", images=2, videos=0)
    body = {"dataset_name": "once", "source_path": "set"}
    first = client.ok("POST", "/dataset", json=body, headers=key("create-1"))
    second = client.ok("POST", "/dataset", json=body, headers=key("create-1"))
    assert first == second
    dataset_id = first["dataset_id"]
    client.wait_status(dataset_id, "READY")
    third = client.ok("POST", "/dataset", json=body, headers=key("create-1"))
    assert third == first, "the same key after completion still names the same dataset"
    assert [d["id"] for d in client.ok("GET", "/datasets")["datasets"]] == [dataset_id]
    assert client.tasks(task_type="DATASET_CREATION")["total"] == 1
    assert client.dataset(dataset_id)["n_images"] == 2

    other_key = client.ok("POST", "/dataset", json=body, headers=key("create-2"))
    assert other_key["dataset_id"] != dataset_id
    theirs = other_user.ok(
        "POST", "/dataset", json={"dataset_name": "theirs"}, headers=key("create-1")
    )
    assert theirs["dataset_id"] not in (dataset_id, other_key["dataset_id"]), "keys are per user"
    assert other_user.dataset(theirs["dataset_id"])["display_name"] == "theirs"
    assert client.ok("GET", "/datasets")["total"] == 3


def test_repeated_snapshot_restore_and_clone_requests_do_the_work_once(
    client: SnapsetClient, tmp_path: Path
) -> None:
    dataset_id = helpers.ready_dataset(client, tmp_path / "media", "keyed")
    [creation] = client.snapshots(dataset_id)
    base = f"/dataset/{dataset_id}/snapshot"

    made = client.ok("POST", base, json={"name": "kept"}, headers=key("snap-1"))
    again = client.ok("POST", base, json={"name": "kept"}, headers=key("snap-1"))
    assert again["snapshot_id"] == made["snapshot_id"]
    assert again["snapshot_name"] == "kept"
    assert len(client.snapshots(dataset_id)) == 2
    unkeyed = client.ok("POST", base, json={"name": "kept"})
    assert unkeyed["snapshot_id"] != made["snapshot_id"]
    assert len(client.snapshots(dataset_id)) == 3

    restore = f"{base}/{creation['snapshot_id']}/restore"
    first = client.request("POST", restore, headers=key("restore-1"))
    second = client.request("POST", restore, headers=key("restore-1"))
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    assert first.headers["location"] == second.headers["location"]
    finish(client, first.json())
    third = client.request("POST", restore, headers=key("restore-1"))
    assert (third.status_code, third.json()) == (202, first.json())
    restores = client.tasks(task_type="SNAPSHOT_RESTORE")["tasks"]
    assert [t["task_id"] for t in restores] == [first.json()["task_id"]]

    clone = f"{base}/{creation['snapshot_id']}/clone"
    one = client.request("POST", clone, headers=key("clone-1"))
    two = client.request("POST", clone, headers=key("clone-1"))
    assert one.status_code == two.status_code == 202
    assert one.json() == two.json()
    finish(client, one.json())
    three = client.request("POST", clone, headers=key("clone-1"))
    assert three.json() == one.json()
    clones = client.tasks(task_type="SNAPSHOT_CLONE")["tasks"]
    assert [t["dataset_id"] for t in clones] == [one.json()["dataset_id"]]
    names = [d["display_name"] for d in client.ok("GET", "/datasets")["datasets"]]
    assert sorted(names) == ["keyed", "keyed (cloned)"]
    assert len(client.snapshots(one.json()["dataset_id"])) == 1
