"""Who may call what: every endpoint of the app x {owner, editor, viewer, stranger, anonymous}
x {a live dataset, a soft-deleted snapshot where one can be named, an unknown id}.

The expected codes are a table written from API.md (Roles): anonymous 401; a stranger, or
an id that names nothing, 404 (never 403, so ids cannot be probed); a viewer reads but gets
403 on every write; an editor writes but cannot share; the owner may do everything. Every
request is one that succeeds for the owner (valid bodies, a dataset in a state that allows
it), so a 403 or 404 is about authorization and nothing else; the refused calls are made
first and must leave the stored state as it was. The table must name every route the app
serves (its route registry and /openapi.json): a new endpoint without an expectation fails.

Also: lists (/datasets, /tasks, /tasks/filters, history) never show a stranger another
user's dataset ids, names or emails, and ids of someone else's dataset name nothing when
slipped into a path or query of the stranger's own dataset.

One deployment per backend (API-only server, projector, worker) serves the module; the
worker is stopped only while aborts are tested, so those tasks stay pending.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Mount, Route

from adapters.http.app import create_app, registry
from adapters.runtime import build_runtime
from adapters.settings import Settings
from tests.conftest import BACKENDS
from tests.e2e import helpers
from tests.e2e.helpers import Deployment, ready_dataset
from tests.reliability.security_support import (
    BASE,
    ITEM,
    SNAP,
    Named,
    add_user,
    anonymous,
    dataset_state,
    deployed,
    ensure_ready,
    json_bodies,
    path_of,
    task_of,
    wait_final,
)
from tests.support.client import SnapsetClient
from tests.support.media import image

pytestmark = pytest.mark.reliability
no_server_errors = helpers.no_server_errors

ROLES = ("anonymous", "stranger", "viewer", "editor", "owner")
EMAILS = {
    role: f"{role}@example.com" for role in ("owner", "editor", "viewer", "stranger", "bystander")
}

# What a route is, for authorization.
PUBLIC = "public"  # anyone, signed in or not
SESSION = "session"  # the web UI's cookie only: a Bearer token is not a session (401)
CREATE = "create"  # any signed-in user; names no dataset
LIST = "list"  # any signed-in user; shows only what the caller has a role on
READ = "read"  # viewer, editor, owner
WRITE = "write"  # editor, owner
SHARE = "share"  # owner


@dataclass(frozen=True)
class Rule:
    kind: str
    success: int
    deleted: bool = False  # the route can name a snapshot: try a soft-deleted one too


# From API.md (and, for extensions API.md leaves open, the success code the OpenAPI
# document publishes). Not from running the code.
EXPECTED: dict[str, Rule] = {
    "GET /healthz": Rule(PUBLIC, 200),
    "GET /api/v1/healthz": Rule(PUBLIC, 200),
    "GET /openapi.json": Rule(PUBLIC, 200),
    "GET /docs": Rule(PUBLIC, 200),
    "GET /": Rule(PUBLIC, 200),
    "GET /ui": Rule(PUBLIC, 200),
    "GET /favicon.ico": Rule(PUBLIC, 204),
    "GET /ui/static/{path}": Rule(PUBLIC, 200),
    "POST /ui/session": Rule(PUBLIC, 200),
    "GET /ui/session": Rule(SESSION, 401),
    "DELETE /ui/session": Rule(PUBLIC, 204),
    "POST /api/v1/dataset": Rule(CREATE, 200),
    "GET /api/v1/datasets": Rule(LIST, 200),
    "GET /api/v1/tasks": Rule(LIST, 200),
    "GET /api/v1/tasks/filters": Rule(LIST, 200),
    f"GET {BASE}": Rule(READ, 200),
    f"GET {BASE}/access": Rule(READ, 200),
    f"GET {BASE}/history": Rule(READ, 200),
    f"POST {BASE}/share": Rule(SHARE, 200),
    f"POST {BASE}/media": Rule(WRITE, 202),
    f"PATCH {ITEM}": Rule(WRITE, 200),
    f"GET {BASE}/snapshot": Rule(READ, 200),
    f"POST {BASE}/snapshot": Rule(WRITE, 200),
    f"PATCH {SNAP}": Rule(WRITE, 200, deleted=True),
    f"POST {SNAP}/restore": Rule(WRITE, 202, deleted=True),
    f"POST {SNAP}/clone": Rule(WRITE, 202, deleted=True),
    f"DELETE {SNAP}": Rule(WRITE, 200, deleted=True),
    f"GET {SNAP}/diff": Rule(READ, 200, deleted=True),
    "GET /api/v1/tasks/{task_id}": Rule(READ, 200),
    "GET /api/v1/tasks/{task_id}/report": Rule(READ, 200),
    "POST /api/v1/tasks/{task_id}/abort": Rule(WRITE, 200),
    "POST /api/v1/tasks/{task_id}/retry": Rule(WRITE, 200),
    "GET /api/v1/enrichment/{dataset_id}/list_models": Rule(READ, 200),
    f"POST {BASE}/enrich_dataset": Rule(WRITE, 202),
    f"POST {BASE}/reindex": Rule(WRITE, 202),
    f"POST {BASE}/custom_metadata": Rule(WRITE, 202),
    f"GET {BASE}/custom_metadata/schema": Rule(READ, 200),
    f"POST {BASE}/propagate_labels": Rule(WRITE, 202),
    f"POST {BASE}/media/tags": Rule(WRITE, 200),
    f"POST {BASE}/media/labels": Rule(WRITE, 200),
    f"GET {BASE}/media": Rule(READ, 200, deleted=True),
    f"GET {ITEM}": Rule(READ, 200, deleted=True),
    f"GET {ITEM}/file": Rule(READ, 200, deleted=True),
    f"GET {ITEM}/thumbnail": Rule(READ, 200, deleted=True),
    f"GET {BASE}/clusters": Rule(READ, 200, deleted=True),
    f"GET {BASE}/export_context_async": Rule(READ, 200, deleted=True),  # API.md: a read
    f"GET {BASE}/export_status": Rule(READ, 200),
    f"GET {BASE}/export/{{task_id}}/download": Rule(READ, 200),
}


def expected_status(rule: Rule, role: str, target: str) -> int:
    """API.md's Roles section as a function."""
    if rule.kind == PUBLIC:
        return rule.success
    if rule.kind == SESSION or role == "anonymous":
        return 401
    if rule.kind in (CREATE, LIST):
        return rule.success
    if role == "stranger" or target == "unknown":
        return 404
    if rule.kind == WRITE and role == "viewer":
        return 403  # "a viewer who tries a write gets 403", whatever it names
    if rule.kind == SHARE and role != "owner":
        return 403
    if target == "deleted":
        return 404
    return rule.success


