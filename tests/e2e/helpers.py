"""Shared pieces of the e2e tier: problem checks, hand-made JWTs, ready datasets, task waits.

`no_server_errors` is a fixture: a test module opts in with
``no_server_errors = helpers.no_server_errors`` (autouse), after which any HTTP response
with a 5xx status fails the test, whatever the test itself asserts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import BACKENDS
from tests.support.client import SnapsetClient
from tests.support.media import folder_of_media
from tests.support.paced_worker import paced_command
from tests.support.server import ServerProcess, snapset_command, start_server

ADMIN_EMAIL = "admin@snapset.local"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
NAIVE_MICROS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$")
ZULU = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")

SNAPSHOT_FIELDS = {
    "snapshot_id",
    "snapshot_name",
    "source_dataset_name",
    "created_at",
    "created_by",
    "n_images",
    "n_videos",
    "description",
    "reason",
    "training_model_id",
    "training_model_name",
    "is_current",
    "is_restoring",
}
TASK_FIELDS = {
    "task_id",
    "dataset_id",
    "dataset_name",
    "dataset_status",
    "created_by",
    "task_type",
    "status",
    "status_message",
    "progress_percentage",
    "error_message",
    "start_time",
    "end_time",
}
DATASET_FIELDS = {
    "id",
    "display_name",
    "description",
    "source_type",
    "owned_by",
    "created_at",
    "status",
    "status_new",
    "progress",
    "n_images",
    "n_videos",
    "n_objects",
    "fatal_error_msg",
    "source_dataset_id",
    "snapshot_support",
}
FINAL = ("COMPLETED", "FAILED", "ABORTED")


@pytest.fixture(autouse=True)
def no_server_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test on any 5xx answer, even one the test did not look at."""
    original = httpx.Client.send

    def send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        response = original(self, request, **kwargs)
        if response.status_code >= 500:
            response.read()
            raise AssertionError(
                f"{request.method} {request.url} answered {response.status_code}: {response.text}"
            )
        return response

    monkeypatch.setattr(httpx.Client, "send", send)


def problem(response: httpx.Response, status: int) -> str:
    """Assert ``response`` is an error with ``status`` and a JSON {"detail": str}; the detail."""
    assert response.status_code == status, (
        f"expected {status}, got {response.status_code}: {response.text}"
    )
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict)
    assert isinstance(body.get("detail"), str)
    assert body["detail"].strip()
    assert set(body) <= {"detail", "errors"}
    return str(body["detail"])


# Hand-made tokens.


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(
    header: dict[str, Any], claims: dict[str, Any], secret: str | None, digest: Any = hashlib.sha256
) -> str:
    """A JWT with exactly this header and these claims, HMAC-signed with ``secret``
    (None: an empty signature, as for ``alg: none``)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = (
        ""
        if secret is None
        else b64(hmac.new(secret.encode(), signing_input.encode(), digest).digest())
    )
    return f"{signing_input}.{signature}"


def claims_for(
    api_key: str, ttl: int = 600, now: int | None = None, **overrides: Any
) -> dict[str, Any]:
    issued = int(time.time()) if now is None else now
    claims: dict[str, Any] = {"sub": api_key, "iat": issued, "exp": issued + ttl, "iss": "sdk"}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def header_for(api_key: str, **overrides: Any) -> dict[str, Any]:
    header: dict[str, Any] = {"alg": "HS256", "typ": "JWT", "kid": api_key}
    header.update(overrides)
    return header


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def anonymous(server: ServerProcess) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, timeout=30)


# Datasets, snapshots and tasks.


def imports_root(server: ServerProcess) -> Path:
    return Path(server.data_dir).parent / "imports"


def ready_dataset(
    client: SnapsetClient, folder: Path, name: str, images: int = 2, videos: int = 0
) -> str:
    """Upload a folder of small media as a new dataset and wait until it is READY."""
    files = sorted(folder_of_media(folder, images=images, videos=videos).iterdir())
    dataset_id = client.create_dataset(name, files=files)
    client.wait_status(dataset_id, "READY")
    return dataset_id


def finish(client: SnapsetClient, started: dict[str, Any]) -> dict[str, Any]:
    """Wait for a started task (a 202 body) and assert it completed."""
    task = client.wait_task(started["task_id"])
    assert task["status"] == "COMPLETED", task
    return task


def snapshot_ids(client: SnapsetClient, dataset_id: str) -> list[str]:
    return [s["snapshot_id"] for s in client.snapshots(dataset_id)]


def only(items: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    found = [i for i in items if all(i.get(k) == v for k, v in match.items())]
    assert len(found) == 1, f"expected one item with {match}, found {found}"
    return found[0]


# A production-shaped deployment: an API-only server, a projector process and a worker that
# the test starts and stops, so tasks can be kept waiting for as long as a test needs.


class Deployment:
    def __init__(self, server: ServerProcess, import_root: Path, logs: Path) -> None:
        self.server = server
        self.import_root = import_root
        self.logs = logs
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, role: str, timeout: float = 30.0, *, hold: float = 0.0) -> None:
        """Start `snapset project` or `snapset worker` and wait until it says it runs; a
        worker with ``hold`` pauses that long after claiming each task (paced_worker)."""
        assert role not in self.processes, f"{role} already runs"
        args = [role, "--data-dir", str(self.server.data_dir)]
        if role == "worker":
            args += ["--import-root", str(self.import_root)]
        log = self.logs / f"{role}-{len(list(self.logs.iterdir()))}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                paced_command(*args, hold=hold) if hold else snapset_command(*args),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.server.env,
                cwd=Path(__file__).resolve().parents[2],
            )
        self.processes[role] = process
        deadline = time.monotonic() + timeout
        while "running" not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"snapset {role} did not start:\n{log.read_text()}")
            time.sleep(0.02)

    def stop(self, role: str) -> None:
        process = self.processes.pop(role)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def close(self) -> None:
        for role in list(self.processes):
            self.stop(role)
        self.server.stop()


@pytest.fixture(params=BACKENDS)
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else ""
    imports = tmp_path / "imports"
    imports.mkdir()
    logs = tmp_path / "logs"
    logs.mkdir()
    server = start_server(
        tmp_path / "data", database_url=url, import_root=imports, extra_args=("--api-only",)
    )
    running = Deployment(server, imports, logs)
    try:
        running.start("project")
        yield running
    finally:
        running.close()
