"""PostgreSQL dies under snapset: a crash-stop under write load, and a COMMIT whose answer
never arrives.

Both run on a private cluster (tests/reliability/pg_cluster.py), never the shared one.

- Crash-stop: writers create snapshots through a real embedded server, each with its own
  Idempotency-Key, retrying a 503 with the same key; the cluster is stopped with ``-m
  immediate`` mid-load and started again. Every acknowledged write must be in the database
  after recovery, exactly once; the same server must answer again without a restart (its
  projections and worker too); and no answer may be a 500 or a false 409. While the database
  is down a request waits for it: the library retries event-store reads and inserts and
  tracking reads 10 times, each waiting up to the pool's 5 s for a connection, so an outage
  of less than about 50 s is ridden out (an 8 s outage here delays writes and reads of the
  snapshot list, it fails none). A longer one is answered 503
  with ``{"detail": ...}`` (adapters/http/problems.py maps PersistenceError to 503); the
  writers accept that answer and retry it with the same key.
- Cut COMMIT: a proxy closes the connection right after PostgreSQL answers a COMMIT that
  stored events, so the write is durable but the server's driver sees a broken connection.
  The command must not be answered 409 or 404 for a write that landed, must not be stored
  twice, and a retry with the same Idempotency-Key must return the original result.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from adapters.backend import Backend, open_backend
from adapters.settings import Settings
from bench.projection_race import ready_dataset
from tests.reliability.pg_cluster import ClusterUnavailable, CommitCutProxy, PrivateCluster
from tests.support.client import SnapsetClient
from tests.support.server import ServerProcess, start_server

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.postgres]

OUTAGE_SECONDS = 8.0  # how long the database stays down: the fault, not a synchronisation
RECOVERY_BOUND = 60.0  # the service must answer again within this after the restart
WRITERS = 4


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    try:
        made = PrivateCluster.create()
    except ClusterUnavailable as why:
        pytest.fail(f"The PostgreSQL crash tests need a private cluster: {why}")
    try:
        yield made
    finally:
        made.drop()


@dataclass
class Running:
    server: ServerProcess
    client: SnapsetClient
    reader: Backend
    proxy: CommitCutProxy | None = None

    def events(self, dataset_id: str, name: str) -> list[Any]:
        app = self.reader.app
        stored = app.recorder.select_events(UUID(dataset_id))
        return [e for e in map(app.mapper.to_domain_event, stored) if type(e).__name__ == name]

    def close(self) -> None:
        self.client.close()
        self.server.stop()
        self.reader.close()
        if self.proxy is not None:
            self.proxy.close()


def run_snapset(cluster: PrivateCluster, data_dir: Path, *, through_proxy: bool) -> Running:
    """An embedded snapset (API, projections, worker) on a fresh database of ``cluster``."""
    database = cluster.create_database()
    proxy = CommitCutProxy(cluster.port) if through_proxy else None
    served_url = cluster.url(database, proxy.port if proxy else None)
    server = start_server(data_dir, database_url=served_url, extra_args=("--embedded",))
    client = SnapsetClient(server.base_url, server.api_key, server.api_secret)
    client.http.timeout = httpx.Timeout(120)  # a request may wait out the outage
    reader = open_backend(
        Settings(data_dir=data_dir, database_url=cluster.url(database)), migrate=False
    )
    return Running(server, client, reader, proxy)


# The crash-stop.


@dataclass
class Load:
    """Writers that create snapshots until stopped; a 503 is retried with the same key."""

    client: SnapsetClient
    dataset_id: str
    answers: Counter[int] = field(default_factory=Counter)
    reads: Counter[int] = field(default_factory=Counter)
    slowest: float = 0.0
    acknowledged: dict[str, tuple[str, str]] = field(default_factory=dict)  # key: (id, name)
    unexpected: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    progressed: threading.Condition = field(default_factory=threading.Condition)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self, writers: int) -> None:
        for number in range(writers):
            thread = threading.Thread(target=self._write, args=(number,), daemon=True)
            thread.start()
            self.threads.append(thread)
        reader = threading.Thread(target=self._read, daemon=True)
        reader.start()
        self.threads.append(reader)

    def wait_for_acks(self, count: int, timeout: float) -> None:
        with self.progressed:
            if not self.progressed.wait_for(lambda: len(self.acknowledged) >= count, timeout):
                raise AssertionError(f"only {len(self.acknowledged)} writes acknowledged")

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=300)

    def _write(self, number: int) -> None:
        step = 0
        while not self.stop.is_set():
            key, name = f"crash-{number}-{step}-{uuid.uuid4().hex[:6]}", f"w{number}-{step}"
            while True:  # the same logical write until it is acknowledged
                try:
                    started = time.monotonic()
                    response = self.client.request(
                        "POST",
                        f"/dataset/{self.dataset_id}/snapshot",
                        json={"name": name},
                        headers={"Idempotency-Key": key},
                    )
                except httpx.HTTPError as error:
                    self._note(f"{key}: no answer: {error!r}")
                    return
                with self.progressed:
                    self.slowest = max(self.slowest, time.monotonic() - started)
                    self.answers[response.status_code] += 1
                    if response.status_code == 200:
                        self.acknowledged[key] = (response.json()["snapshot_id"], name)
                        self.progressed.notify_all()
                        break
                if response.status_code != 503 or not _has_detail(response):
                    self._note(f"{key}: {response.status_code} {response.text}")
                    return
            step += 1

    def _read(self) -> None:
        """The snapshot list, read from its view, over and over."""
        while not self.stop.is_set():
            try:
                response = self.client.request("GET", f"/dataset/{self.dataset_id}/snapshot")
            except httpx.HTTPError as error:
                self._note(f"list: no answer: {error!r}")
                return
            with self.progressed:
                self.reads[response.status_code] += 1
            if response.status_code != 200 and not (
                response.status_code == 503 and _has_detail(response)
            ):
                self._note(f"list: {response.status_code} {response.text}")
                return

    def _note(self, problem: str) -> None:
        with self.progressed:
            self.unexpected.append(problem)
            self.progressed.notify_all()


def _has_detail(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("detail"), str) and bool(body["detail"])


def first_success_after(client: SnapsetClient, dataset_id: str, bound: float) -> float:
    """Seconds until a read and a write both succeed again; fails past ``bound``."""
    started = time.monotonic()
    while True:
        read = client.request("GET", f"/dataset/{dataset_id}")
        if read.status_code == 200:
            write = client.request(
                "POST",
                f"/dataset/{dataset_id}/snapshot",
                json={"name": "probe"},
                headers={"Idempotency-Key": f"probe-{uuid.uuid4()}"},
            )
            if write.status_code == 200:
                return time.monotonic() - started
            assert write.status_code == 503, write.text
        else:
            assert read.status_code == 503, read.text
        assert time.monotonic() - started < bound, f"no success {bound} s after the restart"
        time.sleep(0.2)  # pacing a client's retries; the state is in another process


def test_acknowledged_writes_survive_a_crash_stop_and_the_server_recovers_without_restart(
    cluster: PrivateCluster, tmp_path: Path
) -> None:
    running = run_snapset(cluster, tmp_path / "data", through_proxy=False)
    try:
        client = running.client
        dataset_id = ready_dataset(client, tmp_path / "media", "crashed")
        load = Load(client, dataset_id)
        load.start(WRITERS)
        load.wait_for_acks(20, timeout=120)
        before_crash = len(load.acknowledged)

        cluster.crash()
        threading.Event().wait(OUTAGE_SECONDS)
        cluster.start()
        recovery = first_success_after(client, dataset_id, RECOVERY_BOUND)
        load.wait_for_acks(before_crash + 20, timeout=120)
        load.finish()

        assert load.unexpected == [], "no 500, no false 409, no dropped request"
        assert set(load.answers) <= {200, 503}
        stored = running.events(dataset_id, "SnapshotCreated")
        kept = [e for e in stored if e.checkpoint["name"] != "probe"]
        manual = Counter(e.checkpoint_id for e in kept)
        assert {e.checkpoint_id: e.checkpoint["name"] for e in kept} == dict(
            load.acknowledged.values()
        ), "every acknowledged write is stored, nothing else"
        assert max(manual.values()) == 1, "no write is stored twice"

        versions = [
            e.originator_version
            for e in map(
                running.reader.app.mapper.to_domain_event,
                running.reader.app.recorder.select_events(UUID(dataset_id)),
            )
        ]
        assert versions == list(range(1, len(versions) + 1))

        assert running.server.process.poll() is None, "the same server process answered"
        listed = {s["snapshot_id"] for s in client.snapshots(dataset_id)}
        assert {i for i, _ in load.acknowledged.values()} <= listed, "the projections recovered"
        [creation] = [s for s in client.snapshots(dataset_id) if s["reason"] == "creation"]
        restore = client.restore(dataset_id, creation["snapshot_id"])
        assert client.wait_task(restore["task_id"], timeout=60)["status"] == "COMPLETED", (
            "the worker recovered"
        )
        print(
            f"\ncrash-stop: {len(load.acknowledged)} writes acknowledged "
            f"({before_crash} before the crash), write answers {dict(load.answers)}, "
            f"list answers {dict(load.reads)}, slowest write {load.slowest:.1f} s, "
            f"first success {recovery:.2f} s after the restart"
        )
    finally:
        running.close()


# The cut COMMIT.


@pytest.fixture(scope="module")
def cut(cluster: PrivateCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    running = run_snapset(cluster, tmp_path_factory.mktemp("cut") / "data", through_proxy=True)
    yield running
    running.close()


def cut_request(running: Running, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """Send a request whose events' COMMIT answer the proxy cuts; the cut must happen."""
    assert running.proxy is not None
    running.proxy.arm()
    response = running.client.request(method, path, **kwargs)
    assert running.proxy.cut.is_set(), "the proxy cut no COMMIT: the fault did not happen"
    assert response.status_code not in (404, 409), (
        f"a write that landed was answered {response.status_code}: {response.text}"
    )
    return response


