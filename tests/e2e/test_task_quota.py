"""A user with too many unfinished tasks gets 429 with Retry-After, and nothing starts.

The limit (SNAPSET_MAX_OPEN_TASKS, 2 here) is per user across datasets; other users are not
held back, and the user may start tasks again once theirs finish. Tasks stay unfinished while
no worker runs (see test_busy_datasets.py for the deployment).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BACKENDS
from tests.e2e.conftest import add_user
from tests.e2e.helpers import Deployment, finish, problem, ready_dataset
from tests.support.client import SnapsetClient
from tests.support.media import folder_of_media
from tests.support.server import start_server

LIMIT = 2


@pytest.fixture(params=BACKENDS)
def limited(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else ""
    imports, logs = tmp_path / "imports", tmp_path / "logs"
    imports.mkdir()
    logs.mkdir()
    server = start_server(
        tmp_path / "data",
        database_url=url,
        import_root=imports,
        extra_args=("--api-only",),
        extra_env={"SNAPSET_MAX_OPEN_TASKS": str(LIMIT)},
    )
    running = Deployment(server, imports, logs)
    try:
        running.start("project")
        yield running
    finally:
        running.close()


def test_a_user_at_the_task_limit_gets_429_until_a_task_finishes(
    limited: Deployment,
    tmp_path: Path,
) -> None:
    server = limited.server
    client = SnapsetClient(server.base_url, server.api_key, server.api_secret)
    other = add_user(server, "other@example.com")
    try:
        limited.start("worker")
        ids = [
            ready_dataset(client, tmp_path / f"media{n}", f"quota {n}", images=2) for n in range(3)
        ]
        snapshots = [client.snapshots(d)[0]["snapshot_id"] for d in ids]
        limited.stop("worker")

        first = client.restore(ids[0], snapshots[0])
        second = client.clone(ids[1], snapshots[1])
        tasks_before = client.tasks()["total"]

        refused = [
            client.request("POST", f"/dataset/{ids[2]}/snapshot/{snapshots[2]}/restore"),
            client.request("POST", f"/dataset/{ids[2]}/snapshot/{snapshots[2]}/clone"),
            client.request("POST", f"/dataset/{ids[2]}/reindex", json={"threshold": 8}),
            client.request("GET", f"/dataset/{ids[2]}/export_context_async"),
            client.request(
                "POST",
                "/dataset",
                data={"dataset_name": "one more"},
                files=[("files", ("a.png", (tmp_path / "media0" / "img000.png").read_bytes()))],
            ),
        ]
        for response in refused:
            detail = problem(response, 429)
            assert f"{LIMIT} unfinished tasks" in detail, detail
            assert response.headers["Retry-After"].isdigit()
        assert client.tasks()["total"] == tasks_before, "a refused request started nothing"
        assert client.dataset(ids[2])["status"] == "READY"
        assert client.create_dataset("draft, no task") is not None, "no source: no task, no limit"

        files = sorted(folder_of_media(tmp_path / "other", images=1, videos=0).iterdir())
        assert other.create_dataset("someone else's", files=files), "limits are per user"

        limited.start("worker")
        finish(client, first)
        finish(client, second)
        started = client.restore(ids[2], snapshots[2])
        finish(client, started)
    finally:
        client.close()
        other.close()
