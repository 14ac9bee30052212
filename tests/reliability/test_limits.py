"""Limits on what a request may carry, on both backends: never a 500, never a partial write.

- A body over the configured limit is 413 on every JSON route and every upload route,
  whether it declares its length or streams it; a multipart Content-Type does not lift the
  JSON limit of a route that only takes JSON.
- Deeply nested JSON (10k levels, at the top or inside a field, in a body, a form field or
  an uploaded rows file) is a 4xx with a detail.
- `page` / `page_size` outside the published bounds (API.md: tasks take 5 to 50) are 422 on
  every paginated route, and the bounds themselves are accepted.
- Uploaded archives: zip slip (`..`, absolute, backslash), symbolic links, zip bombs (by
  ratio, by headers that understate the size, a zip inside a zip) and absurd file counts
  are refused (a 4xx at upload, or the creation task skipping the archive), nothing from
  them is extracted, and the rest of the upload still counts. A multipart form with more
  files or fields than the server takes is a 4xx.
- A user with SNAPSET_MAX_OPEN_TASKS unfinished tasks gets 429 with Retry-After on every
  route that starts a task (found in /openapi.json), and nothing starts; other users are
  not held back, and a 429 does not tell a stranger whether a dataset exists.

tests/e2e/test_bad_input.py already covers 413 on POST /dataset and a PATCH, and 100k-deep
JSON on POST /dataset; tests/unit/test_ingest.py covers the zip rules below the HTTP layer;
tests/e2e/test_task_quota.py covers 429 on five of the ten task routes.
"""

from __future__ import annotations

import io
import json
import struct
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BACKENDS
from tests.e2e import helpers
from tests.e2e.helpers import Deployment, problem, ready_dataset
from tests.reliability import security_support
from tests.reliability.security_support import (
    BASE,
    JSON_ROUTES,
    MULTIPART_ROUTES,
    PAGED_ROUTES,
    SNAP,
    Named,
    add_user,
    dataset_state,
    deployed,
    ensure_ready,
    json_bodies,
    named_dataset,
    path_of,
    routes_with,
    serving_site,
    wait_final,
)
from tests.support.client import SnapsetClient
from tests.support.media import image

pytestmark = pytest.mark.reliability
no_server_errors = helpers.no_server_errors
MiB = 1 << 20
BODY_LIMIT = 64 * 1024
UPLOAD_LIMIT = 12 * MiB
DEPTH = 10_000


class Site(security_support.Site):
    def path(self, key: str) -> tuple[str, str]:
        method, template = key.split(" ", 1)
        return method, path_of(template, self.ids())

    def state(self) -> dict[str, Any]:
        staging = self.server.data_dir / "staging"
        return {
            "dataset": dataset_state(self.owner, self.dataset_id, {}),
            "datasets": self.dataset_count(),
            "staged": sorted(p.name for p in staging.iterdir()) if staging.exists() else [],
        }


@pytest.fixture(scope="module", params=BACKENDS)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    folder: Path = tmp_path_factory.mktemp(f"limits-{request.param}")
    limits = {
        "SNAPSET_MAX_BODY_BYTES": str(BODY_LIMIT),
        "SNAPSET_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT),
    }
    with serving_site(Site, request.param, folder, "limited", images=3, extra_env=limits) as built:
        yield built


def test_the_route_lists_are_the_ones_the_spec_publishes(site: Site) -> None:
    assert sorted(routes_with(site.spec, "application/json")) == sorted(JSON_ROUTES)
    assert sorted(routes_with(site.spec, "multipart/form-data")) == sorted(MULTIPART_ROUTES)
    paged = [
        f"{method.upper()} {path}"
        for path, ops in site.spec["paths"].items()
        for method, op in ops.items()
        if {"page", "page_size"} <= {p["name"] for p in op.get("parameters", [])}
    ]
    assert sorted(paged) == sorted(PAGED_ROUTES)


# Bodies over the limit.


