"""While a task waits for a worker: the dataset's status, what is refused (409), what still
reads, aborting, retrying, and a worker started later finishing the queue.

These run against an API-only server with a separate projector process and a worker the test
starts and stops, so a task stays pending for exactly as long as the test needs.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e import helpers
from tests.e2e.helpers import Deployment, finish, only, problem, ready_dataset
from tests.support.client import SnapsetClient
from tests.support.media import image

no_server_errors = helpers.no_server_errors
deployment = helpers.deployment


def test_a_pending_restore_makes_the_dataset_read_only_and_blocks_other_operations(
    deployment: Deployment, tmp_path: Path
) -> None:
    client = SnapsetClient(
        deployment.server.base_url, deployment.server.api_key, deployment.server.api_secret
    )
    try:
        deployment.start("worker")
        dataset_id = ready_dataset(client, tmp_path / "media", "busy", images=2)
        [creation] = client.snapshots(dataset_id)
        target = client.media(dataset_id)[0]["media_id"]
        original = client.media(dataset_id)
        client.edit_media(dataset_id, target, tags=["edited"])
        second = client.create_snapshot(dataset_id, name="second")
        edited = client.media(dataset_id)
        deployment.stop("worker")

        started = client.restore(dataset_id, creation["snapshot_id"])
        dataset = client.dataset(dataset_id)
        assert (dataset["status"], dataset["status_new"]) == ("READ ONLY", "READ ONLY")
        listed = {s["snapshot_id"]: s for s in client.snapshots(dataset_id)}
        assert len(listed) == 2, "no automatic snapshot: nothing changed since 'second'"
        assert listed[creation["snapshot_id"]]["is_restoring"] is True
        assert listed[second["snapshot_id"]]["is_restoring"] is False
        assert listed[second["snapshot_id"]]["is_current"] is True
        task = client.ok("GET", f"/tasks/{started['task_id']}")
        assert (task["status"], task["end_time"], task["error_message"]) == (
            "INITIALIZING",
            None,
            None,
        )
        assert task["dataset_status"] == "READ_ONLY"
        assert [t["task_id"] for t in client.tasks(task_status="INITIALIZING")["tasks"]] == [
            started["task_id"]
        ]

        base = f"/dataset/{dataset_id}/snapshot"
        problem(client.request("POST", f"{base}/{second['snapshot_id']}/restore"), 409)
        problem(client.request("POST", f"{base}/{creation['snapshot_id']}/restore"), 409)
        problem(client.request("POST", f"{base}/current/restore"), 409)
        problem(client.request("POST", f"{base}/{second['snapshot_id']}/clone"), 409)
        problem(client.request("POST", base, json={"name": "during"}), 409)
        problem(client.request("DELETE", f"{base}/{creation['snapshot_id']}"), 409)
        problem(
            client.request(
                "PATCH", f"/dataset/{dataset_id}/media/{target}", json={"tags": ["during"]}
            ),
            409,
        )
        assert client.media(dataset_id) == edited, "reads show the data from before"
        assert client.ok("GET", "/datasets")["datasets"][0]["status"] == "READ ONLY"

        aborted = client.ok("POST", f"/tasks/{started['task_id']}/abort")
        assert aborted["status"] == "ABORTED"
        assert helpers.ZULU.match(aborted["end_time"])
        assert client.dataset(dataset_id)["status"] == "READY"
        assert not any(s["is_restoring"] for s in client.snapshots(dataset_id))
        assert (
            only(client.snapshots(dataset_id), is_current=True)["snapshot_id"]
            == second["snapshot_id"]
        )
        assert client.media(dataset_id) == edited
        problem(client.request("POST", f"/tasks/{started['task_id']}/abort"), 409)
        problem(client.request("POST", f"/tasks/{started['task_id']}/retry"), 400)

        # A pending clone does not block its source, except for a restore.
        cloning = client.clone(dataset_id, second["snapshot_id"])
        clone = client.dataset(cloning["dataset_id"])
        assert (clone["status"], clone["display_name"]) == ("INDEXING", "busy (cloned)")
        assert client.dataset(dataset_id)["status"] == "READY"
        problem(client.request("POST", f"{base}/{creation['snapshot_id']}/restore"), 409)
        assert client.create_snapshot(dataset_id, name="meanwhile")["is_current"] is True
        deployment.start("worker")
        finish(client, cloning)
        assert client.media(cloning["dataset_id"]) == edited

        again = client.restore(dataset_id, creation["snapshot_id"])
        assert again["task_id"] != started["task_id"]
        finish(client, again)
        assert client.media(dataset_id) == original
        assert (
            only(client.snapshots(dataset_id), is_current=True)["snapshot_id"]
            == creation["snapshot_id"]
        )
        statuses = {
            t["task_id"]: t["status"] for t in client.tasks(task_type="SNAPSHOT_RESTORE")["tasks"]
        }
        assert statuses == {started["task_id"]: "ABORTED", again["task_id"]: "COMPLETED"}
    finally:
        client.close()


def test_a_pending_creation_is_indexing_and_can_be_aborted_and_retried(
    deployment: Deployment, tmp_path: Path
) -> None:
    client = SnapsetClient(
        deployment.server.base_url, deployment.server.api_key, deployment.server.api_secret
    )
    try:
        dataset_id = client.create_dataset(
            "pending", files=[image(tmp_path / "a.png"), image(tmp_path / "b.png")]
        )
        dataset = client.dataset(dataset_id)
        assert (dataset["status"], dataset["status_new"], dataset["n_images"]) == (
            "INDEXING",
            "INDEXING",
            0,
        )
        [task] = client.tasks(dataset_id=dataset_id)["tasks"]
        assert (task["task_type"], task["status"], task["dataset_status"], task["end_time"]) == (
            "DATASET_CREATION",
            "INITIALIZING",
            "INDEXING",
            None,
        )
        problem(client.request("POST", f"/dataset/{dataset_id}/snapshot", json={}), 409)
        assert client.snapshots(dataset_id) == []
        problem(client.request("POST", f"/tasks/{task['task_id']}/retry"), 400)

        aborted = client.ok("POST", f"/tasks/{task['task_id']}/abort")
        assert aborted["status"] == "ABORTED"
        assert aborted["dataset_status"] == "ERROR"
        failed = client.dataset(dataset_id)
        assert failed["status"] == "ERROR"
        assert failed["fatal_error_msg"]
        problem(client.request("POST", f"/tasks/{task['task_id']}/abort"), 409)

        retried = client.ok("POST", f"/tasks/{task['task_id']}/retry")
        assert (retried["task_id"], retried["status"], retried["end_time"]) == (
            task["task_id"],
            "INITIALIZING",
            None,
        )
        assert client.dataset(dataset_id)["status"] == "INDEXING"
        deployment.start("worker")
        done = client.wait_task(task["task_id"])
        assert (done["status"], done["dataset_status"]) == ("COMPLETED", "READY")
        ready = client.wait_status(dataset_id, "READY")
        assert (ready["n_images"], ready["fatal_error_msg"]) == (2, None)
        assert [s["reason"] for s in client.snapshots(dataset_id)] == ["creation"]
        assert client.tasks(dataset_id=dataset_id)["total"] == 1
    finally:
        client.close()
