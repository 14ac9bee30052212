"""Shared ground of the security tests: one real server per backend and module, its users.

The e2e `server` fixture starts a server per test; the security modules send hundreds of
requests, so each module starts one server (`serving_site`) or deployment (`deployed`) per
backend (module scope, with its own PostgreSQL schema) and builds its users and datasets once.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psycopg

from tests.conftest import BASE_URL
from tests.e2e.helpers import Deployment, ready_dataset
from tests.support.client import SnapsetClient
from tests.support.media import image
from tests.support.server import ServerProcess, snapset_command, start_server


@contextmanager
def fresh_database(backend: str) -> Iterator[str]:
    """A database URL for ``backend``: "" for SQLite, else a new PostgreSQL schema, dropped
    on exit."""
    if backend != "postgres":
        yield ""
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        yield f"{BASE_URL}?schema={schema}"
    finally:
        with psycopg.connect(BASE_URL.split("?")[0], autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextmanager
def serving(
    backend: str,
    folder: Path,
    *,
    extra_env: dict[str, str] | None = None,
) -> Iterator[ServerProcess]:
    """An embedded snapset server (API, projections and worker in one process) on
    ``backend``, with ``folder/imports`` as its import root."""
    imports = folder / "imports"
    imports.mkdir(parents=True, exist_ok=True)
    with fresh_database(backend) as url:
        server = start_server(
            folder / "data",
            database_url=url,
            import_root=imports,
            extra_args=("--embedded",) if url else (),
            extra_env=extra_env,
        )
        try:
            yield server
        finally:
            server.stop()


@contextmanager
def deployed(
    backend: str,
    folder: Path,
    *,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Deployment]:
    """snapset as deployed on ``backend``: an API-only server, `snapset project` and
    `snapset worker` (which a test may stop, so tasks stay unfinished), with
    ``folder/imports`` as the import root and the processes' logs in ``folder/logs``."""
    imports, logs = folder / "imports", folder / "logs"
    imports.mkdir()
    logs.mkdir()
    with fresh_database(backend) as url:
        server = start_server(
            folder / "data",
            database_url=url,
            import_root=imports,
            extra_args=("--api-only",),
            extra_env=extra_env,
        )
        deployment = Deployment(server, imports, logs)
        try:
            deployment.start("project")
            deployment.start("worker")
            yield deployment
        finally:
            deployment.close()


def add_user(server: ServerProcess, email: str) -> SnapsetClient:
    """A new user made with `snapset users add --json`; its client."""
    done = subprocess.run(
        snapset_command("users", "add", email, "--json", "--data-dir", str(server.data_dir)),
        env=server.env,
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, f"users add {email} failed:\n{done.stdout}\n{done.stderr}"
    keys = json.loads(done.stdout)
    return SnapsetClient(server.base_url, keys["api_key"], keys["api_secret"])


def anonymous(server: ServerProcess) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, timeout=30)


def task_of(started: httpx.Response) -> str | None:
    """The task a successful answer started, if any: a 202's `task_id`, an export's `id`."""
    if started.status_code >= 300 or not started.headers.get("content-type", "").startswith(
        "application/json"
    ):
        return None
    body: Any = started.json()
    if not isinstance(body, dict):
        return None
    if started.status_code == 202:
        return str(body["task_id"])
    return str(body["id"]) if set(body) == {"id"} else None


def wait_final(client: SnapsetClient, task_id: str) -> dict[str, Any]:
    """Wait until the task is final (any final status); the task."""
    return client.wait_task(task_id, timeout=60)


# Requests that succeed for a dataset's owner, by route ("METHOD /path/{template}").

BASE = "/api/v1/dataset/{dataset_id}"
SNAP = BASE + "/snapshot/{snapshot_id}"
ITEM = BASE + "/media/{media_id}"


# The routes by kind of input (tests check these against /openapi.json, so a new route
# must be added here, and so gets tested).
JSON_ROUTES = [
    "POST /ui/session",
    "POST /api/v1/dataset",
    f"POST {BASE}/share",
    f"POST {BASE}/media",
    f"PATCH {ITEM}",
    f"POST {BASE}/snapshot",
    f"PATCH {SNAP}",
    f"POST {BASE}/enrich_dataset",
    f"POST {BASE}/reindex",
    f"POST {BASE}/custom_metadata",
    f"POST {BASE}/propagate_labels",
    f"POST {BASE}/media/tags",
    f"POST {BASE}/media/labels",
]
MULTIPART_ROUTES = ["POST /api/v1/dataset", f"POST {BASE}/media", f"POST {BASE}/custom_metadata"]
PAGED_ROUTES = [
    "GET /api/v1/datasets",
    "GET /api/v1/tasks",
    f"GET {BASE}/history",
    f"GET {BASE}/media",
    f"GET {BASE}/clusters",
    f"GET {SNAP}/diff",
    f"POST {SNAP}/restore",
]


@dataclass
class Named:
    """What valid requests name: a READY, clustered dataset the caller owns, one of its
    media and snapshots, enrichment models the server has, a user to share with, and the
    caller's own key and secret (for the web sign-in)."""

    dataset_id: str
    snapshot_id: str
    media_id: str
    models: dict[str, str]
    share_with: str
    api_key: str
    api_secret: str
    source_path: str = "more"


