"""Roles per dataset over HTTP: strangers get 404 (never 403), viewers read, editors write,
only owners share; lists never show other users' datasets or tasks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import helpers
from tests.e2e.conftest import add_user
from tests.e2e.helpers import finish, problem, ready_dataset
from tests.support.client import SnapsetClient
from tests.support.media import image
from tests.support.server import ServerProcess

no_server_errors = helpers.no_server_errors


@pytest.fixture
def owner(server: ServerProcess) -> Iterator[SnapsetClient]:
    c = add_user(server, "owner@example.com")
    yield c
    c.close()


@pytest.fixture
def shared(owner: SnapsetClient, tmp_path: Path) -> dict[str, Any]:
    """The owner's READY dataset with its creation snapshot, media item and creation task."""
    dataset_id = ready_dataset(owner, tmp_path / "owned", "owned")
    [snapshot] = owner.snapshots(dataset_id)
    [task] = owner.tasks(dataset_id=dataset_id)["tasks"]
    return {
        "dataset_id": dataset_id,
        "snapshot_id": snapshot["snapshot_id"],
        "media_id": owner.media(dataset_id)[0]["media_id"],
        "task_id": task["task_id"],
    }


def writes(ds: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    base = f"/dataset/{ds['dataset_id']}"
    snap = f"{base}/snapshot/{ds['snapshot_id']}"
    return [
        ("POST", f"{base}/snapshot", {"json": {"name": "nope"}}),
        ("PATCH", snap, {"json": {"name": "renamed"}}),
        ("DELETE", snap, {}),
        ("POST", f"{snap}/restore", {}),
        ("POST", f"{base}/snapshot/current/restore", {}),
        ("POST", f"{snap}/clone", {}),
        ("PATCH", f"{base}/media/{ds['media_id']}", {"json": {"tags": ["x"]}}),
        ("POST", f"{base}/media", {"json": {"source_path": "."}}),
        ("POST", f"{base}/share", {"json": {"user_email": "owner@example.com", "role": "owner"}}),
    ]


def reads(ds: dict[str, Any]) -> list[str]:
    base = f"/dataset/{ds['dataset_id']}"
    return [
        base,
        f"{base}/snapshot",
        f"{base}/media",
        f"{base}/history",
        f"{base}/access",
        f"{base}/media?snapshot_id={ds['snapshot_id']}",
    ]


def test_a_stranger_gets_404_on_every_endpoint_of_someone_elses_dataset(
    server: ServerProcess,
    owner: SnapsetClient,
    other_user: SnapsetClient,
    shared: dict[str, Any],
) -> None:
    stranger = other_user
    for path in reads(shared):
        problem(stranger.request("GET", path), 404)
    for method, path, kwargs in writes(shared):
        problem(stranger.request(method, path, **kwargs), 404)
    task = shared["task_id"]
    problem(stranger.request("GET", f"/tasks/{task}"), 404)
    problem(stranger.request("POST", f"/tasks/{task}/abort"), 404)
    problem(stranger.request("POST", f"/tasks/{task}/retry"), 404)
    # The answer for a hidden dataset is the answer for one that does not exist.
    hidden = stranger.request("GET", f"/dataset/{shared['dataset_id']}")
    missing = stranger.request("GET", f"/dataset/{uuid.uuid4()}")
    assert hidden.status_code == missing.status_code == 404

    assert stranger.ok("GET", "/datasets")["datasets"] == []
    assert stranger.tasks() == {"tasks": [], "total": 0, "page": 1, "page_size": 20}
    assert stranger.ok("GET", "/tasks/filters") == {
        "dataset_names": [],
        "dataset_ids": [],
        "task_types": [],
        "created_by": [],
    }
    # Nothing the stranger tried changed the dataset.
    assert [s["snapshot_id"] for s in owner.snapshots(shared["dataset_id"])] == [
        shared["snapshot_id"]
    ]
    assert owner.media(shared["dataset_id"])[0]["tags"] == []


def test_lists_show_only_the_callers_own_datasets_and_tasks(
    server: ServerProcess,
    owner: SnapsetClient,
    other_user: SnapsetClient,
    tmp_path: Path,
) -> None:
    mine = owner.create_dataset("mine", files=[image(tmp_path / "a.png")])
    theirs = other_user.create_dataset("theirs", files=[image(tmp_path / "b.png")])
    owner.wait_status(mine, "READY")
    other_user.wait_status(theirs, "READY")
    for client, own, name in ((owner, mine, "mine"), (other_user, theirs, "theirs")):
        page = client.ok("GET", "/datasets")
        assert [d["id"] for d in page["datasets"]] == [own]
        assert page["total"] == 1
        tasks = client.tasks()["tasks"]
        assert {t["dataset_id"] for t in tasks} == {own}
        filters = client.ok("GET", "/tasks/filters")
        assert filters["dataset_ids"] == [own]
        assert filters["dataset_names"] == [name]
        # Filtering by the other dataset's id or name finds nothing rather than leaking it.
        other = theirs if own == mine else mine
        assert client.tasks(dataset_id=other)["total"] == 0
        assert client.tasks(dataset_name="theirs" if name == "mine" else "mine")["total"] == 0
    # The server's admin sees everything.
    admin = SnapsetClient(server.base_url, server.api_key, server.api_secret)
    try:
        assert {d["id"] for d in admin.ok("GET", "/datasets")["datasets"]} == {mine, theirs}
    finally:
        admin.close()


def test_a_viewer_reads_but_every_write_is_403(
    server: ServerProcess,
    owner: SnapsetClient,
    shared: dict[str, Any],
) -> None:
    viewer = add_user(server, "viewer@example.com")
    try:
        problem(viewer.request("GET", f"/dataset/{shared['dataset_id']}"), 404)
        owner.ok(
            "POST",
            f"/dataset/{shared['dataset_id']}/share",
            json={"user_email": "viewer@example.com", "role": "viewer"},
        )
        for path in reads(shared):
            assert viewer.request("GET", path).status_code == 200, path
        assert viewer.dataset(shared["dataset_id"])["owned_by"] == "owner@example.com"
        assert viewer.ok("GET", f"/dataset/{shared['dataset_id']}/access") == {
            "role": "viewer",
            "can_edit": False,
            "can_share": False,
        }
        assert [d["id"] for d in viewer.ok("GET", "/datasets")["datasets"]] == [
            shared["dataset_id"]
        ]
        assert [t["task_id"] for t in viewer.tasks()["tasks"]] == [shared["task_id"]]
        assert viewer.ok("GET", f"/tasks/{shared['task_id']}")["task_id"] == shared["task_id"]
        for method, path, kwargs in writes(shared):
            problem(viewer.request(method, path, **kwargs), 403)
        problem(viewer.request("POST", f"/tasks/{shared['task_id']}/retry"), 403)
        # Nothing changed.
        [snapshot] = owner.snapshots(shared["dataset_id"])
        assert snapshot["snapshot_name"] != "renamed"
        assert snapshot["is_current"] is True
        assert owner.media(shared["dataset_id"])[0]["tags"] == []
        assert owner.tasks(dataset_id=shared["dataset_id"])["total"] == 1
    finally:
        viewer.close()


def test_an_editor_creates_restores_and_clones_but_only_the_owner_shares(
    server: ServerProcess,
    owner: SnapsetClient,
    other_user: SnapsetClient,
    shared: dict[str, Any],
) -> None:
    editor = add_user(server, "editor@example.com")
    dataset_id = shared["dataset_id"]
    try:
        owner.ok(
            "POST",
            f"/dataset/{dataset_id}/share",
            json={"user_email": "editor@example.com", "role": "editor"},
        )
        assert editor.ok("GET", f"/dataset/{dataset_id}/access") == {
            "role": "editor",
            "can_edit": True,
            "can_share": False,
        }
        assert owner.ok("GET", f"/dataset/{dataset_id}/access") == {
            "role": "owner",
            "can_edit": True,
            "can_share": True,
        }
        made = editor.create_snapshot(dataset_id, name="by editor")
        assert made["created_by"] == "editor@example.com"
        assert (
            editor.edit_snapshot(dataset_id, made["snapshot_id"], description="edited")[
                "description"
            ]
            == "edited"
        )
        finish(editor, editor.restore(dataset_id, shared["snapshot_id"]))
        assert only_current(owner.snapshots(dataset_id)) == shared["snapshot_id"]
        editor.delete_snapshot(dataset_id, made["snapshot_id"])

        started = editor.clone(dataset_id, shared["snapshot_id"])
        finish(editor, started)
        clone = editor.dataset(started["dataset_id"])
        assert clone["owned_by"] == "editor@example.com"
        problem(owner.request("GET", f"/dataset/{started['dataset_id']}"), 404)

        share = {"user_email": "stranger@example.com", "role": "viewer"}
        problem(editor.request("POST", f"/dataset/{dataset_id}/share", json=share), 403)
        nobody = {"user_email": "nobody@example.com", "role": "viewer"}
        assert problem(
            editor.request("POST", f"/dataset/{dataset_id}/share", json=nobody), 403
        ) == problem(editor.request("POST", f"/dataset/{dataset_id}/share", json=share), 403), (
            "a non-owner cannot tell a known email from an unknown one"
        )
        assert problem(
            other_user.request("POST", f"/dataset/{dataset_id}/share", json=nobody), 404
        ) == problem(other_user.request("POST", f"/dataset/{dataset_id}/share", json=share), 404)
        problem(other_user.request("GET", f"/dataset/{dataset_id}"), 404)
        problem(
            owner.request(
                "POST",
                f"/dataset/{dataset_id}/share",
                json={"user_email": "nobody@example.com", "role": "viewer"},
            ),
            404,
        )
        problem(
            owner.request(
                "POST",
                f"/dataset/{dataset_id}/share",
                json={"user_email": "stranger@example.com", "role": "admin"},
            ),
            422,
        )
        answer = owner.ok("POST", f"/dataset/{dataset_id}/share", json=share)
        assert answer == share
        assert other_user.dataset(dataset_id)["id"] == dataset_id
        problem(other_user.request("POST", f"/dataset/{dataset_id}/snapshot", json={}), 403)
    finally:
        editor.close()


def only_current(snapshots: list[dict[str, Any]]) -> str:
    [current] = [s["snapshot_id"] for s in snapshots if s["is_current"]]
    return current