def test_a_snapshot_creation_whose_commit_answer_is_lost_is_stored_once_and_retries_get_it(
    cut: Running, tmp_path: Path
) -> None:
    dataset_id = ready_dataset(cut.client, tmp_path / "media", "cut-create")
    path, key = f"/dataset/{dataset_id}/snapshot", {"Idempotency-Key": "cut-create"}

    first = cut_request(cut, "POST", path, json={"name": "after the cut"}, headers=key)
    assert first.status_code in (200, 503), first.text
    again = cut.client.request("POST", path, json={"name": "after the cut"}, headers=key)

    assert again.status_code == 200, again.text
    if first.status_code == 200:
        assert again.json() == first.json()
    created = cut.events(dataset_id, "SnapshotCreated")
    [stored] = [e for e in created if e.checkpoint["reason"] == "manual"]
    assert (stored.checkpoint_id, stored.checkpoint["name"]) == (
        again.json()["snapshot_id"],
        "after the cut",
    )


def test_a_restore_whose_commit_answer_is_lost_starts_once_and_a_keyed_retry_gets_its_task(
    cut: Running, tmp_path: Path
) -> None:
    dataset_id = ready_dataset(cut.client, tmp_path / "media", "cut-restore")
    [creation] = cut.client.snapshots(dataset_id)
    path = f"/dataset/{dataset_id}/snapshot/{creation['snapshot_id']}/restore"
    key = {"Idempotency-Key": "cut-restore"}

    first = cut_request(cut, "POST", path, headers=key)
    assert first.status_code in (202, 503), first.text
    again = cut.client.request("POST", path, headers=key)

    assert again.status_code == 202, f"a keyed retry is not a new restore: {again.text}"
    if first.status_code == 202:
        assert again.json() == first.json()
    [started] = cut.events(dataset_id, "RestoreStarted")
    assert started.task["task_id"] == again.json()["task_id"]
    assert cut.client.wait_task(again.json()["task_id"], timeout=60)["status"] == "COMPLETED"


