"""Read-your-writes through HTTP under load: 1,000 create-then-list calls each see their write.

The server answers writes at commit (SNAPSET_WRITE_WAIT_SECONDS=0), so the read models are
really behind when the list comes; background writers keep the projector busy. Each list
passes the create's position in X-Snapset-Min-Position, as API clients do. The natural lag
(each write's `Server-Timing: projection`, measured on a second server that waits as in
production) is written to test-artifacts/reliability/ for the scorecard.
"""

from __future__ import annotations

import contextlib
import json
import re
import statistics
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BACKENDS
from tests.support.client import SnapsetClient
from tests.support.media import folder_of_media
from tests.support.server import ServerProcess, start_server

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

CALLS = 1000
DATASETS = 10
BACKGROUND_WRITERS = 3
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "reliability"
TIMING = re.compile(r"projection;dur=([0-9.]+)")


def serve(request: pytest.FixtureRequest, tmp_path: Path, write_wait: str) -> ServerProcess:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else ""
    return start_server(
        tmp_path / "data",
        database_url=url,
        extra_env={"SNAPSET_WRITE_WAIT_SECONDS": write_wait},
        extra_args=("--embedded",) if url else (),
    )


@pytest.fixture(params=BACKENDS)
def answering_at_commit(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    server = serve(request, tmp_path, "0")
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def as_deployed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    server = serve(request, tmp_path, "5")
    yield server
    server.stop()


@contextlib.contextmanager
def client_of(keys: ServerProcess | SnapsetClient) -> Iterator[SnapsetClient]:
    """A client of its own (httpx clients are not shared across threads) with these keys."""
    client = SnapsetClient(keys.base_url, keys.api_key, keys.api_secret)
    try:
        yield client
    finally:
        client.close()


def ready_datasets(client: SnapsetClient, tmp_path: Path, count: int) -> list[str]:
    media = folder_of_media(tmp_path / "media", images=2, videos=0)
    files = sorted(media.iterdir())
    ids = [client.create_dataset(f"ryw-{n}", files=files) for n in range(count)]
    for dataset_id in ids:
        client.wait_status(dataset_id, "READY", timeout=60)
    return ids


class Background:
    """Writers renaming snapshots of their own dataset until stopped: the projector is busy."""

    def __init__(self, client: SnapsetClient, dataset_id: str) -> None:
        self.client = client
        self.snapshot_id = client.snapshots(dataset_id)[0]["snapshot_id"]
        self.dataset_id = dataset_id
        self.stop = threading.Event()
        self.writes = 0
        self.errors: list[str] = []
        self.threads = [
            threading.Thread(target=self.run, args=(n,), daemon=True)
            for n in range(BACKGROUND_WRITERS)
        ]

    def run(self, n: int) -> None:
        with client_of(self.client) as client:
            i = 0
            while not self.stop.is_set():
                i += 1
                response = client.request(
                    "PATCH",
                    f"/dataset/{self.dataset_id}/snapshot/{self.snapshot_id}",
                    json={"description": f"writer {n} edit {i}"},
                )
                if response.status_code >= 500:
                    self.errors.append(f"{response.status_code} {response.text}")
                self.writes += 1

    def __enter__(self) -> Background:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)


def test_a_thousand_creates_are_each_listed_by_the_list_that_follows_them(
    answering_at_commit: ServerProcess,
    tmp_path: Path,
) -> None:
    with client_of(answering_at_commit) as client:
        *targets, busy = ready_datasets(client, tmp_path, DATASETS + 1)
        missed: list[int] = []
        with Background(client, busy) as background:
            for call in range(CALLS):
                dataset_id = targets[call % DATASETS]
                response = client.request(
                    "POST", f"/dataset/{dataset_id}/snapshot", json={"name": f"call {call}"}
                )
                assert response.status_code == 200, response.text
                created = response.json()["snapshot_id"]
                position = response.headers["X-Snapset-Position"]
                listed = client.request(
                    "GET",
                    f"/dataset/{dataset_id}/snapshot",
                    headers={"X-Snapset-Min-Position": position},
                )
                assert listed.status_code == 200, listed.text
                rows = listed.json()
                if not rows or rows[0]["snapshot_id"] != created or not rows[0]["is_current"]:
                    missed.append(call)
        assert background.errors == []
        assert background.writes > 0
        assert missed == []
        for dataset_id in targets:
            assert len(client.snapshots(dataset_id)) == 1 + CALLS // DATASETS


def test_the_natural_projection_lag_under_load_is_reported(
    as_deployed: ServerProcess,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """On a server that waits for its read models, as deployed: each write says how long."""
    with client_of(as_deployed) as client:
        target, busy = ready_datasets(client, tmp_path, 2)
        lags: list[float] = []
        with Background(client, busy) as background:
            for call in range(300):
                response = client.request(
                    "POST", f"/dataset/{target}/snapshot", json={"name": f"lag {call}"}
                )
                assert response.status_code == 200, response.text
                match = TIMING.search(response.headers.get("Server-Timing", ""))
                assert match, response.headers
                lags.append(float(match.group(1)))
        assert background.errors == []
    lags.sort()
    figures = {
        "writes": len(lags),
        "background_writes": background.writes,
        "lag_p50_ms": round(statistics.median(lags), 2),
        "lag_p99_ms": round(lags[int(len(lags) * 0.99) - 1], 2),
        "lag_max_ms": round(lags[-1], 2),
    }
    assert figures["lag_max_ms"] < 5000, "a write gave up waiting for the read models"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    backend = request.node.callspec.params["as_deployed"]
    (ARTIFACTS / f"projection-lag-{backend}.json").write_text(json.dumps(figures, indent=2))
    print(f"natural projection lag ({backend}): {figures}")
