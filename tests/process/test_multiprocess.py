"""Two API processes, a worker and a projector on one PostgreSQL database cooperate."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.client import SnapsetClient
from tests.support.media import folder_of_media
from tests.support.server import ServerProcess, snapset_command, start_server

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cluster(postgres_url: str, tmp_path: Path) -> Iterator[tuple[SnapsetClient, SnapsetClient]]:
    env = {**os.environ, "SNAPSET_DATABASE_URL": postgres_url}
    data = tmp_path / "shared-data"  # blobs and staging: shared storage in this test
    subprocess.run(
        snapset_command("migrate", "--data-dir", str(data)),
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    background = [
        subprocess.Popen(
            snapset_command(command, "--data-dir", str(data)),
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for command in ("worker", "project")
    ]
    servers: list[ServerProcess] = []
    try:
        servers.append(start_server(data, database_url=postgres_url))
        servers.append(start_server(data, database_url=postgres_url))
        first = servers[0]
        clients = (
            SnapsetClient(servers[0].base_url, first.api_key, first.api_secret),
            SnapsetClient(servers[1].base_url, first.api_key, first.api_secret),
        )
        yield clients
        for client in clients:
            client.close()
    finally:
        for server in servers:
            server.stop()
        for process in background:
            process.terminate()
            process.wait(timeout=15)


def test_api_processes_worker_and_projector_cooperate_on_one_database(
    cluster: tuple[SnapsetClient, SnapsetClient], tmp_path: Path
) -> None:
    one, two = cluster
    files = sorted(folder_of_media(tmp_path / "upload", images=3, videos=1).iterdir())
    dataset_id = one.create_dataset("shared", files=files)
    assert two.wait_status(dataset_id, "READY")["n_images"] == 3, "the worker ingested it"
    original = two.media(dataset_id)
    [creation] = one.snapshots(dataset_id)

    one.edit_media(dataset_id, original[0]["media_id"], tags=["edited"])
    made = two.create_snapshot(dataset_id, name="edited")
    assert made["snapshot_id"] in {s["snapshot_id"] for s in one.snapshots(dataset_id)}, (
        "a snapshot made through one API is listed by the other"
    )

    started = one.restore(dataset_id, creation["snapshot_id"])
    assert two.wait_task(started["task_id"])["status"] == "COMPLETED"
    assert one.media(dataset_id) == original

    cloned = two.clone(dataset_id, creation["snapshot_id"])
    assert one.wait_task(cloned["task_id"])["status"] == "COMPLETED"
    assert two.media(cloned["dataset_id"]) == original