def targets(key: str) -> list[str]:
    rule = EXPECTED[key]
    names = ["live"]
    if rule.deleted:
        names.append("deleted")
    if "{dataset_id}" in key or "{task_id}" in key:
        names.append("unknown")
    return names


# The world: one deployment per backend, five users, the owner's dataset shared with an
# editor and a viewer, and what the requests name.


@dataclass
class World:
    deployment: Deployment
    folder: Path
    users: dict[str, SnapsetClient]
    admin: SnapsetClient
    nobody: httpx.Client
    dataset_id: str = ""
    dataset_name: str = ""
    media_id: str = ""
    task_id: str = ""
    snapshot_id: str = ""
    deleted_snapshot_id: str = ""
    export_task_id: str = ""
    models: dict[str, str] = field(default_factory=dict)
    private_id: str = ""
    private_name: str = ""
    own_id: str = ""
    own_snapshot_id: str = ""
    made: int = 0

    @property
    def owner(self) -> SnapsetClient:
        return self.users["owner"]

    def http(self, role: str) -> httpx.Client:
        return self.nobody if role == "anonymous" else self.users[role].http

    def client(self, role: str) -> SnapsetClient:
        return self.users[role]


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    folder: Path = tmp_path_factory.mktemp(f"authz-{request.param}")
    with deployed(request.param, folder) as deployment:
        server = deployment.server
        users: dict[str, SnapsetClient] = {}
        admin = SnapsetClient(server.base_url, server.api_key, server.api_secret)
        built: World | None = None
        try:
            users.update({role: add_user(server, email) for role, email in EMAILS.items()})
            built = World(deployment, folder, users, admin, anonymous(server))
            build(built)
            yield built
        finally:
            for client in [*users.values(), admin]:
                client.close()
            if built is not None:
                built.nobody.close()