def chunks(data: bytes, size: int = 16 * 1024) -> Iterator[bytes]:
    """The body as a stream (chunked transfer: no Content-Length to refuse it by)."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def oversized_json(site: Site, key: str) -> bytes:
    body = {**json_bodies(site.named)[key], "padding": "p" * (BODY_LIMIT + 1)}
    return json.dumps(body).encode()


@pytest.mark.parametrize("key", JSON_ROUTES, ids=JSON_ROUTES)
def test_a_json_body_over_the_limit_is_413_declared_or_streamed(site: Site, key: str) -> None:
    ensure_ready(site.owner, site.dataset_id)
    method, path = site.path(key)
    body = oversized_json(site, key)
    before = site.state()
    json_type = {"Content-Type": "application/json"}
    problem(site.owner.http.request(method, path, content=body, headers=json_type), 413)
    problem(site.owner.http.request(method, path, content=chunks(body), headers=json_type), 413)
    assert site.state() == before


JSON_ONLY = [key for key in JSON_ROUTES if key not in MULTIPART_ROUTES]


@pytest.mark.parametrize("key", JSON_ONLY, ids=JSON_ONLY)
def test_a_multipart_content_type_does_not_lift_the_json_limit(site: Site, key: str) -> None:
    """A route that only reads JSON keeps the JSON limit, whatever Content-Type says: the
    upload limit is for uploads."""
    method, path = site.path(key)
    body = b"--x\r\n" + b"p" * (4 * BODY_LIMIT) + b"\r\n--x--\r\n"
    assert len(body) < UPLOAD_LIMIT
    form_type = {"Content-Type": "multipart/form-data; boundary=x"}
    problem(site.owner.http.request(method, path, content=body, headers=form_type), 413)
    problem(site.owner.http.request(method, path, content=chunks(body), headers=form_type), 413)


def upload_fields(site: Site, key: str, payload: bytes) -> dict[str, Any]:
    if key.endswith("/custom_metadata"):
        return {
            "data": {"schema": json.dumps({"score": "float"}), "key": "media_id"},
            "files": [("file", ("rows.json", payload))],
        }
    data = {"dataset_name": "too big"} if key == "POST /api/v1/dataset" else {}
    return {"data": data, "files": [("files", ("big.png", payload))]}


@pytest.mark.parametrize("key", MULTIPART_ROUTES, ids=MULTIPART_ROUTES)
def test_an_upload_over_the_limit_is_413_declared_or_streamed(site: Site, key: str) -> None:
    ensure_ready(site.owner, site.dataset_id)
    method, path = site.path(key)
    before = site.state()
    fields = upload_fields(site, key, b"\x89PNG" + bytes(UPLOAD_LIMIT))
    problem(site.owner.http.request(method, path, **fields), 413)
    prepared = site.owner.http.build_request(method, path, **fields)
    streamed = site.owner.http.request(
        method,
        path,
        content=chunks(prepared.read(), 1 * MiB),
        headers={"Content-Type": prepared.headers["content-type"]},
    )
    problem(streamed, 413)
    assert site.state() == before


# Deep nesting.


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


def deep_bodies(site: Site, key: str) -> dict[str, str]:
    valid = json_bodies(site.named)[key]
    first = next(iter(valid), "x")
    head = json.dumps({k: v for k, v in valid.items() if k != first})[1:-1]
    inside = "{" + (head + ", " if head else "") + f'"{first}": ' + nested(DEPTH) + "}"
    return {
        "array at the top": nested(DEPTH),
        "objects at the top": '{"a":' * DEPTH + "1" + "}" * DEPTH,
        "array in a field": inside,
    }


@pytest.mark.parametrize("key", JSON_ROUTES, ids=JSON_ROUTES)
def test_deeply_nested_json_is_a_4xx_on_every_json_route(site: Site, key: str) -> None:
    ensure_ready(site.owner, site.dataset_id)
    method, path = site.path(key)
    before = site.state()
    for why, body in deep_bodies(site, key).items():
        assert len(body) < BODY_LIMIT, "the nesting, not the size, must be what is refused"
        response = site.owner.http.request(
            method, path, content=body.encode(), headers={"Content-Type": "application/json"}
        )
        assert 400 <= response.status_code < 500, f"{why}: {response.status_code}"
        problem(response, response.status_code)
    assert site.state() == before


def test_deep_nesting_in_a_metadata_form_or_rows_file_is_a_4xx(site: Site) -> None:
    ensure_ready(site.owner, site.dataset_id)
    path = f"/dataset/{site.dataset_id}/custom_metadata"
    rows = json.dumps([{"media_id": site.named.media_id, "score": 1.0}]).encode()
    before = site.state()
    deep_schema = {"schema": nested(DEPTH), "key": "media_id"}
    response = site.owner.request(
        "POST", path, data=deep_schema, files=[("file", ("rows.json", rows))]
    )
    assert 400 <= response.status_code < 500, response.text
    problem(response, response.status_code)
    form = {"schema": json.dumps({"score": "float"}), "key": "media_id"}
    for depth in (DEPTH, 100_000):
        response = site.owner.request(
            "POST",
            path,
            data=form,
            files=[("file", ("rows.json", ("[" + nested(depth, "{}") + "]").encode()))],
        )
        assert 400 <= response.status_code < 500, f"{depth}: {response.text}"
        problem(response, response.status_code)
    assert site.state() == before


def test_a_row_value_nested_under_the_parsers_limit_is_rejected_row_by_row(
    site: Site,
) -> None:
    """Deep, but not too deep to parse: the import starts, rejects that row in its report,
    and applies the good one; the worker does not crash on it."""
    ensure_ready(site.owner, site.dataset_id)
    media = [m["media_id"] for m in site.owner.media(site.dataset_id)]
    rows = [
        {"media_id": media[0], "level": json.loads(nested(400))},
        {"media_id": media[1], "level": 3.0},
    ]
    response = site.owner.request(
        "POST",
        f"/dataset/{site.dataset_id}/custom_metadata",
        json={"schema": {"level": "float"}, "key": "media_id", "rows": rows},
    )
    if response.status_code != 202:
        problem(response, response.status_code)
        assert 400 <= response.status_code < 500
        return
    task = wait_final(site.owner, response.json()["task_id"])
    assert task["status"] == "COMPLETED", task
    report = site.owner.ok("GET", f"/tasks/{task['task_id']}/report")["report"]
    assert (report["inserted_rows"], report["rejected_rows"]) == (1, 1), report
    assert (
        site.owner.ok("GET", f"/dataset/{site.dataset_id}/media/{media[1]}")["metadata"]["level"]
        == 3.0
    )


# Paging.


def bounds(site: Site, key: str) -> dict[str, tuple[int, int | None]]:
    method, path = key.split(" ", 1)
    parameters = site.spec["paths"][path][method.lower()]["parameters"]
    found = {}
    for p in parameters:
        if p["name"] in ("page", "page_size"):
            schema = p["schema"]
            assert "minimum" in schema, f"{key}: {p['name']} publishes no minimum"
            found[p["name"]] = (schema["minimum"], schema.get("maximum"))
    return found


def test_the_tasks_paging_bounds_are_the_ones_api_md_gives(site: Site) -> None:
    limits = bounds(site, "GET /api/v1/tasks")
    assert limits["page_size"] == (5, 50)
    assert limits["page"][0] == 1


@pytest.mark.parametrize("key", PAGED_ROUTES, ids=PAGED_ROUTES)
def test_page_and_page_size_outside_their_bounds_are_422(site: Site, key: str) -> None:
    ensure_ready(site.owner, site.dataset_id)
    method, path = site.path(key)
    base = {"dry_run": "true"} if key.endswith("/restore") else {}
    limits = bounds(site, key)
    page_min, page_max = limits["page"]
    size_min, size_max = limits["page_size"]
    assert size_max is not None, f"{key}: page_size publishes no maximum"
    refused: list[dict[str, str]] = [
        {"page": str(page_min - 1)},
        {"page": "-1"},
        {"page": "x"},
        {"page": "1.5"},
        {"page": ""},
        {"page": "9" * 30},
        {"page_size": str(size_min - 1)},
        {"page_size": str(size_max + 1)},
        {"page_size": "-5"},
        {"page_size": "x"},
        {"page_size": "1e3"},
        {"page_size": ""},
        {"page_size": str(10**9)},
    ]
    if page_max is not None:
        refused.append({"page": str(page_max + 1)})
    before = site.state()
    for params in refused:
        response = site.owner.http.request(method, path, params={**base, **params})
        problem(response, 422)
    assert site.state() == before
    for params in (
        {"page_size": str(size_min)},
        {"page_size": str(size_max)},
        {"page": str(page_min)},
    ):
        response = site.owner.http.request(method, path, params={**base, **params})
        assert response.status_code == 200, f"{params}: {response.text}"


# Uploaded archives.


def a_zip(
    members: list[tuple[str | zipfile.ZipInfo, bytes]], compression: int = zipfile.ZIP_DEFLATED
) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def symlink(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = 0o120777 << 16
    return info


def understated(data: bytes, claimed: int) -> bytes:
    """A one-member zip whose headers say it expands to ``claimed`` bytes, not len(data)."""
    raw = bytearray(a_zip([("big.png", data)]))
    local = raw.index(b"PK\x03\x04")
    central = raw.index(b"PK\x01\x02")
    raw[local + 22 : local + 26] = struct.pack("<I", claimed)
    raw[central + 24 : central + 28] = struct.pack("<I", claimed)
    return bytes(raw)


def many_members(count: int) -> bytes:
    return a_zip([(f"{n}.png", b"") for n in range(count)], zipfile.ZIP_STORED)


ESCAPE = f"/tmp/snapset-escape-{uuid.uuid4().hex}.png"
OUTSIDE = [Path("/tmp/evil.png"), Path("/evil.png"), Path(ESCAPE)]
ARCHIVES: dict[str, Callable[[bytes], bytes]] = {
    "zip-slip": lambda png: a_zip([("ok.png", png), ("../evil.png", png)]),
    "deep-zip-slip": lambda png: a_zip([("a/b/../../../evil.png", png)]),
    "absolute-path": lambda png: a_zip([("ok.png", png), (ESCAPE, png)]),
    "backslash-slip": lambda png: a_zip([("..\\evil.png", png)]),
    "symlink-member": lambda png: a_zip([("ok.png", png), (symlink("evil.png"), b"/etc")]),
    "bomb-by-ratio": lambda png: a_zip([("zeros.png", bytes(16 * MiB))]),
    "bomb-with-understated-sizes": lambda png: understated(bytes(16 * MiB), 1000),
    "zip-inside-a-zip": lambda png: a_zip([("inner.zip", a_zip([("zeros.png", bytes(16 * MiB))]))]),
    "100001-members": lambda png: many_members(100_001),
}


@pytest.mark.parametrize("case", list(ARCHIVES), ids=list(ARCHIVES))
def test_an_unsafe_archive_is_refused_and_nothing_is_extracted_from_it(
    site: Site, case: str
) -> None:
    good = image(site.folder / "archives" / case / "good.png", 11, 7, (9, 9, 9))
    png = good.read_bytes()
    archive = ARCHIVES[case](png)
    assert len(archive) < UPLOAD_LIMIT
    name = f"archive {case}"
    there_before = {p for p in OUTSIDE if p.exists()}
    response = site.owner.request(
        "POST",
        "/dataset",
        data={"dataset_name": name},
        files=[("files", ("good.png", png)), ("files", ("bad.zip", archive))],
    )
    if response.status_code != 200:
        assert 400 <= response.status_code < 500, response.text
        problem(response, response.status_code)
        assert name not in json.dumps(site.admin.ok("GET", "/datasets", params={"page_size": 100}))
    else:
        dataset_id = response.json()["dataset_id"]
        [task] = site.owner.tasks(dataset_id=dataset_id)["tasks"]
        task = wait_final(site.owner, task["task_id"])
        assert task["status"] == "COMPLETED", task
        assert [m["file_name"] for m in site.owner.media(dataset_id)] == ["good.png"]
        report = site.owner.ok("GET", f"/tasks/{task['task_id']}/report")
        assert "bad.zip" in task["status_message"] + json.dumps(report), (
            "the refused archive is not named"
        )
        assert site.owner.dataset(dataset_id)["status"] == "READY"
    escaped = [
        *site.folder.rglob("evil*"),
        *(p for p in OUTSIDE if p.exists() and p not in there_before),
    ]
    assert escaped == [], f"extracted outside the archive: {escaped}"


def test_a_form_with_more_files_or_fields_than_allowed_is_a_4xx(site: Site) -> None:
    before = site.state()
    png = image(site.folder / "many" / "a.png").read_bytes()
    too_many_files = [("files", (f"{n}.png", png)) for n in range(10_001)]
    too_many_fields = {f"field{n}": "v" for n in range(101)}
    for data, files in (
        ({"dataset_name": "many files"}, too_many_files),
        ({"dataset_name": "many fields", **too_many_fields}, [("files", ("a.png", png))]),
    ):
        response = site.owner.request("POST", "/dataset", data=data, files=files)
        assert 400 <= response.status_code < 500, response.text
        problem(response, response.status_code)
    assert site.state() == before


# Unfinished tasks per user.

OPEN_TASKS = 2
TASK_ROUTES = [
    "POST /api/v1/dataset",
    f"POST {BASE}/media",
    f"POST {BASE}/custom_metadata",
    f"POST {BASE}/propagate_labels",
    f"POST {BASE}/enrich_dataset",
    f"POST {BASE}/reindex",
    f"POST {SNAP}/restore",
    f"POST {SNAP}/clone",
    f"GET {BASE}/export_context_async",
    "POST /api/v1/tasks/{task_id}/retry",
]


@dataclass
class Quota:
    deployment: Deployment
    owner: SnapsetClient
    stranger: SnapsetClient
    admin: SnapsetClient
    named: Named
    failed_task_id: str
    own_id: str
    picture: bytes
    spec: dict[str, Any]


@pytest.fixture(scope="module", params=BACKENDS)
def quota(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Quota]:
    """A deployment whose worker the test stops, so tasks stay unfinished; a small limit."""
    folder: Path = tmp_path_factory.mktemp(f"quota-{request.param}")
    with deployed(
        request.param, folder, extra_env={"SNAPSET_MAX_OPEN_TASKS": str(OPEN_TASKS)}
    ) as deployment:
        server = deployment.server
        clients: list[SnapsetClient] = []
        try:
            clients.append(owner := add_user(server, "owner@example.com"))
            clients.append(stranger := add_user(server, "stranger@example.com"))
            clients.append(
                admin := SnapsetClient(server.base_url, server.api_key, server.api_secret)
            )
            yield build_quota(deployment, folder, owner, stranger, admin)
        finally:
            for client in clients:
                client.close()


def build_quota(
    deployment: Deployment,
    folder: Path,
    owner: SnapsetClient,
    stranger: SnapsetClient,
    admin: SnapsetClient,
) -> Quota:
    named = named_dataset(owner, folder, "busy", images=2, share_with="stranger@example.com")
    junk = folder / "junk" / "notes.txt"
    junk.parent.mkdir()
    junk.write_text("not media")
    failing = owner.create_dataset("failing", files=[junk])
    [failed] = owner.tasks(dataset_id=failing)["tasks"]
    assert wait_final(owner, failed["task_id"])["status"] == "FAILED"
    own_id = ready_dataset(stranger, folder / "own", "strangers", images=1)
    picture = image(folder / "upload" / "a.png", 9, 9, (5, 5, 5)).read_bytes()
    spec = owner.http.get("/openapi.json").json()
    return Quota(
        deployment, owner, stranger, admin, named, failed["task_id"], own_id, picture, spec
    )


def task_starts(q: Quota) -> list[tuple[str, str, str, dict[str, Any]]]:
    """A request per route that starts a task, valid for the owner: (route, method, path,
    options); some routes take a task's source two ways and get both."""
    ids = {
        "dataset_id": q.named.dataset_id,
        "snapshot_id": q.named.snapshot_id,
        "task_id": q.failed_task_id,
    }
    bodies = json_bodies(q.named)
    upload = [("files", ("a.png", q.picture))]
    starts = []
    for key in TASK_ROUTES:
        if key == "POST /api/v1/dataset":
            continue  # without a source it starts no task; its two sources come below
        method, template = key.split(" ", 1)
        path = path_of(template, ids)
        if key in bodies:
            starts.append((key, method, path, {"json": bodies[key]}))
        else:
            starts.append((key, method, path, {}))
    starts += [
        (
            "POST /api/v1/dataset",
            "POST",
            "/api/v1/dataset",
            {"data": {"dataset_name": "uploaded"}, "files": upload},
        ),
        (
            "POST /api/v1/dataset",
            "POST",
            "/api/v1/dataset",
            {"json": {"dataset_name": "imported", "source_path": "more"}},
        ),
        (f"POST {BASE}/media", "POST", path_of(f"{BASE}/media", ids), {"files": upload}),
    ]
    return starts


