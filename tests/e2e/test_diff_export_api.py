"""Version diffs, restore previews (dry runs) and exports over HTTP, on both backends.

A diff goes FROM `against` TO `snapshot_id`. A dry-run restore answers the diff the restore
would apply and changes nothing. An export is a side task: it blocks nothing, a viewer may
start it, and its zip holds exactly the version's records and the original media bytes.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

from tests.e2e import helpers
from tests.e2e.conftest import add_user
from tests.e2e.helpers import Deployment, finish, imports_root, problem, ready_dataset
from tests.support.client import SnapsetClient
from tests.support.media import folder_of_media, image
from tests.support.server import ServerProcess

no_server_errors = helpers.no_server_errors
deployment = helpers.deployment

MEDIA_KEYS = (
    "media_id",
    "kind",
    "file_name",
    "blob",
    "size",
    "width",
    "height",
    "duration",
    "metadata",
    "tags",
    "labels",
    "enrichment",
    "cluster_id",
)
STATUS_FIELDS = {"status", "download_uri", "progress_percentage", "error_message"}


def diff(client: SnapsetClient, dataset_id: str, snapshot: str, **query: Any) -> dict[str, Any]:
    result: dict[str, Any] = client.ok(
        "GET", f"/dataset/{dataset_id}/snapshot/{snapshot}/diff", params=query
    )
    return result


def dry_run(client: SnapsetClient, dataset_id: str, snapshot: str, **query: Any) -> dict[str, Any]:
    result: dict[str, Any] = client.ok(
        "POST",
        f"/dataset/{dataset_id}/snapshot/{snapshot}/restore",
        params={"dry_run": "true", **query},
    )
    return result


def parts_by_id(body: dict[str, Any]) -> dict[str, list[str]]:
    return {item["media_id"]: item["parts"] for item in body["changed"]}


def ids(items: list[dict[str, Any]]) -> set[str]:
    return {item["media_id"] for item in items}


def start_export(client: SnapsetClient, dataset_id: str, **query: Any) -> str:
    body = client.ok("GET", f"/dataset/{dataset_id}/export_context_async", params=query)
    assert set(body) == {"id"}
    assert helpers.UUID_RE.match(body["id"])
    return str(body["id"])


def export_status(client: SnapsetClient, dataset_id: str, task_id: str) -> dict[str, Any]:
    status: dict[str, Any] = client.ok(
        "GET", f"/dataset/{dataset_id}/export_status", params={"export_task_id": task_id}
    )
    assert set(status) == STATUS_FIELDS
    return status


def exported(client: SnapsetClient, dataset_id: str, task_id: str) -> zipfile.ZipFile:
    """Wait for the export, check its status, download its zip."""
    assert client.wait_task(task_id)["status"] == "COMPLETED"
    status = export_status(client, dataset_id, task_id)
    uri = f"/api/v1/dataset/{dataset_id}/export/{task_id}/download"
    assert status == {
        "status": "COMPLETED",
        "download_uri": uri,
        "progress_percentage": 100,
        "error_message": None,
    }
    response = client.http.get(uri)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith("attachment;")
    report = client.ok("GET", f"/tasks/{task_id}/report")["report"]
    assert (report["download_uri"], report["bytes"]) == (uri, len(response.content))
    return zipfile.ZipFile(io.BytesIO(response.content))


def records_of(media: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The version's records as the media endpoint shows them, in export order."""
    return sorted(
        ({k: m.get(k) for k in MEDIA_KEYS} for m in media),
        key=lambda m: (m["file_name"], m["media_id"]),
    )