def build(w: World) -> None:
    owner = w.owner
    w.dataset_name = f"owned-{uuid.uuid4().hex[:8]}"
    w.dataset_id = ready_dataset(owner, w.folder / "owned", w.dataset_name, images=2)
    w.media_id = owner.media(w.dataset_id)[0]["media_id"]
    [w.task_id] = [t["task_id"] for t in owner.tasks(dataset_id=w.dataset_id)["tasks"]]
    for role in ("editor", "viewer"):
        owner.ok(
            "POST",
            f"/dataset/{w.dataset_id}/share",
            json={"user_email": EMAILS[role], "role": role},
        )
    wait_final(
        owner, owner.ok("POST", f"/dataset/{w.dataset_id}/reindex", expect=202, json={})["task_id"]
    )
    deleted = owner.create_snapshot(w.dataset_id, name="deleted")["snapshot_id"]
    w.snapshot_id = owner.create_snapshot(w.dataset_id, name="live")["snapshot_id"]
    owner.delete_snapshot(w.dataset_id, deleted)
    w.deleted_snapshot_id = deleted
    w.export_task_id = owner.ok("GET", f"/dataset/{w.dataset_id}/export_context_async")["id"]
    assert wait_final(owner, w.export_task_id)["status"] == "COMPLETED"
    image(w.deployment.import_root / "more" / "extra.png", 20, 14, (10, 200, 10))
    listed = owner.ok("GET", f"/enrichment/{w.dataset_id}/list_models")["models"]
    first = next(m for m in listed if "image" in m["media_kinds"])
    w.models = {first["type"]: first["model_id"]}
    w.private_name = f"private-{uuid.uuid4().hex[:8]}"
    w.private_id = owner.create_dataset(w.private_name)
    stranger = w.client("stranger")
    w.own_id = ready_dataset(
        stranger, w.folder / "own", f"strangers-{uuid.uuid4().hex[:8]}", images=1
    )
    [own_snapshot] = stranger.snapshots(w.own_id)
    w.own_snapshot_id = own_snapshot["snapshot_id"]


@contextmanager
def worker_stopped(w: World) -> Iterator[None]:
    w.deployment.stop("worker")
    try:
        yield
    finally:
        w.deployment.start("worker")


# What each route is sent: its ids, then its query or body.

Ids = dict[str, str]


def spare_snapshot(w: World) -> Ids:
    """A snapshot that may be removed: live and not current."""
    spare = w.owner.create_snapshot(w.dataset_id, name="spare")["snapshot_id"]
    w.owner.create_snapshot(w.dataset_id, name="after the spare")
    return {"snapshot_id": spare}


def pending_export(w: World) -> Ids:
    """A task that has not finished (the worker is stopped meanwhile)."""
    return {"task_id": w.owner.ok("GET", f"/dataset/{w.dataset_id}/export_context_async")["id"]}


def failed_creation(w: World) -> Ids:
    """A failed creation task (its only file is not media), on a dataset shared like ours."""
    w.made += 1
    junk = w.folder / f"junk-{w.made}" / "notes.txt"
    junk.parent.mkdir()
    junk.write_text("not media")
    dataset_id = w.owner.create_dataset(f"failing-{w.made}", files=[junk])
    for role in ("editor", "viewer"):
        w.owner.ok(
            "POST", f"/dataset/{dataset_id}/share", json={"user_email": EMAILS[role], "role": role}
        )
    [task] = w.owner.tasks(dataset_id=dataset_id)["tasks"]
    assert wait_final(w.owner, task["task_id"])["status"] == "FAILED"
    return {"task_id": task["task_id"], "dataset_id": dataset_id}


