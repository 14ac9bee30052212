"""Bad input over HTTP: every malformed request gets a 4xx with a JSON detail, never a 500."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.e2e import helpers
from tests.e2e.helpers import problem, ready_dataset
from tests.support.client import SnapsetClient
from tests.support.server import ServerProcess, start_server

no_server_errors = helpers.no_server_errors
JSON = {"Content-Type": "application/json"}


def test_unreadable_json_bodies_are_400_and_schema_violations_422(
    client: SnapsetClient, tmp_path: Path
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "inputs", images=1)
    [snapshot] = client.snapshots(dataset_id)
    snap = f"/dataset/{dataset_id}/snapshot/{snapshot['snapshot_id']}"
    posts = ["/dataset", f"/dataset/{dataset_id}/snapshot", f"/dataset/{dataset_id}/share"]
    for path in posts:
        for raw in (
            b'{"dataset_name": ',
            b"{'a': 1}",
            b"nul",
            b"\xff\xfe{}",
            b'{"a": NaN',
            b'{"a": 1} trailing',
        ):
            problem(client.request("POST", path, content=raw, headers=JSON), 400)
        for body in (b"[]", b'["dataset_name"]', b"42", b'"text"', b"null", b"true"):
            problem(client.request("POST", path, content=body, headers=JSON), 400)
        problem(
            client.request("POST", path, content=b"name=x", headers={"Content-Type": "text/plain"}),
            400,
        )
    problem(client.request("PATCH", snap, content=b"{", headers=JSON), 400)
    problem(client.request("PATCH", snap, content=b"[]", headers=JSON), 400)

    for path, body in (
        ("/dataset", {"dataset_name": "x", "colour": "red"}),
        ("/dataset", {"dataset_name": 5}),
        ("/dataset", {"dataset_name": ["x"]}),
        ("/dataset", {"dataset_name": "x", "snapshot_support": "maybe"}),
        ("/dataset", {"dataset_name": "x", "source_path": 7}),
        (f"/dataset/{dataset_id}/snapshot", {"name": 5}),
        (f"/dataset/{dataset_id}/snapshot", {"name": "x", "extra": True}),
        (f"/dataset/{dataset_id}/snapshot", {"description": {"nested": 1}}),
        (f"/dataset/{dataset_id}/share", {"user_email": "a@b.c"}),
        (f"/dataset/{dataset_id}/share", {"user_email": 1, "role": "viewer"}),
    ):
        response = client.request("POST", path, json=body)
        detail = problem(response, 422)
        errors = response.json().get("errors")
        assert errors is None or isinstance(errors, list), detail
    for body in ({"name": 1}, {"description": []}, {"name": "x", "reason": "manual"}):
        problem(client.request("PATCH", snap, json=body), 422)
    problem(
        client.request(
            "PATCH", f"/dataset/{dataset_id}/media/whatever", json={"tags": "not-a-list"}
        ),
        422,
    )
    assert [s["snapshot_id"] for s in client.snapshots(dataset_id)] == [snapshot["snapshot_id"]], (
        "no bad request changed anything"
    )
    assert client.ok("GET", "/datasets")["total"] == 1


def test_deeply_nested_json_is_refused_without_a_server_error(client: SnapsetClient) -> None:
    depth = 100_000
    for body in (
        "[" * depth + "]" * depth,
        '{"dataset_name": ' + "[" * depth + "]" * depth + "}",
        '{"a":' * depth + "1" + "}" * depth,
    ):
        response = client.request("POST", "/dataset", content=body.encode(), headers=JSON)
        assert 400 <= response.status_code < 500, response.status_code
        problem(response, response.status_code)
    assert client.ok("GET", "/datasets")["total"] == 0
    assert httpx.get(f"{client.base_url}/healthz").status_code == 200


def test_unknown_paths_are_404_and_wrong_methods_405_with_a_json_detail(
    client: SnapsetClient,
) -> None:
    for path in (
        "/api/v1/nothing",
        "/api/v2/datasets",
        "/nothing",
        "/api/v1/datasets/x",
        f"/api/v1/dataset/{uuid.uuid4()}/nothing",
        "/api/v1/tasks/a/b/c",
    ):
        problem(client.http.get(path), 404)
    for method, path, allowed in (
        ("PUT", "/api/v1/datasets", {"GET"}),
        ("GET", "/api/v1/dataset", {"POST"}),
        ("DELETE", "/api/v1/tasks", {"GET"}),
        ("PUT", f"/api/v1/dataset/{uuid.uuid4()}/snapshot", {"GET", "POST"}),
        ("GET", f"/api/v1/dataset/{uuid.uuid4()}/snapshot/x/restore", {"POST"}),
        # A literal segment beside a parameter (/media/tags beside /media/{media_id}):
        # the literal route says what it allows.
        ("PUT", f"/api/v1/dataset/{uuid.uuid4()}/media/tags", {"POST"}),
        ("DELETE", f"/api/v1/dataset/{uuid.uuid4()}/media/labels", {"POST"}),
        ("POST", "/healthz", {"GET"}),
        ("DELETE", "/openapi.json", {"GET"}),
    ):
        response = client.http.request(method, path)
        problem(response, 405)
        allow = {m.strip() for m in response.headers.get("allow", "").split(",")}
        assert allowed <= allow, f"{method} {path}: Allow {allow}"


def test_bad_headers_and_query_strings_are_4xx(client: SnapsetClient) -> None:
    problem(client.request("GET", "/tasks", params=[("page", "1"), ("page", "2")]), 400)
    problem(
        client.request(
            "POST", "/dataset", json={"dataset_name": "x"}, headers={"Idempotency-Key": "k" * 201}
        ),
        400,
    )
    problem(
        client.request(
            "POST", "/dataset", json={"dataset_name": "x"}, headers={"Idempotency-Key": "has space"}
        ),
        400,
    )
    problem(client.request("GET", "/datasets", headers={"X-Snapset-Min-Position": "-1"}), 400)
    problem(client.request("GET", "/datasets", params={"page": "9" * 30}), 422)
    problem(client.request("GET", "/tasks", params={"page_size": "1e3"}), 422)
    problem(
        client.request(
            "POST",
            "/dataset",
            content=b"x" * 10,
            headers={"Content-Type": "multipart/form-data; boundary=zzz"},
        ),
        400,
    )
    assert client.ok("GET", "/datasets")["total"] == 0


def running(tmp_path: Path, limit: int, upload_limit: int) -> Iterator[ServerProcess]:
    server = start_server(
        tmp_path / "limited",
        extra_env={
            "SNAPSET_MAX_BODY_BYTES": str(limit),
            "SNAPSET_MAX_UPLOAD_BYTES": str(upload_limit),
        },
    )
    try:
        yield server
    finally:
        server.stop()


def test_a_body_over_the_configured_limit_is_413(tmp_path: Path) -> None:
    for server in running(tmp_path, 2048, 20_000):
        client = SnapsetClient(server.base_url, server.api_key, server.api_secret)
        try:
            big = {"dataset_name": "big", "description": "d" * 1900, "padding": "p" * 500}
            problem(client.request("POST", "/dataset", json=big), 413)

            def chunks() -> Iterator[bytes]:
                yield b'{"dataset_name": "chunked", "description": "'
                for _ in range(10):
                    yield b"c" * 500
                yield b'"}'

            problem(client.request("POST", "/dataset", content=chunks(), headers=JSON), 413)
            problem(
                client.request(
                    "PATCH", f"/dataset/{uuid.uuid4()}/snapshot/x", json={"name": "n" * 3000}
                ),
                413,
            )
            upload = [("files", ("big.png", b"\x89PNG" + b"0" * 30_000))]
            problem(
                client.request("POST", "/dataset", files=upload, data={"dataset_name": "upload"}),
                413,
            )
            assert client.ok("GET", "/datasets")["total"] == 0
            small = client.create_dataset("small", description="d" * 1000)
            assert client.ok("GET", "/datasets")["total"] == 1
            assert client.dataset(small)["description"] == "d" * 1000
        finally:
            client.close()