def test_a_diff_names_exactly_the_changed_parts_both_ways_and_pages(
    server: ServerProcess, client: SnapsetClient, other_user: SnapsetClient, tmp_path: Path
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "diffed", images=3)
    [creation] = client.snapshots(dataset_id)
    first, second, _ = client.media(dataset_id)
    client.edit_media(dataset_id, first["media_id"], tags=["cat"])
    client.edit_media(dataset_id, second["media_id"], metadata={"camera": "x100"})

    forward = diff(client, dataset_id, "current", against=creation["snapshot_id"])
    assert (forward["snapshot_id"], forward["against"]) == ("current", creation["snapshot_id"])
    assert forward["counts"] == {"added": 0, "removed": 0, "changed": 2}
    assert parts_by_id(forward) == {first["media_id"]: ["tags"], second["media_id"]: ["metadata"]}
    named = {item["media_id"]: item["file_name"] for item in forward["changed"]}
    assert named == {first["media_id"]: first["file_name"], second["media_id"]: second["file_name"]}
    backward = diff(client, dataset_id, creation["snapshot_id"])  # against defaults to current
    assert (backward["snapshot_id"], backward["against"]) == (creation["snapshot_id"], "current")
    assert (backward["counts"], parts_by_id(backward)) == (forward["counts"], parts_by_id(forward))
    nothing = diff(client, dataset_id, "current")
    assert (nothing["counts"], nothing["total"], nothing["changed"]) == (
        {"added": 0, "removed": 0, "changed": 0},
        0,
        [],
    )
    assert nothing["facets"] == {}

    edited = client.create_snapshot(dataset_id, name="edited")
    image(imports_root(server) / "more" / "new.png", 20, 20)
    finish(
        client,
        client.ok("POST", f"/dataset/{dataset_id}/media", expect=202, json={"source_path": "more"}),
    )
    [added] = [m for m in client.media(dataset_id) if m["file_name"] == "new.png"]
    grown = diff(client, dataset_id, "current", against=creation["snapshot_id"])
    assert grown["counts"] == {"added": 1, "removed": 0, "changed": 2}
    assert grown["added"] == [
        {"media_id": added["media_id"], "kind": "image", "file_name": "new.png"}
    ]
    shrunk = diff(client, dataset_id, creation["snapshot_id"], against="current")
    assert shrunk["counts"] == {"added": 0, "removed": 1, "changed": 2}
    assert ids(shrunk["removed"]) == {added["media_id"]}
    between = diff(client, dataset_id, edited["snapshot_id"], against=creation["snapshot_id"])
    assert parts_by_id(between) == parts_by_id(forward)

    seen: list[str] = []
    for page in (1, 2, 3, 4):
        body = diff(
            client, dataset_id, "current", against=creation["snapshot_id"], page=page, page_size=1
        )
        assert (body["counts"], body["total"], body["page"], body["page_size"]) == (
            grown["counts"],
            3,
            page,
            1,
        )
        seen += [
            item["media_id"] for kind in ("added", "removed", "changed") for item in body[kind]
        ]
    assert sorted(seen) == sorted(ids(grown["added"]) | ids(grown["changed"]))

    base = f"/dataset/{dataset_id}/snapshot"
    problem(client.request("GET", f"{base}/{uuid.uuid4()}/diff"), 404)
    problem(client.request("GET", f"{base}/nope/diff"), 404)
    problem(client.request("GET", f"{base}/current/diff", params={"against": "nope"}), 404)
    problem(
        client.request("GET", f"{base}/current/diff", params={"against": str(uuid.uuid4())}), 404
    )
    problem(client.request("GET", f"{base}/current/diff", params={"page": 0}), 422)
    problem(client.request("GET", f"{base}/current/diff", params={"colour": "red"}), 422)
    client.create_snapshot(dataset_id, name="latest")
    client.delete_snapshot(dataset_id, edited["snapshot_id"])
    problem(client.request("GET", f"{base}/{edited['snapshot_id']}/diff"), 404)
    problem(
        client.request("GET", f"{base}/current/diff", params={"against": edited["snapshot_id"]}),
        404,
    )
    problem(other_user.request("GET", f"{base}/current/diff"), 404)


