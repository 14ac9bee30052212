"""Projection race: concurrent writers through HTTP while the projections run live.

Run from the repository root:

    .venv/bin/python -m bench.projection_race [--seconds 60] [--writers 10]
        [--backends sqlite,postgres]

For each backend it starts a real deployment (SQLite: one embedded ``snapset serve``;
PostgreSQL: a fresh schema of the database named by SNAPSET_BENCH_DATABASE_URL, default the
local ``test`` database, dropped at the end, with two API-only servers, one ``snapset
project`` and one ``snapset worker`` process), lets ``--writers`` clients create, rename and
delete snapshots, tag media and start restores on five shared datasets for ``--seconds``, then
waits for the read models to catch up and audits them against the event store:

- skipped: stored dataset-event notification ids with no audit-history row (the audit
  history stores one row per dataset event, keyed by its notification id);
- extra: audit-history rows for ids the event store does not hold;
- views behind: views whose tracking position is not the log's last notification id;
- drift: datasets whose snapshot list or task log differs from the aggregate's own state.

It prints the figures (writes, events/s, projection lag sampled every 100 ms, catch-up time)
and the audit; it never fails on a figure. tests/reliability/test_concurrency.py runs the same
race for a shorter time and asserts the audit is clean.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

import httpx
from eventsourcing.persistence import Notification

from adapters.backend import Backend, open_backend
from adapters.settings import Settings
from adapters.views.snapshot_list import SnapshotListView
from bench.backends import backend_store
from bench.deployment import migrate, spawn, stop_process
from bench.options import parse_backends
from bench.reports import log
from domain.dataset import Dataset
from tests.support.client import SnapsetClient
from tests.support.media import folder_of_media
from tests.support.server import ServerProcess, start_server

DATASET_TOPIC_PREFIX = "snapset:Dataset."
DATASETS = 5
ANSWERS = {200, 202, 409}  # a write either lands or is refused because of the dataset's state


# A deployment: the processes a backend runs in production, and a reader on its storage.


@dataclass
class Deployment:
    data_dir: Path
    database_url: str
    servers: list[ServerProcess]
    background: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _reader: Backend | None = None

    @property
    def backend_name(self) -> str:
        return "postgres" if self.database_url else "sqlite"

    def client(self, index: int) -> SnapsetClient:
        """A client of the first admin, on API server ``index`` (round robin)."""
        server = self.servers[index % len(self.servers)]
        first = self.servers[0]
        return SnapsetClient(server.base_url, first.api_key, first.api_secret)

    def reader(self) -> Backend:
        """The deployment's storage opened in this process: the event store and the views."""
        if self._reader is None:
            settings = Settings(data_dir=self.data_dir, database_url=self.database_url)
            self._reader = open_backend(settings, migrate=False)
        return self._reader

    def stop(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        for server in self.servers:
            server.stop()
        for process in self.background:
            stop_process(process)


def start_deployment(
    data_dir: Path, database_url: str = "", *, api_servers: int = 2, logs: Path | None = None
) -> Deployment:
    """SQLite: one embedded server (its only shape). PostgreSQL: ``api_servers`` API-only
    servers, a projector and a worker process on one database, so requests for one dataset
    race across processes, not only across one server's threads."""
    if not database_url:
        return Deployment(data_dir, "", [start_server(data_dir)])
    env = {**os.environ, "SNAPSET_DATABASE_URL": database_url}
    migrate(data_dir, env)
    deployment = Deployment(data_dir, database_url, [])
    try:
        for role in ("project", "worker"):
            out = (logs / f"{role}.log").open("wb") if logs else subprocess.DEVNULL
            deployment.background.append(spawn(role, data_dir, env, out))
        for _ in range(api_servers):
            deployment.servers.append(
                start_server(data_dir, database_url=database_url, extra_args=("--api-only",))
            )
    except BaseException:
        deployment.stop()
        raise
    return deployment


def ready_dataset(client: SnapsetClient, folder: Path, name: str, images: int = 2) -> str:
    files = sorted(folder_of_media(folder, images=images, videos=0).iterdir())
    dataset_id = client.create_dataset(name, files=files)
    client.wait_status(dataset_id, "READY", timeout=60)
    return dataset_id


# The race.


@dataclass
class Target:
    dataset_id: str
    creation_snapshot: str
    media_ids: list[str]


@dataclass
class Audit:
    stored: set[int]
    projected: set[int]
    last_position: int
    view_positions: dict[str, int]
    drift: list[str]

    @property
    def skipped(self) -> set[int]:
        return self.stored - self.projected

    @property
    def extra(self) -> set[int]:
        return self.projected - self.stored

    @property
    def views_behind(self) -> dict[str, int]:
        return {n: p for n, p in self.view_positions.items() if p != self.last_position}


@dataclass
class RaceFigures:
    backend: str
    seconds: float
    writers: int
    answers: Counter[tuple[str, int]]
    events: int
    lag_samples: list[int]
    catch_up_seconds: float
    audit: Audit

    @property
    def acknowledged(self) -> int:
        return sum(n for (_, status), n in self.answers.items() if status in (200, 202))

    @property
    def unexpected(self) -> dict[tuple[str, int], int]:
        return {k: n for k, n in self.answers.items() if k[1] not in ANSWERS}


class Writer(threading.Thread):
    """One client: creates, renames and deletes its own snapshots, tags media and now and
    then restores, on the datasets given, until the deadline."""

    def __init__(
        self, index: int, client: SnapsetClient, targets: list[Target], deadline: float, seed: int
    ) -> None:
        super().__init__(name=f"writer-{index}", daemon=True)
        self.index = index
        self.client = client
        self.targets = targets
        self.deadline = deadline
        self.random = random.Random(seed * 1000 + index)
        self.answers: Counter[tuple[str, int]] = Counter()
        self.mine: dict[str, list[str]] = {t.dataset_id: [] for t in targets}
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            step = 0
            while time.monotonic() < self.deadline:
                target = self.targets[(self.index + step) % len(self.targets)]
                self._one(target, step)
                step += 1
        except BaseException as error:  # surfaced by run_race
            self.error = error

    def _one(self, target: Target, step: int) -> None:
        roll = self.random.random()
        base = f"/dataset/{target.dataset_id}/snapshot"
        mine = self.mine[target.dataset_id]
        if roll < 0.45 or not mine:
            response = self.client.request("POST", base, json={"name": f"w{self.index}-{step}"})
            if response.status_code == 200:
                mine.append(response.json()["snapshot_id"])
            self._answer("create", response)
        elif roll < 0.75:
            response = self.client.request(
                "PATCH",
                f"{base}/{self.random.choice(mine)}",
                json={"name": f"w{self.index}-{step}-renamed"},
            )
            self._answer("rename", response)
        elif roll < 0.85:
            chosen = mine.pop(self.random.randrange(len(mine)))
            response = self.client.request("DELETE", f"{base}/{chosen}")
            if response.status_code == 409:  # the current snapshot stays
                mine.append(chosen)
            self._answer("delete", response)
        elif roll < 0.97:
            response = self.client.request(
                "POST",
                f"/dataset/{target.dataset_id}/media/tags",
                json={
                    "media_ids": [self.random.choice(target.media_ids)],
                    "add": [f"w{self.index}"],
                },
            )
            self._answer("tag", response)
        else:
            response = self.client.request("POST", f"{base}/{target.creation_snapshot}/restore")
            self._answer("restore", response)

    def _answer(self, kind: str, response: httpx.Response) -> None:
        self.answers[(kind, response.status_code)] += 1


def prepare_targets(deployment: Deployment, folder: Path, count: int = DATASETS) -> list[Target]:
    client = deployment.client(0)
    try:
        targets = []
        for number in range(count):
            dataset_id = ready_dataset(client, folder / f"race{number}", f"race{number}")
            [creation] = client.snapshots(dataset_id)
            media = [m["media_id"] for m in client.media(dataset_id)]
            targets.append(Target(dataset_id, creation["snapshot_id"], media))
        return targets
    finally:
        client.close()


def run_race(
    deployment: Deployment, folder: Path, *, seconds: float, writers: int = 10, seed: int = 0
) -> RaceFigures:
    """Write for ``seconds`` with ``writers`` concurrent clients, then wait until every read
    model has caught up and audit them (see the module docstring)."""
    targets = prepare_targets(deployment, folder)
    reader = deployment.reader()
    first_position = reader.app.position()
    clients = [deployment.client(i) for i in range(writers)]
    deadline = time.monotonic() + seconds
    threads = [Writer(i, clients[i], targets, deadline, seed) for i in range(writers)]
    lag_samples: list[int] = []
    with _sampling_lag(reader, lag_samples):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for client in clients:
        client.close()
    errors = [t.error for t in threads if t.error is not None]
    if errors:
        raise errors[0]
    answers: Counter[tuple[str, int]] = Counter()
    for thread in threads:
        answers.update(thread.answers)
    settled = time.monotonic()
    wait_until_quiet(deployment, [t.dataset_id for t in targets])
    catch_up = time.monotonic() - settled
    audit = audit_projections(reader, [UUID(t.dataset_id) for t in targets])
    return RaceFigures(
        deployment.backend_name,
        seconds,
        writers,
        answers,
        audit.last_position - first_position,
        lag_samples,
        catch_up,
        audit,
    )


@contextlib.contextmanager
def _sampling_lag(reader: Backend, samples: list[int]) -> Iterator[None]:
    """Every 100 ms: how many notifications the slowest view is behind the log."""
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.1):
            last = reader.app.position()
            slowest = min(store.position() for store in reader.stores.values())
            samples.append(max(0, last - slowest))

    thread = threading.Thread(target=sample, name="lag-sampler", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def wait_until_quiet(
    deployment: Deployment, dataset_ids: list[str], timeout: float = 120.0
) -> None:
    """Until no task runs on the datasets and every view has the log's last notification."""
    client = deployment.client(0)
    reader = deployment.reader()
    deadline = time.monotonic() + timeout
    try:
        for dataset_id in dataset_ids:
            client.wait_status(
                dataset_id,
                "READY",
                "PARTIAL INDEX",
                "ERROR",
                timeout=max(1.0, deadline - time.monotonic()),
            )
        pause = 0.01
        while True:
            last = reader.app.position()
            if all(store.position() >= last for store in reader.stores.values()):
                return
            if time.monotonic() > deadline:
                positions = {n: s.position() for n, s in reader.stores.items()}
                raise TimeoutError(f"views did not reach {last}: {positions}")
            time.sleep(pause)  # polling another process's tracking rows; no signal to wait on
            pause = min(pause * 2, 0.2)
    finally:
        client.close()


# The audit.


def stored_notifications(reader: Backend) -> list[Notification]:
    notifications: list[Notification] = []
    start = 0
    while True:
        page = reader.app.recorder.select_notifications(
            start=start, limit=1000, inclusive_of_start=False
        )
        if not page:
            return notifications
        notifications.extend(page)
        start = page[-1].id


def audit_projections(reader: Backend, dataset_ids: list[UUID]) -> Audit:
    notifications = stored_notifications(reader)
    stored = {n.id for n in notifications if n.topic.startswith(DATASET_TOPIC_PREFIX)}
    with reader.stores["audit_history"].reading() as view:
        projected = {int(r["position"]) for r in view.all("SELECT position FROM {t}events")}
    positions = {name: store.position() for name, store in reader.stores.items()}
    last = notifications[-1].id if notifications else 0
    drift = [d for dataset_id in dataset_ids for d in _drift(reader, dataset_id)]
    return Audit(stored, projected, last, positions, drift)


def _drift(reader: Backend, dataset_id: UUID) -> list[str]:
    """How the snapshot list and the task log differ from the aggregate's own state."""
    dataset = reader.app.repository.get(dataset_id)
    assert isinstance(dataset, Dataset)
    live = {
        cid: record["name"] for cid, record in dataset.checkpoints.items() if not record["deleted"]
    }
    snapshot_list = reader.views["snapshot_list"]
    assert isinstance(snapshot_list, SnapshotListView)
    rows = snapshot_list.list(str(dataset_id))
    listed = {r["snapshot_id"]: r["snapshot_name"] for r in rows}
    current = [r["snapshot_id"] for r in rows if r["is_current"]]
    tasks = dict(dataset.finished_tasks)
    if dataset.active_task is not None:
        tasks[dataset.active_task["task_id"]] = dataset.active_task["status"]
    with reader.stores["task_log"].reading() as view:
        logged = {
            r["task_id"]: r["status"]
            for r in view.all(
                "SELECT task_id, status FROM {t}tasks WHERE dataset_id = ?", (str(dataset_id),)
            )
        }
    drift = []
    if listed != live:
        drift.append(f"{dataset_id}: snapshot list {listed} != aggregate {live}")
    if current != [dataset.current_checkpoint]:
        drift.append(f"{dataset_id}: current {current} != {dataset.current_checkpoint}")
    if logged != tasks:
        drift.append(f"{dataset_id}: task log {logged} != aggregate {tasks}")
    return drift


# The bench.


def race_on(backend: str, seconds: float, writers: int) -> RaceFigures:
    with backend_store(backend, "race") as settings:
        log(f"{backend}: starting the deployment")
        deployment = start_deployment(settings.data_dir, settings.database_url)
        try:
            log(f"{backend}: {writers} writers for {seconds:.0f} s")
            media = settings.data_dir.parent / "media"
            figures = run_race(deployment, media, seconds=seconds, writers=writers)
        finally:
            deployment.stop()
    log(f"{backend}: {figures.acknowledged} writes acknowledged, audit done")
    return figures


def print_figures(results: list[RaceFigures]) -> None:
    print("\nProjection race: concurrent HTTP writers, live projections, then an audit")
    print(
        f"{'backend':<9} {'writers':>7} {'seconds':>7} {'acked':>7} {'409s':>6} "
        f"{'events':>7} {'events/s':>9} {'lag p50':>8} {'lag max':>8} {'catch-up':>9} "
        f"{'skipped':>8} {'extra':>6} {'behind':>7} {'drift':>6}"
    )
    for r in results:
        refused = sum(n for (_, status), n in r.answers.items() if status == 409)
        lag = r.lag_samples or [0]
        print(
            f"{r.backend:<9} {r.writers:>7} {r.seconds:>7.0f} {r.acknowledged:>7} "
            f"{refused:>6} {r.events:>7} {r.events / r.seconds:>9.1f} "
            f"{statistics.median(lag):>8.0f} {max(lag):>8} {r.catch_up_seconds:>8.2f}s "
            f"{len(r.audit.skipped):>8} {len(r.audit.extra):>6} "
            f"{len(r.audit.views_behind):>7} {len(r.audit.drift):>6}"
        )
    print("\nAnswers by kind (status: count):")
    for r in results:
        kinds = sorted({kind for kind, _ in r.answers})
        text = "; ".join(
            f"{kind} "
            + ", ".join(
                f"{status}: {n}" for (k, status), n in sorted(r.answers.items()) if k == kind
            )
            for kind in kinds
        )
        print(f"  {r.backend}: {text}")
    clean = all(
        not (
            r.audit.skipped
            or r.audit.extra
            or r.audit.views_behind
            or r.audit.drift
            or r.unexpected
        )
        for r in results
    )
    print(
        f"\nAudit: {'CLEAN' if clean else 'PROBLEMS'} (skipped, extra, views behind and "
        "drift must all be 0; lag and catch-up are figures, not goals)"
    )
    for r in results:
        for line in r.audit.drift[:5]:
            print(f"  {r.backend} drift: {line}")
        if r.audit.skipped:
            print(f"  {r.backend} skipped ids: {sorted(r.audit.skipped)[:20]}")
        if r.unexpected:
            print(f"  {r.backend} unexpected answers: {r.unexpected}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.projection_race", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--writers", type=int, default=10)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args(argv)
    results = [
        race_on(backend, args.seconds, args.writers)
        for backend in parse_backends(parser, args.backends)
    ]
    print_figures(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