PREPARE: dict[str, Callable[[World], Ids]] = {
    f"DELETE {SNAP}": spare_snapshot,
    "POST /api/v1/tasks/{task_id}/abort": pending_export,
    "POST /api/v1/tasks/{task_id}/retry": failed_creation,
}
NEEDS_WORKER_STOPPED = {"POST /api/v1/tasks/{task_id}/abort"}


def base_ids(w: World, key: str) -> Ids:
    ids = {
        "dataset_id": w.dataset_id,
        "snapshot_id": w.snapshot_id,
        "media_id": w.media_id,
        "task_id": w.task_id,
        "path": "app.js",
    }
    if key.endswith("/download"):
        ids["task_id"] = w.export_task_id
    return ids


def options(w: World, key: str, role: str) -> dict[str, Any]:
    """The query or body that makes this route succeed for the owner."""
    user = w.users["bystander" if role == "anonymous" else role]  # signs in as itself
    named = Named(
        w.dataset_id,
        w.snapshot_id,
        w.media_id,
        w.models,
        EMAILS["bystander"],
        user.api_key,
        user.api_secret,
    )
    bodies = json_bodies(named, tag=role)
    if key in bodies:
        return {"json": bodies[key]}
    if key == f"GET {BASE}/export_status":
        return {"params": {"export_task_id": w.export_task_id}}
    return {}


@dataclass
class Attempt:
    role: str
    target: str
    method: str
    path: str
    kwargs: dict[str, Any]
    expected: int


def attempt(w: World, key: str, role: str, target: str, prepared: Ids) -> Attempt:
    method, template = key.split(" ", 1)
    ids = {**base_ids(w, key), **prepared}
    kwargs = options(w, key, role)
    if target == "deleted":
        if "{snapshot_id}" in template:
            ids["snapshot_id"] = w.deleted_snapshot_id
        else:
            kwargs["params"] = {**kwargs.get("params", {}), "snapshot_id": w.deleted_snapshot_id}
    elif target == "unknown":
        ids["dataset_id" if "{dataset_id}" in template else "task_id"] = str(uuid.uuid4())
    return Attempt(
        role,
        target,
        method,
        path_of(template, ids),
        kwargs,
        expected_status(EXPECTED[key], role, target),
    )


def send(w: World, call: Attempt, key: str) -> httpx.Response:
    http = w.http(call.role)
    try:
        response = http.request(call.method, call.path, **call.kwargs)
    finally:
        http.cookies.clear()  # a sign-in must not turn the next request into a session
    if response.status_code < 300 and call.role != "anonymous":
        started = task_of(response)
        if key.endswith("/retry"):
            started = response.json()["task_id"]
        if started is not None:
            wait_final(w.client(call.role), started)
    return response


def fingerprint(w: World, dataset_ids: set[str]) -> dict[str, Any]:
    """What the owner (and the admin) can read of the datasets a route may touch."""
    watchers = {role: w.users[role] for role in ("editor", "viewer", "stranger", "bystander")}
    state: dict[str, Any] = {
        "datasets": w.admin.ok("GET", "/datasets", params={"page_size": 1})["total"]
    }
    for dataset_id in sorted(dataset_ids):
        state[dataset_id] = dataset_state(w.owner, dataset_id, watchers)
    return state


@pytest.mark.parametrize("key", list(EXPECTED), ids=list(EXPECTED))
def test_each_route_answers_each_role_as_api_md_says(world: World, key: str) -> None:
    w = world
    ensure_ready(w.owner, w.dataset_id)
    with worker_stopped(w) if key in NEEDS_WORKER_STOPPED else nullcontext():
        prepare = PREPARE.get(key, lambda _: {})
        own, editors = prepare(w), prepare(w)  # the editor consumes its own, if it consumes
        calls = [
            attempt(w, key, role, target, editors if role == "editor" else own)
            for target in targets(key)
            for role in ROLES
        ]
        refused = [c for c in calls if c.expected >= 400]
        allowed = [c for c in calls if c.expected < 400]
        touched = {w.dataset_id, own.get("dataset_id", w.dataset_id)}
        mismatches: list[str] = []

        before = fingerprint(w, touched)
        for call in refused:
            check(send(w, call, key), call, mismatches)
        after = fingerprint(w, touched)
        for call in allowed:
            check(send(w, call, key), call, mismatches)

    assert not mismatches, f"{key}:\n" + "\n".join(mismatches)
    assert after == before, f"{key}: a refused request changed stored state"