def test_a_dry_run_restore_answers_the_diff_and_changes_nothing(
    server: ServerProcess, client: SnapsetClient, tmp_path: Path
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "previewed", images=2)
    [creation] = client.snapshots(dataset_id)
    target = client.media(dataset_id)[0]
    client.edit_media(dataset_id, target["media_id"], tags=["unsaved"], metadata={"checked": True})
    history = client.ok("GET", f"/dataset/{dataset_id}/history", params={"page_size": 100})
    snapshots, media = client.snapshots(dataset_id), client.media(dataset_id)
    tasks, dataset = client.tasks(dataset_id=dataset_id), client.dataset(dataset_id)

    preview = dry_run(client, dataset_id, creation["snapshot_id"])
    assert (preview["snapshot_id"], preview["against"]) == (creation["snapshot_id"], "current")
    assert preview["counts"] == {"added": 0, "removed": 0, "changed": 1}
    assert parts_by_id(preview) == {target["media_id"]: ["metadata", "tags"]}
    assert preview == diff(client, dataset_id, creation["snapshot_id"])
    # `current` restores the current snapshot, which here is the creation snapshot.
    assert dry_run(client, dataset_id, "current") == preview

    assert client.ok("GET", f"/dataset/{dataset_id}/history", params={"page_size": 100}) == history
    assert client.snapshots(dataset_id) == snapshots, "not even an automatic snapshot"
    assert client.media(dataset_id) == media
    assert client.tasks(dataset_id=dataset_id) == tasks
    assert client.dataset(dataset_id) == dataset

    base = f"/dataset/{dataset_id}/snapshot"
    problem(
        client.request("POST", f"{base}/{uuid.uuid4()}/restore", params={"dry_run": "true"}), 404
    )
    problem(
        client.request(
            "POST", f"{base}/{creation['snapshot_id']}/restore", params={"dry_run": "perhaps"}
        ),
        422,
    )
    viewer = add_user(server, "viewer@example.com")
    stranger = add_user(server, "stranger@example.com")
    try:
        client.ok(
            "POST",
            f"/dataset/{dataset_id}/share",
            json={"user_email": "viewer@example.com", "role": "viewer"},
        )
        problem(
            viewer.request(
                "POST", f"{base}/{creation['snapshot_id']}/restore", params={"dry_run": "true"}
            ),
            403,
        )
        problem(
            stranger.request(
                "POST", f"{base}/{creation['snapshot_id']}/restore", params={"dry_run": "true"}
            ),
            404,
        )
    finally:
        viewer.close()
        stranger.close()

    finish(
        client,
        client.ok(
            "POST",
            f"{base}/{creation['snapshot_id']}/restore",
            expect=202,
            params={"dry_run": "false"},
        ),
    )
    after = dry_run(client, dataset_id, creation["snapshot_id"])
    assert (after["counts"], after["total"]) == ({"added": 0, "removed": 0, "changed": 0}, 0)


def test_a_dry_run_on_a_busy_dataset_is_refused_and_an_export_is_not_blocked(
    deployment: Deployment, tmp_path: Path
) -> None:
    server = deployment.server
    client = SnapsetClient(server.base_url, server.api_key, server.api_secret)
    try:
        deployment.start("worker")
        dataset_id = ready_dataset(client, tmp_path / "media", "busy", images=2)
        [creation] = client.snapshots(dataset_id)
        client.edit_media(dataset_id, client.media(dataset_id)[0]["media_id"], tags=["new"])
        before = client.media(dataset_id)
        deployment.stop("worker")

        restoring = client.restore(dataset_id, creation["snapshot_id"])
        problem(
            client.request(
                "POST",
                f"/dataset/{dataset_id}/snapshot/current/restore",
                params={"dry_run": "true"},
            ),
            409,
        )
        problem(
            client.request(
                "POST",
                f"/dataset/{dataset_id}/snapshot/{creation['snapshot_id']}/restore",
                params={"dry_run": "true"},
            ),
            409,
        )

        export_id = start_export(client, dataset_id)
        assert export_status(client, dataset_id, export_id) == {
            "status": "INITIALIZING",
            "download_uri": None,
            "progress_percentage": None,
            "error_message": None,
        }
        assert client.dataset(dataset_id)["status"] == "READ ONLY"
        problem(client.request("GET", f"/dataset/{dataset_id}/export/{export_id}/download"), 409)

        deployment.start("worker")
        finish(client, restoring)
        archive = exported(client, dataset_id, export_id)
        items = json.loads(archive.read("metadata.json"))["items"]
        assert [{k: item.get(k) for k in MEDIA_KEYS} for item in items] == records_of(before)
        assert client.media(dataset_id) != before, "the restore went ahead meanwhile"
    finally:
        client.close()


