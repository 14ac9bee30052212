"""The Task Manager API over HTTP: shapes, filters, sorting, paging, abort and retry."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from tests.e2e import helpers
from tests.e2e.conftest import add_user
from tests.e2e.helpers import (
    ADMIN_EMAIL,
    TASK_FIELDS,
    ZULU,
    finish,
    imports_root,
    only,
    problem,
    ready_dataset,
)
from tests.support.client import SnapsetClient
from tests.support.media import folder_of_media, image
from tests.support.server import ServerProcess

no_server_errors = helpers.no_server_errors
TYPES = {
    "DATASET_CREATION",
    "MEDIA_ADDITION",
    "REINDEX",
    "ENRICHMENT",
    "CUSTOM_METADATA",
    "LABEL_PROPAGATION",
    "SNAPSHOT_RESTORE",
    "SNAPSHOT_CLONE",
    "EXPORT",
}
DATASET_STATUSES = {"READY", "READ_ONLY", "PARTIAL_INDEX", "INDEXING", "DRAFT", "ERROR"}
SORT_KEYS = ("start_time", "status", "task_type", "dataset_name", "dataset_id", "created_by")


def six_tasks(server: ServerProcess, client: SnapsetClient, tmp_path: Path) -> dict[str, Any]:
    """Creation (x2, one by bob), restore, clone, media addition, and a failed creation."""
    alpha = ready_dataset(client, tmp_path / "alpha", "alpha", images=2)
    [creation] = client.snapshots(alpha)
    finish(client, client.restore(alpha, creation["snapshot_id"]))
    clone = client.clone(alpha, creation["snapshot_id"])
    finish(client, clone)
    folder_of_media(imports_root(server) / "more", images=1, videos=0)
    finish(
        client,
        client.ok("POST", f"/dataset/{alpha}/media", expect=202, json={"source_path": "more"}),
    )
    notes = tmp_path / "notes.txt"
    notes.write_text("no media here")
    broken = client.create_dataset("broken", files=[notes])
    client.wait_status(broken, "ERROR")
    bob = add_user(server, "bob@example.com")
    try:
        beta = bob.create_dataset("beta", files=[image(tmp_path / "b.png")])
        bob.wait_status(beta, "READY")
    finally:
        bob.close()
    return {"alpha": alpha, "clone": clone["dataset_id"], "broken": broken, "beta": beta}


def ids(page: dict[str, Any]) -> list[str]:
    return [t["task_id"] for t in page["tasks"]]


def test_task_list_has_the_contract_shape_filters_sorting_and_paging(
    server: ServerProcess, client: SnapsetClient, tmp_path: Path
) -> None:
    made = six_tasks(server, client, tmp_path)
    page = client.tasks()
    assert set(page) == {"tasks", "total", "page", "page_size"}
    assert (page["total"], page["page"], page["page_size"]) == (6, 1, 20)
    tasks = page["tasks"]
    assert len(tasks) == 6
    for task in tasks:
        assert set(task) == TASK_FIELDS
        assert task["task_type"] in TYPES
        assert task["dataset_status"] in DATASET_STATUSES
        assert ZULU.match(task["start_time"]), task["start_time"]
        assert ZULU.match(task["end_time"]), task["end_time"]
        assert task["status"] in ("COMPLETED", "FAILED")
        assert isinstance(task["status_message"], str)
    starts = [t["start_time"] for t in tasks]
    assert starts == sorted(starts, reverse=True), "newest first by default"

    failed = only(tasks, status="FAILED")
    assert (failed["dataset_id"], failed["task_type"], failed["dataset_status"]) == (
        made["broken"],
        "DATASET_CREATION",
        "ERROR",
    )
    assert isinstance(failed["error_message"], str)
    assert failed["error_message"]
    for task in tasks:
        if task["status"] == "COMPLETED":
            assert (task["progress_percentage"], task["error_message"]) == (100, None)
    alpha_tasks = [t for t in tasks if t["dataset_id"] == made["alpha"]]
    assert {t["task_type"] for t in alpha_tasks} == {
        "DATASET_CREATION",
        "SNAPSHOT_RESTORE",
        "MEDIA_ADDITION",
    }
    assert {t["dataset_status"] for t in alpha_tasks} == {"READY"}
    assert {t["dataset_name"] for t in alpha_tasks} == {"alpha"}
    assert only(tasks, task_type="SNAPSHOT_CLONE")["dataset_id"] == made["clone"]
    assert only(tasks, created_by="bob@example.com")["dataset_id"] == made["beta"]

    def expect(query: dict[str, Any], wanted: list[dict[str, Any]]) -> None:
        got = client.tasks(**query)
        assert sorted(ids(got)) == sorted(t["task_id"] for t in wanted), query
        assert got["total"] == len(wanted), query

    expect({"dataset_id": made["alpha"]}, alpha_tasks)
    expect({"dataset_name": "alpha"}, alpha_tasks)
    expect(
        {"dataset_name": "alpha (cloned)"}, [t for t in tasks if t["dataset_id"] == made["clone"]]
    )
    expect({"dataset_name": "alph"}, [])
    expect({"dataset_id": str(uuid.uuid4())}, [])
    for task_type in TYPES:
        expect({"task_type": task_type}, [t for t in tasks if t["task_type"] == task_type])
    expect({"task_status": "FAILED"}, [failed])
    expect({"task_status": "COMPLETED"}, [t for t in tasks if t["status"] == "COMPLETED"])
    expect({"task_status": "RUNNING"}, [])
    expect(
        {"created_by": "bob@example.com"},
        [t for t in tasks if t["created_by"] == "bob@example.com"],
    )
    expect({"created_by": ADMIN_EMAIL}, [t for t in tasks if t["created_by"] == ADMIN_EMAIL])
    expect(
        {"dataset_id": made["alpha"], "task_type": "SNAPSHOT_RESTORE"},
        [only(alpha_tasks, task_type="SNAPSHOT_RESTORE")],
    )
    middle = sorted(starts)[2]
    expect({"start_time_from": middle}, [t for t in tasks if t["start_time"] >= middle])
    expect({"start_time_to": middle}, [t for t in tasks if t["start_time"] <= middle])
    expect(
        {"start_time_from": middle, "start_time_to": middle},
        [t for t in tasks if t["start_time"] == middle],
    )
    as_offset = middle.replace("Z", "+00:00")
    expect({"start_time_from": as_offset}, [t for t in tasks if t["start_time"] >= middle])
    expect({"start_time_to": "2000-01-01T00:00:00Z"}, [])
    expect({"start_time_from": "2000-01-01T00:00:00"}, tasks)

    for key in SORT_KEYS:
        for order in ("asc", "desc"):
            got = client.tasks(sort_by=key, sort_order=order)
            values = [t[key] for t in got["tasks"]]
            assert values == sorted(values, reverse=order == "desc"), (key, order)
            assert sorted(ids(got)) == sorted(t["task_id"] for t in tasks)
        default = [t[key] for t in client.tasks(sort_by=key)["tasks"]]
        assert default == sorted(default, reverse=True), f"{key}: desc is the default"

    first = client.tasks(page_size=5, sort_by="start_time", sort_order="asc")
    second = client.tasks(page_size=5, page=2, sort_by="start_time", sort_order="asc")
    third = client.tasks(page_size=5, page=3)
    assert (first["page"], first["page_size"], first["total"]) == (1, 5, 6)
    assert (len(first["tasks"]), len(second["tasks"]), third["tasks"]) == (5, 1, [])
    assert ids(first) + ids(second) == [t["task_id"] for t in reversed(tasks)]
    assert len(client.tasks(page_size=50)["tasks"]) == 6
    for bad in (
        {"page_size": 4},
        {"page_size": 51},
        {"page_size": 0},
        {"page": 0},
        {"page": -1},
        {"page": "one"},
        {"sort_by": "name"},
        {"sort_by": "progress"},
        {"sort_order": "up"},
        {"task_type": "RESTORE"},
        {"task_status": "DONE"},
        {"dataset_id": "not-a-uuid"},
        {"start_time_from": "yesterday"},
        {"start_time_to": "2026-13-40"},
    ):
        problem(client.request("GET", "/tasks", params=bad), 422)


def test_filters_single_task_abort_and_retry_follow_the_contract(
    server: ServerProcess, client: SnapsetClient, tmp_path: Path
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "gamma")
    [creation_task] = client.tasks(dataset_id=dataset_id)["tasks"]
    [snapshot] = client.snapshots(dataset_id)
    restore = finish(client, client.restore(dataset_id, snapshot["snapshot_id"]))

    filters = client.ok("GET", "/tasks/filters")
    assert filters == {
        "dataset_names": ["gamma"],
        "dataset_ids": [dataset_id],
        "task_types": ["DATASET_CREATION", "SNAPSHOT_RESTORE"],
        "created_by": [ADMIN_EMAIL],
    }

    one = client.ok("GET", f"/tasks/{creation_task['task_id']}")
    assert one == creation_task
    assert set(one) == TASK_FIELDS
    problem(client.request("GET", f"/tasks/{uuid.uuid4()}"), 404)
    problem(client.request("GET", "/tasks/not-a-uuid"), 404)
    problem(client.request("POST", f"/tasks/{uuid.uuid4()}/abort"), 404)
    problem(client.request("POST", f"/tasks/{uuid.uuid4()}/retry"), 404)

    problem(client.request("POST", f"/tasks/{creation_task['task_id']}/abort"), 409)
    problem(client.request("POST", f"/tasks/{restore['task_id']}/abort"), 409)
    problem(client.request("POST", f"/tasks/{restore['task_id']}/retry"), 400)
    problem(client.request("POST", f"/tasks/{creation_task['task_id']}/retry"), 400)
    assert client.ok("GET", f"/tasks/{restore['task_id']}")["status"] == "COMPLETED"

    # A failed creation can be retried, and succeeds once its folder has media.
    folder = imports_root(server) / "later"
    folder.mkdir()
    (folder / "readme.txt").write_text("media will come")
    late = client.create_dataset("late", source_path="later")
    client.wait_status(late, "ERROR")
    [failed] = client.tasks(dataset_id=late)["tasks"]
    assert (failed["status"], failed["dataset_status"]) == ("FAILED", "ERROR")
    problem(client.request("POST", f"/tasks/{failed['task_id']}/abort"), 409)
    image(folder / "a.png")
    retried = client.ok("POST", f"/tasks/{failed['task_id']}/retry")
    assert retried["task_id"] == failed["task_id"]
    assert set(retried) == TASK_FIELDS
    assert retried["status"] in ("INITIALIZING", "RUNNING", "COMPLETED")
    done = client.wait_task(failed["task_id"])
    assert (done["status"], done["error_message"]) == ("COMPLETED", None)
    dataset = client.wait_status(late, "READY")
    assert dataset["n_images"] == 1
    assert [s["reason"] for s in client.snapshots(late)] == ["creation"]
    assert client.tasks(dataset_id=late)["total"] == 1
    problem(client.request("POST", f"/tasks/{failed['task_id']}/retry"), 400)