def check(response: httpx.Response, call: Attempt, mismatches: list[str]) -> None:
    status = response.status_code
    where = f"  {call.role:9} {call.target:7} {call.method} {call.path}"
    if status != call.expected:
        mismatches.append(f"{where}: expected {call.expected}, got {status}: {response.text[:200]}")
    elif status >= 400:
        body = response.json()
        if not isinstance(body.get("detail"), str) or not body["detail"].strip():
            mismatches.append(f"{where}: {status} without a detail: {response.text[:200]}")


# The table covers the app.


def served_routes(folder: Path) -> set[str]:
    """Every route the app serves, from the app itself (not only the endpoint registry)."""
    settings = Settings(data_dir=folder)
    runtime = build_runtime(settings)
    try:
        app = create_app(runtime, settings).app
        keys: set[str] = set()
        for route in app.routes:
            if isinstance(route, Mount):
                keys.add(f"GET {route.path}/{{path}}")
            elif isinstance(route, Route):
                keys |= {
                    f"{method} {route.path}"
                    for method in (route.methods or set())
                    if method != "HEAD"
                }
        return keys
    finally:
        runtime.close()


def test_every_route_the_app_serves_has_an_expectation(world: World, tmp_path: Path) -> None:
    spec = world.nobody.get("/openapi.json").json()
    published = {
        f"{method.upper()} {path}" for path, ops in spec["paths"].items() for method in ops
    }
    declared = {f"{e.method} {e.path}" for e in registry().endpoints}
    served = served_routes(tmp_path / "routes")
    assert published == declared
    assert declared <= served
    assert served - set(EXPECTED) == set(), "routes without an authorization expectation"
    assert set(EXPECTED) - served == set(), "expectations for routes the app does not serve"
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            key = f"{method.upper()} {path}"
            names = {p["name"] for p in op.get("parameters", [])}
            assert EXPECTED[key].deleted == ("snapshot_id" in names), (
                f"{key}: the table must try a deleted snapshot exactly where one can be named"
            )
            assert (EXPECTED[key].kind == PUBLIC or EXPECTED[key].kind == SESSION) == (
                "security" not in op
            ), f"{key}: public in the spec, not in the table"


# Lists and foreign ids.


def secrets_of(w: World) -> list[str]:
    """What a stranger must never read: the others' dataset ids and names, and emails."""
    return [
        w.dataset_id,
        w.dataset_name,
        w.private_id,
        w.private_name,
        EMAILS["owner"],
        EMAILS["editor"],
        EMAILS["viewer"],
        EMAILS["bystander"],
    ]


def test_lists_never_show_a_stranger_other_users_datasets_tasks_or_emails(
    world: World,
) -> None:
    w = world
    stranger = w.client("stranger")
    reads = [
        ("/datasets", {}),
        ("/datasets", {"page_size": 100}),
        ("/tasks", {}),
        ("/tasks", {"page_size": 50, "sort_by": "created_by"}),
        ("/tasks", {"dataset_id": w.dataset_id}),
        ("/tasks", {"dataset_name": w.dataset_name}),
        ("/tasks", {"created_by": EMAILS["owner"]}),
        ("/tasks", {"task_type": "EXPORT"}),
        ("/tasks/filters", {}),
        (f"/dataset/{w.own_id}/history", {"page_size": 100}),
        (f"/dataset/{w.own_id}/history", {"actor": EMAILS["owner"]}),
    ]
    for path, params in reads:
        response = stranger.request("GET", path, params=params)
        assert response.status_code == 200, f"{path} {params}: {response.text}"
        leaked = [s for s in secrets_of(w) if s in response.text]
        assert not leaked, f"{path} {params} shows {leaked}: {response.text[:300]}"
    # The same reads do show the stranger's own things, so the answers above are not empty
    # by accident.
    assert stranger.ok("GET", "/tasks", params={"dataset_id": w.own_id})["total"] >= 1
    assert w.own_id in stranger.ok("GET", "/tasks/filters")["dataset_ids"]
    assert w.own_id in {d["id"] for d in stranger.ok("GET", "/datasets")["datasets"]}


