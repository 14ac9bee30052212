"""API.md's snapshot rules over HTTP, each with its exact status code."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.e2e import helpers
from tests.e2e.helpers import (
    ADMIN_EMAIL,
    NAIVE_MICROS,
    SNAPSHOT_FIELDS,
    finish,
    imports_root,
    only,
    problem,
    ready_dataset,
    snapshot_ids,
)
from tests.support.client import SnapsetClient
from tests.support.media import image
from tests.support.server import ServerProcess

no_server_errors = helpers.no_server_errors


def default_name(dataset_name: str, snapshot_id: str) -> str:
    return f"{dataset_name}_snapshot_{snapshot_id.replace('-', '')[:8]}"


def test_snapshot_objects_have_exactly_the_contract_fields_and_default_names(
    client: SnapsetClient, tmp_path: Path
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "shapes", images=2, videos=1)
    [creation] = client.snapshots(dataset_id)
    assert set(creation) == SNAPSHOT_FIELDS
    assert helpers.UUID_RE.match(creation["snapshot_id"])
    assert NAIVE_MICROS.match(creation["created_at"]), creation["created_at"]
    assert creation == {
        **creation,
        "snapshot_name": default_name("shapes", creation["snapshot_id"]),
        "source_dataset_name": "shapes",
        "created_by": ADMIN_EMAIL,
        "n_images": 2,
        "n_videos": 1,
        "description": "",
        "reason": "creation",
        "training_model_id": None,
        "training_model_name": None,
        "is_current": True,
        "is_restoring": False,
    }

    unnamed = client.create_snapshot(dataset_id)
    assert set(unnamed) == SNAPSHOT_FIELDS
    assert unnamed["snapshot_name"] == default_name("shapes", unnamed["snapshot_id"])
    assert (unnamed["reason"], unnamed["description"], unnamed["is_current"]) == (
        "manual",
        "",
        True,
    )
    assert NAIVE_MICROS.match(unnamed["created_at"])
    named = client.create_snapshot(dataset_id, name="  v2  ", description="second")
    assert (named["snapshot_name"], named["description"]) == ("v2", "second")

    listed = client.snapshots(dataset_id)
    assert [s["snapshot_id"] for s in listed] == [
        named["snapshot_id"],
        unnamed["snapshot_id"],
        creation["snapshot_id"],
    ]
    assert [s["is_current"] for s in listed] == [True, False, False]
    assert all(set(s) == SNAPSHOT_FIELDS for s in listed)
    assert listed[0] == named
    created = [s["created_at"] for s in listed]
    assert created == sorted(created, reverse=True)

    snap = f"/dataset/{dataset_id}/snapshot/{unnamed['snapshot_id']}"
    for body in ({}, {"name": None}, {"name": None, "description": None}):
        problem(client.request("PATCH", snap, json=body), 422)
    problem(client.request("PATCH", snap, json={"name": "   "}), 422)
    problem(client.request("PATCH", snap, json={"name": "x" * 201}), 422)
    problem(client.request("PATCH", snap, json={"is_current": True}), 422)
    problem(
        client.request("POST", f"/dataset/{dataset_id}/snapshot", json={"reason": "creation"}), 422
    )
    renamed = client.edit_snapshot(dataset_id, unnamed["snapshot_id"], name="first manual")
    assert (renamed["snapshot_name"], renamed["description"]) == ("first manual", "")
    described = client.edit_snapshot(dataset_id, unnamed["snapshot_id"], description="kept")
    assert (described["snapshot_name"], described["description"]) == ("first manual", "kept")
    assert set(described) == SNAPSHOT_FIELDS
    assert described["created_at"] == unnamed["created_at"]
    assert described["is_current"] is False
    assert only(client.snapshots(dataset_id), snapshot_id=unnamed["snapshot_id"]) == described


def test_removing_snapshots_follows_the_404_and_409_rules_and_keeps_data_and_clones(
    client: SnapsetClient, tmp_path: Path
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "birds", images=3)
    [creation] = client.snapshots(dataset_id)
    base = f"/dataset/{dataset_id}/snapshot"
    problem(client.request("DELETE", f"{base}/{creation['snapshot_id']}"), 409)

    clone = client.clone(dataset_id, creation["snapshot_id"])
    finish(client, clone)
    clone_media = client.media(clone["dataset_id"])
    later = client.create_snapshot(dataset_id, name="later")
    media = client.media(dataset_id)

    response = client.request("DELETE", f"{base}/{creation['snapshot_id']}")
    assert response.status_code == 200
    assert response.content == b""
    assert snapshot_ids(client, dataset_id) == [later["snapshot_id"]]
    assert client.media(dataset_id) == media
    assert client.media(clone["dataset_id"]) == clone_media
    assert client.dataset(dataset_id)["n_images"] == 3
    problem(client.request("DELETE", f"{base}/{later['snapshot_id']}"), 409)

    gone = creation["snapshot_id"]
    for missing in (gone, str(uuid.uuid4()), "not-a-uuid", "12345"):
        problem(client.request("DELETE", f"{base}/{missing}"), 404)
        problem(client.request("PATCH", f"{base}/{missing}", json={"name": "x"}), 404)
        problem(client.request("POST", f"{base}/{missing}/restore"), 404)
        problem(client.request("POST", f"{base}/{missing}/clone"), 404)
    problem(
        client.request("GET", f"/dataset/{dataset_id}/media", params={"snapshot_id": gone}), 404
    )
    unknown = f"/dataset/{uuid.uuid4()}/snapshot"
    problem(client.request("GET", unknown), 404)
    problem(client.request("POST", unknown, json={}), 404)
    problem(client.request("PATCH", f"{unknown}/{later['snapshot_id']}", json={"name": "x"}), 404)
    problem(client.request("DELETE", f"{unknown}/{later['snapshot_id']}"), 404)
    problem(client.request("POST", f"{unknown}/current/restore"), 404)
    problem(client.request("POST", f"{unknown}/{later['snapshot_id']}/clone"), 404)
    problem(client.request("GET", "/dataset/not-a-uuid/snapshot"), 404)
    assert snapshot_ids(client, dataset_id) == [later["snapshot_id"]]


def test_creating_a_snapshot_needs_a_ready_dataset(client: SnapsetClient, tmp_path: Path) -> None:
    draft = client.create_dataset("empty")
    assert client.dataset(draft)["status"] == "DRAFT"
    problem(client.request("POST", f"/dataset/{draft}/snapshot", json={"name": "x"}), 409)
    assert client.snapshots(draft) == []

    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    broken = client.create_dataset("broken", files=[notes])
    failed = client.wait_status(broken, "ERROR")
    assert failed["fatal_error_msg"]
    problem(client.request("POST", f"/dataset/{broken}/snapshot", json={}), 409)
    assert client.snapshots(broken) == []
    assert client.dataset(draft)["status"] == "DRAFT"


def test_a_dataset_without_snapshot_support_answers_403_on_every_snapshot_endpoint(
    client: SnapsetClient, tmp_path: Path
) -> None:
    dataset_id = client.create_dataset(
        "plain", files=[image(tmp_path / "a.png")], snapshot_support=False
    )
    dataset = client.wait_status(dataset_id, "READY")
    assert dataset["snapshot_support"] is False
    base = f"/dataset/{dataset_id}/snapshot"
    some = str(uuid.uuid4())
    problem(client.request("GET", base), 403)
    problem(client.request("POST", base, json={"name": "x"}), 403)
    problem(client.request("PATCH", f"{base}/{some}", json={"name": "x"}), 403)
    problem(client.request("DELETE", f"{base}/{some}"), 403)
    problem(client.request("POST", f"{base}/{some}/restore"), 403)
    problem(client.request("POST", f"{base}/current/restore"), 403)
    problem(client.request("POST", f"{base}/{some}/clone"), 403)
    # The rest of the dataset works; an edit takes no automatic snapshot.
    [item] = client.media(dataset_id)
    assert client.edit_media(dataset_id, item["media_id"], tags=["ok"])["tags"] == ["ok"]
    problem(client.request("GET", base), 403)
    supported = client.create_dataset("supported", files=[image(tmp_path / "b.png")])
    assert client.wait_status(supported, "READY")["snapshot_support"] is True


def test_restore_answers_202_and_an_automatic_snapshot_makes_it_undoable(
    client: SnapsetClient, tmp_path: Path
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "cars", images=3)
    [creation] = client.snapshots(dataset_id)
    original = client.media(dataset_id)
    target = original[0]["media_id"]
    client.edit_media(dataset_id, target, tags=["red"], metadata={"score": 3})
    edited = client.media(dataset_id)

    response = client.request(
        "POST", f"/dataset/{dataset_id}/snapshot/{creation['snapshot_id']}/restore"
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"task_id", "dataset_id"}
    assert body["dataset_id"] == dataset_id
    assert response.headers["location"] == f"/api/v1/tasks/{body['task_id']}"
    task = client.http.get(response.headers["location"]).json()
    assert (task["task_id"], task["task_type"], task["dataset_id"]) == (
        body["task_id"],
        "SNAPSHOT_RESTORE",
        dataset_id,
    )
    finish(client, body)

    assert client.media(dataset_id) == original
    listed = client.snapshots(dataset_id)
    auto = only(listed, reason="auto")
    assert auto["n_images"] == 3
    assert auto["created_by"] == ADMIN_EMAIL
    assert auto["snapshot_name"] == default_name("cars", auto["snapshot_id"])
    assert only(listed, is_current=True)["snapshot_id"] == creation["snapshot_id"]
    assert client.dataset(dataset_id)["status"] == "READY"
    assert client.media(dataset_id, snapshot_id=auto["snapshot_id"]) == edited

    finish(client, client.restore(dataset_id, auto["snapshot_id"]))
    assert client.media(dataset_id) == edited
    listed = client.snapshots(dataset_id)
    assert only(listed, is_current=True)["snapshot_id"] == auto["snapshot_id"]
    assert len(listed) == 2, "nothing changed since the auto snapshot: no new one"

    # `current` restores the current snapshot; unsaved edits are kept in a new auto one.
    client.edit_media(dataset_id, target, tags=["blue"])
    restarted = client.restore(dataset_id, "current")
    assert restarted["dataset_id"] == dataset_id
    finish(client, restarted)
    assert client.media(dataset_id) == edited
    autos = [s for s in client.snapshots(dataset_id) if s["reason"] == "auto"]
    assert len(autos) == 2
    newest = autos[0]
    assert only(client.media(dataset_id, snapshot_id=newest["snapshot_id"]), media_id=target)[
        "tags"
    ] == ["blue"]
    assert only(client.snapshots(dataset_id), is_current=True)["snapshot_id"] == auto["snapshot_id"]


def test_clone_answers_202_with_a_new_dataset_owned_by_the_caller(
    client: SnapsetClient, tmp_path: Path
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "dogs", images=2)
    [creation] = client.snapshots(dataset_id)
    first = client.media(dataset_id)[0]["media_id"]
    client.edit_media(dataset_id, first, tags=["good"])
    tagged = client.create_snapshot(dataset_id, name="tagged")

    response = client.request(
        "POST", f"/dataset/{dataset_id}/snapshot/{creation['snapshot_id']}/clone"
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"task_id", "dataset_id"}
    clone_id = body["dataset_id"]
    assert clone_id != dataset_id
    assert response.headers["location"] == f"/api/v1/tasks/{body['task_id']}"
    # The clone does not block its source.
    assert client.create_snapshot(dataset_id, name="meanwhile")["is_current"] is True
    task = finish(client, body)
    assert (task["task_type"], task["dataset_id"], task["dataset_name"]) == (
        "SNAPSHOT_CLONE",
        clone_id,
        "dogs (cloned)",
    )

    clone = client.dataset(clone_id)
    assert (clone["display_name"], clone["owned_by"], clone["source_dataset_id"]) == (
        "dogs (cloned)",
        ADMIN_EMAIL,
        dataset_id,
    )
    assert (clone["status"], clone["n_images"], clone["snapshot_support"]) == ("READY", 2, True)
    [first_snapshot] = client.snapshots(clone_id)
    assert first_snapshot["reason"] == "clone"
    assert first_snapshot["is_current"] is True
    assert first_snapshot["source_dataset_name"] == "dogs (cloned)"
    assert all(item["tags"] == [] for item in client.media(clone_id)), (
        "a clone of the creation snapshot has the data from before the edit"
    )

    second = client.clone(dataset_id, tagged["snapshot_id"])
    assert second["dataset_id"] not in (dataset_id, clone_id)
    finish(client, second)
    assert only(client.media(second["dataset_id"]), media_id=first)["tags"] == ["good"]
    names = [d["display_name"] for d in client.ok("GET", "/datasets")["datasets"]]
    assert sorted(names) == ["dogs", "dogs (cloned)", "dogs (cloned)"]


def test_a_clone_dry_run_names_the_dataset_it_would_create_and_creates_nothing(
    client: SnapsetClient, tmp_path: Path
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "owls", images=2, videos=1)
    [creation] = client.snapshots(dataset_id)
    clone = f"/dataset/{dataset_id}/snapshot/{creation['snapshot_id']}/clone"
    tasks_before = client.tasks()["total"]

    preview = client.ok("POST", clone, params={"dry_run": "true"})

    assert preview == {
        "dataset_name": "owls (cloned)",
        "snapshot_id": creation["snapshot_id"],
        "n_images": 2,
        "n_videos": 1,
    }
    assert client.tasks()["total"] == tasks_before, "a dry run starts no task"
    names = [d["display_name"] for d in client.ok("GET", "/datasets")["datasets"]]
    assert names == ["owls"], "a dry run creates no dataset"
    problem(
        client.request(
            "POST",
            clone.replace(creation["snapshot_id"], str(uuid.uuid4())),
            params={"dry_run": "true"},
        ),
        404,
    )
    problem(client.request("POST", clone, params={"dry_run": "maybe"}), 422)


def test_a_failed_operation_leaves_error_from_which_restore_and_clone_still_work(
    server: ServerProcess, client: SnapsetClient, tmp_path: Path
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "fragile", images=2)
    [creation] = client.snapshots(dataset_id)
    target = client.media(dataset_id)[0]["media_id"]
    client.edit_media(dataset_id, target, tags=["unsaved"])
    edited = client.media(dataset_id)
    junk = imports_root(server) / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("not media")
    started = client.ok(
        "POST", f"/dataset/{dataset_id}/media", expect=202, json={"source_path": "junk"}
    )
    assert client.wait_task(started["task_id"])["status"] == "FAILED"
    failed = client.wait_status(dataset_id, "ERROR")
    assert failed["status_new"] == "ERROR"
    assert failed["fatal_error_msg"]
    assert client.media(dataset_id) == edited, "a failed operation changes no data"
    auto = only(client.snapshots(dataset_id), reason="auto")
    assert auto["is_current"] is True
    problem(client.request("POST", f"/dataset/{dataset_id}/snapshot", json={}), 409)

    cloned = client.clone(dataset_id, auto["snapshot_id"])
    finish(client, cloned)
    assert client.media(cloned["dataset_id"]) == edited
    assert client.dataset(cloned["dataset_id"])["status"] == "READY"
    finish(client, client.restore(dataset_id, creation["snapshot_id"]))
    restored = client.dataset(dataset_id)
    assert (restored["status"], restored["fatal_error_msg"]) == ("READY", None)
    assert all(item["tags"] == [] for item in client.media(dataset_id))
    assert client.create_snapshot(dataset_id, name="fine again")["is_current"] is True
