"""Custom metadata import, label propagation and batch tag and label edits over HTTP, on both
backends: what is stored, what the task reports, what is refused up front, who may do it."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.e2e import helpers
from tests.e2e.conftest import add_user
from tests.e2e.helpers import Deployment, finish, problem, ready_dataset
from tests.support.client import SnapsetClient
from tests.support.server import ServerProcess

no_server_errors = helpers.no_server_errors
deployment = helpers.deployment

SCHEMA = {
    "score": {"type": "float"},
    "animal": {"type": "enum", "options": ["cat", "dog"]},
    "taken": {"type": "datetime"},
}


def by_name(client: SnapsetClient, dataset_id: str) -> dict[str, dict[str, Any]]:
    return {m["file_name"]: m for m in client.media(dataset_id)}


def report(client: SnapsetClient, task_id: str) -> dict[str, Any]:
    body = client.ok("GET", f"/tasks/{task_id}/report")
    assert body["task_id"] == task_id
    result: dict[str, Any] = body["report"]
    return result


def history(client: SnapsetClient, dataset_id: str, event_type: str) -> list[dict[str, Any]]:
    body = client.ok(
        "GET", f"/dataset/{dataset_id}/history", params={"event_type": event_type, "page_size": 100}
    )
    events: list[dict[str, Any]] = body["events"]
    return events


def csv_text(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def upload(
    client: SnapsetClient,
    dataset_id: str,
    name: str,
    data: bytes,
    key: str,
    schema: dict[str, Any] = SCHEMA,
) -> Any:
    return client.request(
        "POST",
        f"/dataset/{dataset_id}/custom_metadata",
        data={"schema": json.dumps(schema), "key": key},
        files=[("file", (name, data))],
    )


def staged_folders(server: ServerProcess) -> list[Path]:
    staging = Path(server.data_dir) / "staging"
    return sorted(staging.iterdir()) if staging.exists() else []


def test_json_rows_import_good_rows_in_one_change_and_report_the_bad_ones(
    client: SnapsetClient, server: ServerProcess, tmp_path: Path
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "pets", images=3)
    first, second, third = sorted(
        by_name(client, dataset_id).values(), key=lambda m: m["file_name"]
    )
    rows = [
        {
            "media_id": first["media_id"],
            "score": 1.5,
            "animal": "cat",
            "taken": "2026-03-01T10:30:00+02:00",
        },
        {"media_id": second["media_id"], "score": "12abc", "animal": "maybe"},
        {"media_id": "not-an-item", "score": 2},
        {"media_id": third["media_id"], "score": 3},
    ]
    started = client.ok(
        "POST",
        f"/dataset/{dataset_id}/custom_metadata",
        expect=202,
        json={"schema": SCHEMA, "key": "media_id", "rows": rows},
    )
    task = finish(client, started)
    assert task["task_type"] == "CUSTOM_METADATA"

    items = {m["media_id"]: m for m in client.media(dataset_id)}
    taken = datetime.fromisoformat("2026-03-01T10:30:00+02:00").astimezone(UTC)
    assert items[first["media_id"]]["metadata"] == {
        "score": 1.5,
        "animal": "cat",
        "taken": taken.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    assert items[second["media_id"]]["metadata"] == {}, "bad values are not coerced"
    assert items[third["media_id"]]["metadata"] == {"score": 3.0}
    assert report(client, started["task_id"]) == {
        "inserted_rows": 2,
        "rejected_rows": 2,
        "error_count": 3,
        "errors": [
            {"row": 2, "field": "score", "detail": "expected a number, got text"},
            {
                "row": 2,
                "field": "animal",
                "detail": "'maybe' is not one of the options ('cat', 'dog')",
            },
            {
                "row": 3,
                "field": "media_id",
                "detail": "no item of the dataset has media_id 'not-an-item'",
            },
        ],
    }
    assert client.ok("GET", f"/dataset/{dataset_id}/custom_metadata/schema") == {
        "dataset_id": dataset_id,
        "schema": SCHEMA,
    }
    assert client.dataset(dataset_id)["status"] == "READY"
    completions = [
        e
        for e in history(client, dataset_id, "OperationCompleted")
        if e["details"]["task_id"] == started["task_id"]
    ]
    assert len(completions) == 1, "the good rows are published together, by one event"
    assert history(client, dataset_id, "ContentEdited") == []
    assert staged_folders(server) == [], "the staged rows are removed after the import"


def test_a_csv_upload_keyed_by_file_name_reads_text_cells(
    client: SnapsetClient, tmp_path: Path
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "pets", images=2)
    names = sorted(by_name(client, dataset_id))
    data = b"\xef\xbb\xbf" + csv_text(
        [
            ["file_name", "score", "animal", "taken"],
            [names[0], " 2.5 ", "dog", "2026-01-01T00:00:00Z"],
            [names[1], "nan", "cat", "2026-01-01T00:00:00"],
        ]
    )
    started = upload(client, dataset_id, "rows.csv", data, "file_name")
    assert started.status_code == 202, started.text
    finish(client, started.json())
    media = by_name(client, dataset_id)
    assert media[names[0]]["metadata"] == {
        "score": 2.5,
        "animal": "dog",
        "taken": "2026-01-01T00:00:00.000000Z",
    }
    assert media[names[1]]["metadata"] == {}
    found = report(client, started.json()["task_id"])
    assert (found["inserted_rows"], found["rejected_rows"]) == (1, 1)
    assert [(e["row"], e["field"]) for e in found["errors"]] == [(2, "score"), (2, "taken")]
    assert "no time zone" in found["errors"][1]["detail"]


def test_a_json_file_upload_extends_the_schema_and_a_type_change_is_refused(
    client: SnapsetClient, server: ServerProcess, tmp_path: Path
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "pets", images=2)
    media_id = client.media(dataset_id)[0]["media_id"]
    first = upload(
        client,
        dataset_id,
        "rows.json",
        json.dumps([{"media_id": media_id, "animal": "cat"}]).encode(),
        "media_id",
        {"animal": {"type": "enum", "options": ["cat"]}},
    )
    finish(client, first.json())
    more = {
        "animal": {"type": "enum", "options": ["dog"]},
        "tags": {"type": "multi_enum", "options": ["a", "b"]},
        "page": "link",
    }
    second = upload(
        client,
        dataset_id,
        "rows.json",
        json.dumps(
            [{"media_id": media_id, "tags": ["b", "a"], "page": "https://example.com/x"}]
        ).encode(),
        "media_id",
        more,
    )
    finish(client, second.json())
    assert client.ok("GET", f"/dataset/{dataset_id}/custom_metadata/schema")["schema"] == {
        "animal": {"type": "enum", "options": ["cat", "dog"]},
        "tags": {"type": "multi_enum", "options": ["a", "b"]},
        "page": {"type": "link"},
    }
    assert {m["media_id"]: m for m in client.media(dataset_id)}[media_id]["metadata"] == {
        "animal": "cat",
        "tags": ["a", "b"],
        "page": "https://example.com/x",
    }

    detail = problem(
        client.request(
            "POST",
            f"/dataset/{dataset_id}/custom_metadata",
            json={
                "schema": {"animal": "string"},
                "key": "media_id",
                "rows": [{"media_id": media_id}],
            },
        ),
        422,
    )
    assert "already has type enum" in detail
    assert staged_folders(server) == []


def test_what_can_be_checked_up_front_is_refused_before_a_task_starts(
    client: SnapsetClient, server: ServerProcess, tmp_path: Path
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "pets", images=1)
    path = f"/dataset/{dataset_id}/custom_metadata"
    good = {"schema": SCHEMA, "key": "media_id", "rows": [{"media_id": "x"}]}
    for body, words in [
        ({**good, "schema": {"1bad": "string"}}, "must start with a letter"),
        ({**good, "schema": {"a": "integer"}}, "the types are"),
        ({**good, "schema": {"a": {"type": "enum", "options": []}}}, "non-empty list"),
        ({**good, "key": "name"}, "key"),
        ({**good, "rows": []}, "at least one row"),
        ({**good, "rows": [5]}, "rows"),
        ({**good, "extra": 1}, "extra"),
    ]:
        assert words in problem(client.request("POST", path, json=body), 422)
    for name, data, words in [
        ("rows.csv", csv_text([["file_name", "score"]]), "no 'media_id' column"),
        ("rows.csv", csv_text([["media_id", "color"]]), "'color' is not a field"),
        ("rows.csv", b"", "empty"),
        ("rows.csv", b"media_id,a,a\n", "twice"),
        ("rows.json", b"[{", "not valid JSON"),
        ("rows.json", b"{}", "array of row objects"),
        ("rows.json", b"[]", "no rows"),
        ("rows.xlsx", b"media_id\n", ".csv or a .json"),
    ]:
        assert words in problem(upload(client, dataset_id, name, data, "media_id"), 422)
    form = {"schema": json.dumps(SCHEMA), "key": "media_id"}
    assert "not valid JSON" in problem(
        client.request(
            "POST", path, data={**form, "schema": "{"}, files=[("file", ("r.csv", b"media_id\n"))]
        ),
        422,
    )
    assert "exactly one" in problem(
        client.request(
            "POST",
            path,
            data=form,
            files=[("file", ("a.csv", b"media_id\n")), ("file", ("b.csv", b"media_id\n"))],
        ),
        422,
    )
    assert "Unknown form field" in problem(
        client.request(
            "POST", path, data={**form, "other": "x"}, files=[("file", ("r.csv", b"media_id\n"))]
        ),
        422,
    )
    assert client.tasks(dataset_id=dataset_id, task_type="CUSTOM_METADATA")["total"] == 0
    assert staged_folders(server) == []


def test_tags_are_added_and_removed_in_one_edit_all_or_nothing(
    client: SnapsetClient, tmp_path: Path
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "pets", images=3)
    ids = sorted(m["media_id"] for m in client.media(dataset_id))
    path = f"/dataset/{dataset_id}/media/tags"
    edits_before = len(history(client, dataset_id, "ContentEdited"))

    added = client.ok(
        "POST", path, json={"media_ids": [ids[0], ids[1], ids[0]], "add": ["zebra", "apple"]}
    )
    assert added == {"updated": 2, "media_ids": [ids[0], ids[1]]}
    assert len(history(client, dataset_id, "ContentEdited")) == edits_before + 1
    removed = client.ok("POST", path, json={"media_ids": ids, "remove": ["zebra"], "add": ["kiwi"]})
    assert removed == {"updated": 3, "media_ids": ids}
    tags = {m["media_id"]: m["tags"] for m in client.media(dataset_id)}
    assert tags == {ids[0]: ["apple", "kiwi"], ids[1]: ["apple", "kiwi"], ids[2]: ["kiwi"]}
    assert client.ok("POST", path, json={"media_ids": ids, "add": ["kiwi"]}) == {
        "updated": 0,
        "media_ids": [],
    }

    detail = problem(
        client.request("POST", path, json={"media_ids": [ids[2], "nope"], "add": ["never"]}), 404
    )
    assert "'nope'" in detail
    assert "never" not in {t for m in client.media(dataset_id) for t in m["tags"]}
    for body in [
        {"media_ids": ids},
        {"media_ids": ids, "add": ["a"], "remove": ["a"]},
        {"media_ids": [], "add": ["a"]},
        {"media_ids": ids, "add": [" padded"]},
        {"media_ids": ids, "add": ["x" * 101]},
        {"media_ids": ["m"] * 10_001, "add": ["a"]},
    ]:
        problem(client.request("POST", path, json=body), 422)


def test_labels_are_set_added_and_removed(client: SnapsetClient, tmp_path: Path) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "pets", images=2)
    ids = sorted(m["media_id"] for m in client.media(dataset_id))
    path = f"/dataset/{dataset_id}/media/labels"
    cat = {"class_name": "cat", "bbox": [0, 0, 10, 5]}
    dog = {"class_name": "dog"}

    def labels() -> dict[str, list[dict[str, Any]]]:
        return {m["media_id"]: m["labels"] for m in client.media(dataset_id)}

    assert (
        client.ok("POST", path, json={"media_ids": ids, "labels": [cat, cat], "mode": "set"})[
            "updated"
        ]
        == 2
    )
    stored_cat = {
        "class_name": "cat",
        "bbox": [0.0, 0.0, 10.0, 5.0],
        "source": "manual",
        "source_media_id": None,
    }
    assert labels() == {ids[0]: [stored_cat], ids[1]: [stored_cat]}
    client.ok("POST", path, json={"media_ids": [ids[0]], "labels": [cat, dog], "mode": "add"})
    stored_dog = {"class_name": "dog", "bbox": None, "source": "manual", "source_media_id": None}
    assert labels()[ids[0]] == [stored_cat, stored_dog]
    client.ok(
        "POST", path, json={"media_ids": ids, "labels": [{"class_name": "cat"}], "mode": "remove"}
    )
    assert labels() == {ids[0]: [stored_dog], ids[1]: []}
    assert client.ok("POST", path, json={"media_ids": [ids[0]], "labels": [], "mode": "set"}) == {
        "updated": 1,
        "media_ids": [ids[0]],
    }
    assert labels()[ids[0]] == []

    assert "'gone'" in problem(
        client.request(
            "POST", path, json={"media_ids": [ids[0], "gone"], "labels": [cat], "mode": "set"}
        ),
        404,
    )
    assert labels()[ids[0]] == []
    for label in [
        {"class_name": "cat", "bbox": [0, 0, 0, 5]},
        {"class_name": "cat", "bbox": [-1, 0, 1, 1]},
        {"class_name": "cat", "bbox": [0, 0, 1]},
        {"class_name": "cat", "bbox": ["0", 0, 1, 1]},
        {"class_name": ""},
        {"class_name": "cat", "colour": "red"},
    ]:
        problem(client.request("POST", path, json={"media_ids": ids, "labels": [label]}), 422)
    problem(client.request("POST", path, json={"media_ids": ids, "labels": [], "mode": "add"}), 422)


def test_label_propagation_needs_clusters(client: SnapsetClient, tmp_path: Path) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "pets", images=2)
    media_id = client.media(dataset_id)[0]["media_id"]
    detail = problem(
        client.request(
            "POST", f"/dataset/{dataset_id}/propagate_labels", json={"media_ids": [media_id]}
        ),
        409,
    )
    assert "re-index" in detail
    problem(
        client.request("POST", f"/dataset/{dataset_id}/propagate_labels", json={"media_ids": []}),
        422,
    )


def test_viewers_may_read_the_schema_but_not_write_and_strangers_see_nothing(
    client: SnapsetClient, server: ServerProcess, tmp_path: Path
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "pets", images=1)
    media_id = client.media(dataset_id)[0]["media_id"]
    viewer = add_user(server, "viewer@example.com")
    stranger = add_user(server, "stranger@example.com")
    client.ok(
        "POST",
        f"/dataset/{dataset_id}/share",
        json={"user_email": "viewer@example.com", "role": "viewer"},
    )
    base = f"/dataset/{dataset_id}"
    writes: list[tuple[str, dict[str, Any]]] = [
        (
            "/custom_metadata",
            {"schema": SCHEMA, "key": "media_id", "rows": [{"media_id": media_id, "score": 1}]},
        ),
        ("/propagate_labels", {"media_ids": [media_id]}),
        ("/media/tags", {"media_ids": [media_id], "add": ["x"]}),
        ("/media/labels", {"media_ids": [media_id], "labels": [{"class_name": "x"}]}),
    ]
    try:
        for path, body in writes:
            problem(viewer.request("POST", base + path, json=body), 403)
            problem(stranger.request("POST", base + path, json=body), 404)
        assert problem(upload(viewer, dataset_id, "r.csv", b"media_id\n", "media_id"), 403)
        assert viewer.ok("GET", f"{base}/custom_metadata/schema")["schema"] == {}
        problem(stranger.request("GET", f"{base}/custom_metadata/schema"), 404)
        assert client.media(dataset_id)[0]["tags"] == []
        assert staged_folders(server) == []
    finally:
        viewer.close()
        stranger.close()


def test_a_pending_import_makes_the_dataset_read_only_and_refuses_other_edits(
    deployment: Deployment, tmp_path: Path
) -> None:
    server = deployment.server
    client = SnapsetClient(server.base_url, server.api_key, server.api_secret)
    try:
        deployment.start("worker")
        dataset_id = ready_dataset(client, tmp_path / "media", "busy", images=2)
        media_id = client.media(dataset_id)[0]["media_id"]
        deployment.stop("worker")

        body = {"schema": SCHEMA, "key": "media_id", "rows": [{"media_id": media_id, "score": 4}]}
        started = client.ok("POST", f"/dataset/{dataset_id}/custom_metadata", expect=202, json=body)
        assert client.dataset(dataset_id)["status"] == "READ ONLY"
        base = f"/dataset/{dataset_id}"
        problem(client.request("POST", f"{base}/custom_metadata", json=body), 409)
        problem(
            upload(
                client,
                dataset_id,
                "r.csv",
                csv_text([["media_id", "score"], [media_id, "1"]]),
                "media_id",
            ),
            409,
        )
        problem(
            client.request(
                "POST", f"{base}/media/tags", json={"media_ids": [media_id], "add": ["x"]}
            ),
            409,
        )
        problem(
            client.request(
                "POST",
                f"{base}/media/labels",
                json={"media_ids": [media_id], "labels": [{"class_name": "x"}]},
            ),
            409,
        )
        assert len(staged_folders(server)) == 1, "only the pending task's rows stay staged"

        deployment.start("worker")
        finish(client, started)
        assert client.dataset(dataset_id)["status"] == "READY"
        assert {m["media_id"]: m for m in client.media(dataset_id)}[media_id]["metadata"] == {
            "score": 4.0
        }
    finally:
        client.close()