def test_the_private_dataset_stays_out_of_the_editors_and_viewers_lists(world: World) -> None:
    w = world
    for role in ("editor", "viewer"):
        client = w.client(role)
        for path in ("/datasets", "/tasks", "/tasks/filters", f"/dataset/{w.dataset_id}/history"):
            response = client.request("GET", path)
            assert response.status_code == 200, f"{role} {path}: {response.text}"
            for secret in (w.private_id, w.private_name, w.own_id, EMAILS["stranger"]):
                assert secret not in response.text, f"{role} {path} shows {secret}"
        ids = {
            d["id"] for d in client.ok("GET", "/datasets", params={"page_size": 100})["datasets"]
        }
        assert w.dataset_id in ids
    owner_view = w.owner.ok("GET", "/datasets", params={"page_size": 100})
    assert w.own_id not in json.dumps(owner_view)


def test_another_users_ids_name_nothing_in_the_strangers_own_dataset(world: World) -> None:
    """No cross-dataset references: the stranger's own dataset does not lend its role to
    the owner's snapshot, media, export or task ids."""
    w = world
    stranger = w.client("stranger")
    own = f"/dataset/{w.own_id}"
    foreign = [
        ("GET", f"{own}/media/{w.media_id}", {}),
        ("GET", f"{own}/media/{w.media_id}/file", {}),
        ("GET", f"{own}/media/{w.media_id}/thumbnail", {}),
        ("GET", f"{own}/media", {"params": {"snapshot_id": w.snapshot_id}}),
        ("GET", f"{own}/clusters", {"params": {"snapshot_id": w.snapshot_id}}),
        ("GET", f"{own}/snapshot/{w.snapshot_id}/diff", {}),
        ("GET", f"{own}/snapshot/{w.own_snapshot_id}/diff", {"params": {"against": w.snapshot_id}}),
        ("GET", f"{own}/export_context_async", {"params": {"snapshot_id": w.snapshot_id}}),
        ("GET", f"{own}/export_status", {"params": {"export_task_id": w.export_task_id}}),
        ("GET", f"{own}/export/{w.export_task_id}/download", {}),
        ("PATCH", f"{own}/snapshot/{w.snapshot_id}", {"json": {"name": "mine now"}}),
        ("POST", f"{own}/snapshot/{w.snapshot_id}/restore", {}),
        ("POST", f"{own}/snapshot/{w.snapshot_id}/clone", {}),
        ("DELETE", f"{own}/snapshot/{w.snapshot_id}", {}),
        ("PATCH", f"{own}/media/{w.media_id}", {"json": {"tags": ["mine"]}}),
        ("POST", f"{own}/media/tags", {"json": {"media_ids": [w.media_id], "add": ["mine"]}}),
        (
            "POST",
            f"{own}/media/labels",
            {"json": {"media_ids": [w.media_id], "labels": [{"class_name": "mine"}]}},
        ),
    ]
    before = fingerprint(w, {w.dataset_id})
    for method, path, kwargs in foreign:
        response = stranger.request(method, path, **kwargs)
        helpers.problem(response, 404)
        assert w.dataset_id not in response.text, f"{method} {path}: {response.text}"
    assert fingerprint(w, {w.dataset_id}) == before
    # The stranger's own ids work on the same routes (so the 404s are about the ids).
    assert stranger.request("GET", f"{own}/snapshot/{w.own_snapshot_id}/diff").status_code == 200