def test_exports_hold_a_versions_records_and_original_media(
    server: ServerProcess, client: SnapsetClient, other_user: SnapsetClient, tmp_path: Path
) -> None:
    folder = folder_of_media(tmp_path / "media", images=2, videos=1)
    originals = {p.name: p.read_bytes() for p in folder.iterdir()}
    dataset_id = client.create_dataset("exported", files=sorted(folder.iterdir()))
    client.wait_status(dataset_id, "READY")
    [creation] = client.snapshots(dataset_id)
    at_creation = client.media(dataset_id)
    target = at_creation[0]["media_id"]
    client.edit_media(dataset_id, target, tags=["kept"], metadata={"score": 0.5})
    current = client.media(dataset_id)
    assert current != at_creation

    archive = exported(client, dataset_id, start_export(client, dataset_id, include_media="true"))
    metadata = json.loads(archive.read("metadata.json"))
    assert [{k: item.get(k) for k in MEDIA_KEYS} for item in metadata["items"]] == records_of(
        current
    )
    header = metadata["dataset"]
    assert (header["id"], header["name"], header["snapshot_id"]) == (
        dataset_id,
        "exported",
        "current",
    )
    assert header["counts"]["items"] == len(current)
    assert (header["counts"]["images"], header["counts"]["videos"]) == (2, 1)
    assert set(archive.namelist()) == {"metadata.json", *metadata["media"].values()}
    for item in metadata["items"]:
        path = metadata["media"][item["media_id"]]
        assert path == f"media/{item['media_id']}{Path(item['file_name']).suffix}"
        assert archive.read(path) == originals[item["file_name"]]

    older = exported(
        client, dataset_id, start_export(client, dataset_id, snapshot_id=creation["snapshot_id"])
    )
    assert older.namelist() == ["metadata.json"]
    metadata = json.loads(older.read("metadata.json"))
    assert metadata["dataset"]["snapshot_id"] == creation["snapshot_id"]
    assert "media" not in metadata
    assert [{k: item.get(k) for k in MEDIA_KEYS} for item in metadata["items"]] == records_of(
        at_creation
    )
    assert client.media(dataset_id) == current, "exporting a snapshot restores nothing"

    client.ok(
        "POST",
        f"/dataset/{dataset_id}/share",
        json={"user_email": "stranger@example.com", "role": "viewer"},
    )
    viewers = exported(other_user, dataset_id, start_export(other_user, dataset_id))
    assert json.loads(viewers.read("metadata.json"))["dataset"]["snapshot_id"] == "current"


def test_export_inputs_strangers_and_disabled_snapshots_get_clear_4xx_answers(
    server: ServerProcess, client: SnapsetClient, other_user: SnapsetClient, tmp_path: Path
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "guarded", images=1)
    export_id = start_export(client, dataset_id)
    assert client.wait_task(export_id)["status"] == "COMPLETED"
    base = f"/dataset/{dataset_id}"
    download = f"{base}/export/{export_id}/download"
    assert client.request("GET", download).status_code == 200

    problem(other_user.request("GET", download), 404)
    problem(
        other_user.request("GET", f"{base}/export_status", params={"export_task_id": export_id}),
        404,
    )
    problem(other_user.request("GET", f"{base}/export_context_async"), 404)
    problem(client.request("GET", f"{base}/export_status", params={"export_task_id": "nope"}), 422)
    problem(client.request("GET", f"{base}/export_status"), 422)
    problem(
        client.request(
            "GET", f"{base}/export_status", params={"export_task_id": str(uuid.uuid4())}
        ),
        404,
    )
    [creation_task] = client.tasks(dataset_id=dataset_id, task_type="DATASET_CREATION")["tasks"]
    problem(
        client.request(
            "GET", f"{base}/export_status", params={"export_task_id": creation_task["task_id"]}
        ),
        404,
    )
    problem(client.request("GET", f"{base}/export/{creation_task['task_id']}/download"), 404)
    problem(client.request("GET", f"{base}/export/nope/download"), 404)
    problem(
        client.request(
            "GET", f"{base}/export_context_async", params={"snapshot_id": str(uuid.uuid4())}
        ),
        404,
    )
    problem(
        client.request("GET", f"{base}/export_context_async", params={"snapshot_id": "nope"}), 422
    )
    problem(
        client.request(
            "GET", f"{base}/export_context_async", params={"include_media": "sometimes"}
        ),
        422,
    )
    plain = client.create_dataset(
        "plain", files=[image(tmp_path / "p.png")], snapshot_support=False
    )
    client.wait_status(plain, "READY")
    problem(client.request("GET", f"/dataset/{plain}/snapshot/current/diff"), 403)
    problem(
        client.request(
            "POST", f"/dataset/{plain}/snapshot/current/restore", params={"dry_run": "true"}
        ),
        403,
    )
    other = ready_dataset(client, tmp_path / "other", "other", images=1)
    problem(client.request("GET", f"/dataset/{other}/export/{export_id}/download"), 404)
    problem(
        client.request(
            "GET", f"/dataset/{other}/export_status", params={"export_task_id": export_id}
        ),
        404,
    )
