"""Datasets over HTTP: import folders inside the import root only, uploads, the dataset
object, the paginated list and the audit history."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.e2e import helpers
from tests.e2e.conftest import add_user
from tests.e2e.helpers import (
    ADMIN_EMAIL,
    DATASET_FIELDS,
    imports_root,
    problem,
    ready_dataset,
)
from tests.support.client import SnapsetClient
from tests.support.media import folder_of_media, image, video, zip_of
from tests.support.server import ServerProcess

no_server_errors = helpers.no_server_errors
SUMMARY_FIELDS = {
    "id",
    "display_name",
    "description",
    "owned_by",
    "created_at",
    "status",
    "n_images",
    "n_videos",
    "source_dataset_id",
}


def test_source_path_imports_inside_the_import_root_and_anything_outside_is_403(
    server: ServerProcess, client: SnapsetClient
) -> None:
    root = imports_root(server)
    folder_of_media(root / "set1", images=3, videos=1)
    outside = folder_of_media(root.parent / "outside", images=1, videos=0)
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / "inner").symlink_to(root / "set1", target_is_directory=True)

    for source in (
        "../outside",
        str(outside),
        "set1/../../outside",
        "escape",
        "escape/.",
        str(root / "escape"),
        "/",
        "/etc",
        "..",
        str(root.parent),
    ):
        problem(
            client.request(
                "POST", "/dataset", json={"dataset_name": "nope", "source_path": source}
            ),
            403,
        )
    problem(
        client.request("POST", "/dataset", json={"dataset_name": "nope", "source_path": "missing"}),
        422,
    )
    assert client.ok("GET", "/datasets")["total"] == 0, "a refused import creates nothing"

    relative = client.create_dataset("relative", source_path="set1")
    absolute = client.create_dataset("absolute", source_path=str(root / "set1"))
    linked = client.create_dataset("linked", source_path="inner")
    for dataset_id in (relative, absolute, linked):
        dataset = client.wait_status(dataset_id, "READY")
        assert (dataset["n_images"], dataset["n_videos"]) == (3, 1)
        [task] = client.tasks(dataset_id=dataset_id)["tasks"]
        assert (task["task_type"], task["status"]) == ("DATASET_CREATION", "COMPLETED")
    assert client.ok("GET", "/datasets")["total"] == 3


def test_uploads_make_ready_datasets_with_exactly_the_contract_fields(
    client: SnapsetClient, tmp_path: Path
) -> None:
    png = image(tmp_path / "src" / "p.png").read_bytes()
    clip = video(tmp_path / "src" / "c.mp4").read_bytes()
    archive = zip_of(tmp_path / "pics.zip", {"a.png": png, "sub/b.png": png, "c.mp4": clip})
    zipped = client.create_dataset("zipped", files=[archive], description="from a zip")
    dataset = client.wait_status(zipped, "READY")
    assert set(dataset) == DATASET_FIELDS
    assert dataset == {
        **dataset,
        "id": zipped,
        "display_name": "zipped",
        "description": "from a zip",
        "owned_by": ADMIN_EMAIL,
        "status": "READY",
        "status_new": "READY",
        "n_images": 2,
        "n_videos": 1,
        "fatal_error_msg": None,
        "source_dataset_id": None,
        "snapshot_support": True,
    }
    assert isinstance(dataset["created_at"], str)
    assert isinstance(dataset["source_type"], str)
    assert isinstance(dataset["n_objects"], int)
    assert dataset["progress"] is None or 0 <= dataset["progress"] <= 100
    assert {m["file_name"] for m in client.media(zipped)} == {
        "pics.zip/a.png",
        "pics.zip/sub/b.png",
        "pics.zip/c.mp4",
    }
    [creation] = client.snapshots(zipped)
    assert (creation["n_images"], creation["n_videos"]) == (2, 1)

    mixed = client.create_dataset(
        "mixed", files=[archive, image(tmp_path / "x.png"), image(tmp_path / "y.jpg", fmt="JPEG")]
    )
    assert client.wait_status(mixed, "READY")["n_images"] == 4

    for bad in (
        {"dataset_name": ""},
        {"dataset_name": "   "},
        {"dataset_name": "x" * 201},
        {"dataset_name": "ok", "description": "d" * 2001},
        {},
    ):
        problem(client.request("POST", "/dataset", json=bad), 422)
    problem(client.request("GET", f"/dataset/{uuid.uuid4()}"), 404)
    problem(client.request("GET", "/dataset/not-a-uuid"), 404)


def test_a_dataset_without_a_source_stays_draft_and_the_list_pages_newest_first(
    client: SnapsetClient,
) -> None:
    made = [client.create_dataset(f"d{i}") for i in range(5)]
    draft = client.dataset(made[0])
    assert (draft["status"], draft["status_new"], draft["n_images"], draft["n_videos"]) == (
        "DRAFT",
        "DRAFT",
        0,
        0,
    )
    assert client.tasks(dataset_id=made[0])["total"] == 0
    assert client.snapshots(made[0]) == []

    page = client.ok("GET", "/datasets")
    assert set(page) == {"datasets", "total", "page", "page_size"}
    assert (page["total"], page["page"], page["page_size"]) == (5, 1, 20)
    assert [d["id"] for d in page["datasets"]] == list(reversed(made))
    for summary in page["datasets"]:
        assert set(summary) == SUMMARY_FIELDS
        assert (summary["status"], summary["owned_by"]) == ("DRAFT", ADMIN_EMAIL)
    pages = [
        client.ok("GET", "/datasets", params={"page": n, "page_size": 2}) for n in (1, 2, 3, 4)
    ]
    assert [len(p["datasets"]) for p in pages] == [2, 2, 1, 0]
    assert all(p["total"] == 5 and p["page_size"] == 2 for p in pages)
    assert [d["id"] for p in pages for d in p["datasets"]] == list(reversed(made))
    for bad in ({"page": 0}, {"page_size": 0}, {"page_size": 101}, {"page": "x"}):
        problem(client.request("GET", "/datasets", params=bad), 422)
    assert client.dataset(made[0])["status"] == "DRAFT", "still a draft"


def test_history_lists_events_with_actor_emails_and_filters_by_type_and_actor(
    server: ServerProcess, client: SnapsetClient, tmp_path: Path
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "audited")
    editor = add_user(server, "editor@example.com")
    try:
        client.ok(
            "POST",
            f"/dataset/{dataset_id}/share",
            json={"user_email": "editor@example.com", "role": "editor"},
        )
        made = editor.create_snapshot(dataset_id, name="by editor")
        client.edit_snapshot(dataset_id, made["snapshot_id"], description="checked")
        path = f"/dataset/{dataset_id}/history"
        history = client.ok("GET", path, params={"page_size": 100})
        assert set(history) == {"events", "total", "page", "page_size"}
        events = history["events"]
        assert history["total"] == len(events)
        assert [e["position"] for e in events] == sorted(e["position"] for e in events)
        for event in events:
            assert set(event) == {"position", "event_type", "actor", "at", "details"}
            assert isinstance(event["details"], dict)
        assert (events[0]["event_type"], events[0]["actor"]) == ("Created", ADMIN_EMAIL)
        types = [e["event_type"] for e in events]
        assert types[-3:] == ["Shared", "SnapshotCreated", "SnapshotUpdated"]
        assert [e["actor"] for e in events[-3:]] == [ADMIN_EMAIL, "editor@example.com", ADMIN_EMAIL]

        created = client.ok("GET", path, params={"event_type": "SnapshotCreated"})
        assert [e["actor"] for e in created["events"]] == ["editor@example.com"]
        assert created["events"][0]["details"]["checkpoint_id"] == made["snapshot_id"]
        by_editor = editor.ok("GET", path, params={"actor": "editor@example.com"})
        assert [e["event_type"] for e in by_editor["events"]] == ["SnapshotCreated"]
        assert client.ok("GET", path, params={"actor": "nobody@example.com"})["total"] == 0
        both = client.ok(
            "GET", path, params={"actor": ADMIN_EMAIL, "event_type": "SnapshotUpdated"}
        )
        assert both["total"] == 1
        first = client.ok("GET", path, params={"page_size": 1, "page": 2})
        assert first["events"] == [events[1]]
        assert first["total"] == len(events)
        since = client.ok("GET", path, params={"since": events[-1]["at"], "page_size": 100})
        assert events[-1] in since["events"]
        assert events[0] not in since["events"]
        problem(client.request("GET", path, params={"since": "last week"}), 422)
        problem(client.request("GET", f"/dataset/{uuid.uuid4()}/history"), 404)
    finally:
        editor.close()