def json_bodies(n: Named, tag: str = "x") -> dict[str, dict[str, Any]]:
    """A JSON body per route that takes one, valid for the owner; ``tag`` varies the names."""
    m = n.media_id
    return {
        "POST /ui/session": {"api_key": n.api_key, "api_secret": n.api_secret},
        "POST /api/v1/dataset": {"dataset_name": f"made {tag}"},
        f"POST {BASE}/share": {"user_email": n.share_with, "role": "viewer"},
        f"POST {BASE}/media": {"source_path": n.source_path},
        f"PATCH {ITEM}": {"tags": [f"by-{tag}"]},
        f"POST {BASE}/snapshot": {"name": f"by {tag}"},
        f"PATCH {SNAP}": {"description": f"edited by {tag}"},
        f"POST {BASE}/enrich_dataset": {"enrichment_models": n.models},
        f"POST {BASE}/reindex": {},
        f"POST {BASE}/custom_metadata": {
            "schema": {"score": "float"},
            "key": "media_id",
            "rows": [{"media_id": m, "score": 1.5}],
        },
        f"POST {BASE}/propagate_labels": {"media_ids": [m]},
        f"POST {BASE}/media/tags": {"media_ids": [m], "add": [f"tag-{tag}"]},
        f"POST {BASE}/media/labels": {"media_ids": [m], "labels": [{"class_name": f"c-{tag}"}]},
    }


def path_of(template: str, ids: dict[str, str]) -> str:
    return re.sub(r"{(\w+)}", lambda match: ids[match.group(1)], template)


def routes_with(spec: dict[str, Any], content_type: str) -> list[str]:
    """The routes whose request body may be of ``content_type``, as "METHOD /path"."""
    return [
        f"{method.upper()} {path}"
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if content_type in op.get("requestBody", {}).get("content", {})
    ]


def dataset_state(
    owner: SnapsetClient, dataset_id: str, watchers: dict[str, SnapsetClient]
) -> dict[str, Any]:
    """Everything the owner can read of a dataset, and what each watcher's role on it is."""
    tasks = owner.tasks(dataset_id=dataset_id, page_size=50)
    return {
        "dataset": owner.dataset(dataset_id),
        "snapshots": owner.snapshots(dataset_id),
        "media": owner.media(dataset_id),
        "schema": owner.ok("GET", f"/dataset/{dataset_id}/custom_metadata/schema"),
        "tasks": (tasks["total"], [(t["task_id"], t["status"]) for t in tasks["tasks"]]),
        "access": {name: _access(client, dataset_id) for name, client in watchers.items()},
    }


def _access(client: SnapsetClient, dataset_id: str) -> tuple[int, str]:
    response = client.request("GET", f"/dataset/{dataset_id}/access")
    return response.status_code, response.text


def ensure_ready(owner: SnapsetClient, dataset_id: str) -> None:
    """Put the dataset back in READY (a media addition leaves a clustered one in PARTIAL
    INDEX), so the next valid request is one its status allows."""
    status = owner.dataset(dataset_id)["status"]
    if status == "PARTIAL INDEX":
        started = owner.ok("POST", f"/dataset/{dataset_id}/reindex", expect=202, json={})
        wait_final(owner, started["task_id"])
        status = owner.dataset(dataset_id)["status"]
    assert status == "READY", status


def named_dataset(
    owner: SnapsetClient, folder: Path, name: str, *, images: int, share_with: str
) -> Named:
    """What valid requests name (`Named`): a new READY dataset of the owner's with
    ``images`` images, re-indexed so it has clusters, and a snapshot "live"; the image
    ``more/extra.png`` under ``folder/imports`` is the source a media addition names."""
    dataset_id = ready_dataset(owner, folder / "media", name, images=images)
    wait_final(
        owner, owner.ok("POST", f"/dataset/{dataset_id}/reindex", expect=202, json={})["task_id"]
    )
    snapshot = owner.create_snapshot(dataset_id, name="live")["snapshot_id"]
    media_id = owner.media(dataset_id)[0]["media_id"]
    models = owner.ok("GET", f"/enrichment/{dataset_id}/list_models")["models"]
    first = next(m for m in models if "image" in m["media_kinds"])
    image(folder / "imports" / "more" / "extra.png", 20, 14, (10, 200, 10))
    return Named(
        dataset_id,
        snapshot,
        media_id,
        {first["type"]: first["model_id"]},
        share_with,
        owner.api_key,
        owner.api_secret,
    )


@dataclass
class Site:
    """A module's embedded server, serving from ``folder``: its owner (who owns the dataset
    ``named`` names), a friend with no role on it, the admin, and the published API."""

    server: ServerProcess
    owner: SnapsetClient
    friend: SnapsetClient
    admin: SnapsetClient
    folder: Path
    named: Named
    spec: dict[str, Any]

    @property
    def dataset_id(self) -> str:
        return self.named.dataset_id

    def ids(self) -> dict[str, str]:
        return {
            "dataset_id": self.named.dataset_id,
            "snapshot_id": self.named.snapshot_id,
            "media_id": self.named.media_id,
        }

    def dataset_count(self) -> int:
        """How many datasets there are (the admin sees them all)."""
        total: int = self.admin.ok("GET", "/datasets", params={"page_size": 1})["total"]
        return total


SiteT = TypeVar("SiteT", bound=Site)


@contextmanager
def serving_site(
    kind: type[SiteT],
    backend: str,
    folder: Path,
    dataset_name: str,
    *,
    images: int,
    extra_env: dict[str, str] | None = None,
) -> Iterator[SiteT]:
    """A ``kind`` of `Site` (a module's subclass says what its state is) on ``backend``."""
    with serving(backend, folder, extra_env=extra_env) as server:
        owner = add_user(server, "owner@example.com")
        friend = add_user(server, "friend@example.com")
        admin = SnapsetClient(server.base_url, server.api_key, server.api_secret)
        try:
            named = named_dataset(
                owner, folder, dataset_name, images=images, share_with="friend@example.com"
            )
            spec = owner.http.get("/openapi.json").json()
            yield kind(server, owner, friend, admin, folder, named, spec)
        finally:
            for client in (owner, friend, admin):
                client.close()