def test_a_rename_whose_commit_answer_is_lost_is_stored_once(cut: Running, tmp_path: Path) -> None:
    dataset_id = ready_dataset(cut.client, tmp_path / "media", "cut-rename")
    [creation] = cut.client.snapshots(dataset_id)
    path = f"/dataset/{dataset_id}/snapshot/{creation['snapshot_id']}"

    first = cut_request(cut, "PATCH", path, json={"name": "renamed after the cut"})

    assert first.status_code in (200, 503), first.text
    renames = [e.name for e in cut.events(dataset_id, "SnapshotUpdated")]
    assert renames == ["renamed after the cut"], "one rename request, one stored rename"


def test_a_removal_whose_commit_answer_is_lost_is_not_answered_404(
    cut: Running, tmp_path: Path
) -> None:
    dataset_id = ready_dataset(cut.client, tmp_path / "media", "cut-delete")
    doomed = cut.client.create_snapshot(dataset_id, name="doomed")["snapshot_id"]
    cut.client.create_snapshot(dataset_id, name="current")

    first = cut_request(cut, "DELETE", f"/dataset/{dataset_id}/snapshot/{doomed}")

    assert first.status_code in (200, 503), first.text
    [removed] = cut.events(dataset_id, "SnapshotSoftDeleted")
    assert removed.checkpoint_id == doomed
    assert doomed not in {s["snapshot_id"] for s in cut.client.snapshots(dataset_id)}