def test_the_task_routes_are_the_ones_the_spec_says_answer_429(quota: Quota) -> None:
    answers_429 = [
        f"{method.upper()} {path}"
        for path, ops in quota.spec["paths"].items()
        for method, op in ops.items()
        if "429" in op["responses"]
    ]
    assert sorted(answers_429) == sorted(TASK_ROUTES)


def test_at_the_open_task_limit_every_task_route_answers_429_and_starts_nothing(
    quota: Quota,
) -> None:
    q = quota
    owner, stranger = q.owner, q.stranger
    export = f"/dataset/{q.named.dataset_id}/export_context_async"
    q.deployment.stop("worker")
    pending: list[tuple[SnapsetClient, str]] = []
    try:
        pending += [(owner, owner.ok("GET", export)["id"]) for _ in range(OPEN_TASKS)]
        staging = q.deployment.server.data_dir / "staging"
        staged = sorted(p.name for p in staging.iterdir()) if staging.exists() else []
        before = (
            owner.tasks()["total"],
            owner.dataset(q.named.dataset_id),
            q.admin.ok("GET", "/datasets", params={"page_size": 1})["total"],
        )
        wrong: list[str] = []
        for key, method, path, kwargs in task_starts(q):
            response = owner.http.request(method, path, **kwargs)
            if response.status_code != 429 or not response.headers.get("retry-after", "").isdigit():
                wrong.append(f"{key}: {response.status_code} {response.text[:160]}")
            else:
                problem(response, 429)
        assert not wrong, "\n".join(wrong)
        after = (
            owner.tasks()["total"],
            owner.dataset(q.named.dataset_id),
            q.admin.ok("GET", "/datasets", params={"page_size": 1})["total"],
        )
        assert after == before, "a refused request started something"
        assert (sorted(p.name for p in staging.iterdir()) if staging.exists() else []) == staged, (
            "a refused upload left staged files"
        )

        # Per user: the stranger still starts tasks, up to the same limit.
        own_export = f"/dataset/{q.own_id}/export_context_async"
        pending += [(stranger, stranger.ok("GET", own_export)["id"]) for _ in range(OPEN_TASKS)]
        # At the limit, a 429 must not tell the stranger whether a dataset exists.
        hidden = stranger.request(
            "POST", f"/dataset/{q.named.dataset_id}/snapshot/{q.named.snapshot_id}/restore"
        )
        missing = stranger.request(
            "POST", f"/dataset/{uuid.uuid4()}/snapshot/{q.named.snapshot_id}/restore"
        )
        assert hidden.status_code == missing.status_code, (hidden.text, missing.text)
        assert hidden.status_code in (404, 429)
    finally:
        q.deployment.start("worker")
    for client, task_id in pending:
        assert wait_final(client, task_id)["status"] == "COMPLETED"
    # The limit lifts once the tasks finish.
    started = owner.ok("POST", f"/dataset/{q.named.dataset_id}/reindex", expect=202, json={})
    assert wait_final(owner, started["task_id"])["status"] == "COMPLETED"
