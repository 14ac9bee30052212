"""Concurrency through HTTP on a real deployment of each backend.

Sixteen clients fire the same kind of request at one dataset at the same instant, for several
rounds: renames of one snapshot, snapshot creations, and restores mixed with creations. The
event store is the judge: each acknowledged write is there exactly once and in an order that
explains every answer, refused writes left nothing, the dataset's versions stay 1..N with no
gap, and the snapshot list ends where the events say. Then ten writers race the live
projections (SNAPSET_RACE_SECONDS, default 20; bench/projection_race.py runs the full minute
and prints figures) and every stored event must have been projected exactly once.

SQLite runs its only shape, one embedded server (40 request threads). PostgreSQL runs the
production shape: two API-only servers, a projector and a worker process, with the clients
spread over both servers, so conflicting saves really race across processes. Any 5xx fails.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest

from bench.projection_race import Deployment, ready_dataset, run_race, start_deployment
from tests.conftest import BACKENDS, BASE_URL
from tests.e2e import helpers
from tests.support.client import SnapsetClient

pytestmark = [pytest.mark.reliability, pytest.mark.slow]
no_server_errors = helpers.no_server_errors

CLIENTS = 16
ROUNDS = 4
RETRIES_EXHAUSTED = "is being changed by others"


@pytest.fixture(scope="module", params=BACKENDS)
def deployed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp(f"concurrency-{request.param}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    url = f"{BASE_URL}?schema={schema}" if request.param == "postgres" else ""
    deployment = start_deployment(tmp / "data", url)
    try:
        yield deployment
    finally:
        deployment.stop()
        if url:
            with psycopg.connect(BASE_URL.split("?")[0], autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="module")
def clients(deployed: Deployment) -> Iterator[list[SnapsetClient]]:
    made = [deployed.client(i) for i in range(CLIENTS)]
    yield made
    for client in made:
        client.close()


def at_once(
    clients: list[SnapsetClient], request: Callable[[int, SnapsetClient], httpx.Response]
) -> list[httpx.Response]:
    """Every client sends its request at the same instant (a barrier); answers in order."""
    barrier = threading.Barrier(len(clients))

    def send(index: int) -> httpx.Response:
        barrier.wait()
        return request(index, clients[index])

    with ThreadPoolExecutor(len(clients)) as pool:
        return list(pool.map(send, range(len(clients))))


def tally(label: str, answers: list[httpx.Response]) -> None:
    """Print a round's answers (seen with ``pytest -s``): the figures behind the asserts."""
    print(f"{label}: {dict(Counter(a.status_code for a in answers))}")


def sending(
    method: str, path: str, names: list[str]
) -> Callable[[int, SnapsetClient], httpx.Response]:
    """Client ``i`` sends ``{"name": names[i]}``."""

    def send(index: int, client: SnapsetClient) -> httpx.Response:
        return client.request(method, path, json={"name": names[index]})

    return send


def events_of(deployed: Deployment, dataset_id: str, after_version: int = 0) -> list[Any]:
    """The dataset aggregate's stored events after ``after_version``, decoded, by version."""
    app = deployed.reader().app
    stored = app.recorder.select_events(UUID(dataset_id), gt=after_version or None)
    return [app.mapper.to_domain_event(s) for s in stored]


def version_of(deployed: Deployment, dataset_id: str) -> int:
    events = events_of(deployed, dataset_id)
    return int(events[-1].originator_version) if events else 0


def named(events: list[Any], name: str) -> list[Any]:
    return [e for e in events if type(e).__name__ == name]


def assert_versions_contiguous(deployed: Deployment, dataset_id: str) -> None:
    versions = [e.originator_version for e in events_of(deployed, dataset_id)]
    assert versions == list(range(1, len(versions) + 1)), f"gaps or repeats: {versions}"


def last_made_current(events: list[Any]) -> str:
    """API.md: the current snapshot is the newest created or the last restored."""
    made = [
        e.checkpoint_id
        for e in events
        if type(e).__name__ in ("SnapshotCreated", "RestoreCompleted")
    ]
    return str(made[-1])


def assert_refusals_are_documented(responses: list[httpx.Response], *, allowed: str) -> None:
    for response in responses:
        if response.status_code == 409:
            detail = helpers.problem(response, 409)
            assert allowed in detail, f"unexpected 409: {detail}"


def test_sixteen_clients_renaming_one_snapshot_lose_no_rename(
    deployed: Deployment,
    clients: list[SnapsetClient],
    tmp_path: Path,
) -> None:
    dataset_id = ready_dataset(clients[0], tmp_path / "media", "renamed")
    [snapshot] = clients[0].snapshots(dataset_id)
    path = f"/dataset/{dataset_id}/snapshot/{snapshot['snapshot_id']}"
    for round_number in range(ROUNDS):
        before = version_of(deployed, dataset_id)
        wanted = [f"r{round_number}-c{i}" for i in range(CLIENTS)]
        answers = at_once(clients, sending("PATCH", path, wanted))
        tally(f"rename round {round_number}", answers)

        assert {a.status_code for a in answers} <= {200, 409}
        assert_refusals_are_documented(answers, allowed=RETRIES_EXHAUSTED)
        acknowledged = [wanted[i] for i, a in enumerate(answers) if a.status_code == 200]
        renames = named(events_of(deployed, dataset_id, before), "SnapshotUpdated")
        order = [e.name for e in renames]
        assert sorted(order) == sorted(acknowledged), (
            "every acknowledged rename is stored exactly once, and nothing else is"
        )
        for i, answer in enumerate(answers):
            if answer.status_code == 200:
                shown = answer.json()["snapshot_name"]
                assert order.index(shown) >= order.index(wanted[i]), (
                    "an answer shows its own rename or one stored after it, never an older one"
                )
        [listed] = clients[0].snapshots(dataset_id)
        assert listed["snapshot_name"] == order[-1], "the last stored rename wins"
    assert_versions_contiguous(deployed, dataset_id)


def test_sixteen_concurrent_snapshot_creations_all_land_and_the_last_stored_is_current(
    deployed: Deployment, clients: list[SnapsetClient], tmp_path: Path
) -> None:
    dataset_id = ready_dataset(clients[0], tmp_path / "media", "created")
    base = f"/dataset/{dataset_id}/snapshot"
    made: set[str] = set()
    for round_number in range(ROUNDS):
        before = version_of(deployed, dataset_id)
        wanted = [f"c{round_number}-{i}" for i in range(CLIENTS)]
        answers = at_once(clients, sending("POST", base, wanted))
        tally(f"create round {round_number}", answers)

        assert {a.status_code for a in answers} <= {200, 409}
        assert_refusals_are_documented(answers, allowed=RETRIES_EXHAUSTED)
        acknowledged = {
            a.json()["snapshot_id"]: wanted[i]
            for i, a in enumerate(answers)
            if a.status_code == 200
        }
        assert all(
            a.json()["snapshot_name"] == wanted[i]
            for i, a in enumerate(answers)
            if a.status_code == 200
        )
        created = named(events_of(deployed, dataset_id, before), "SnapshotCreated")
        assert {e.checkpoint_id: e.checkpoint["name"] for e in created} == acknowledged
        assert len(created) == len(acknowledged), "no snapshot is stored twice"
        made |= set(acknowledged)
        listed = clients[0].snapshots(dataset_id)
        assert made <= {s["snapshot_id"] for s in listed}
        [current] = [s["snapshot_id"] for s in listed if s["is_current"]]
        assert current == last_made_current(created), "the newest stored snapshot is current"
    assert made, "some creations were acknowledged"
    assert_versions_contiguous(deployed, dataset_id)


def test_concurrent_restores_never_overlap_and_creations_during_one_are_refused(
    deployed: Deployment, clients: list[SnapsetClient], tmp_path: Path
) -> None:
    dataset_id = ready_dataset(clients[0], tmp_path / "media", "restored")
    [creation] = clients[0].snapshots(dataset_id)
    base = f"/dataset/{dataset_id}/snapshot"
    restores, creators = clients[: CLIENTS // 2], clients[CLIENTS // 2 :]
    refused_restores = 0
    for round_number in range(ROUNDS):
        target = (
            creation["snapshot_id"]
            if round_number % 2 == 0
            else clients[0].create_snapshot(dataset_id, name=f"target {round_number}")[
                "snapshot_id"
            ]
        )
        before = version_of(deployed, dataset_id)
        wanted = [f"during {round_number}-{i}" for i in range(len(creators))]

        def request(
            index: int, client: SnapsetClient, *, target: str = target, wanted: list[str] = wanted
        ) -> httpx.Response:
            if index < len(restores):
                return client.request("POST", f"{base}/{target}/restore")
            return client.request("POST", base, json={"name": wanted[index - len(restores)]})

        answers = at_once(clients, request)
        restore_answers, create_answers = answers[: len(restores)], answers[len(restores) :]
        tally(f"round {round_number} restores", restore_answers)
        tally(f"round {round_number} creations", create_answers)
        assert {a.status_code for a in restore_answers} <= {202, 409}
        assert {a.status_code for a in create_answers} <= {200, 409}
        for refused in (a for a in answers if a.status_code == 409):
            helpers.problem(refused, 409)
        accepted = [a.json()["task_id"] for a in restore_answers if a.status_code == 202]
        assert accepted, "the first restore to arrive is accepted"
        refused_restores += len(restore_answers) - len(accepted)
        for task_id in accepted:
            task = clients[0].wait_task(task_id, timeout=60)
            assert task["status"] == "COMPLETED", task

        events = events_of(deployed, dataset_id, before)
        running: str | None = None
        for event in events:  # the stored order explains every answer
            name = type(event).__name__
            if name == "RestoreStarted":
                assert running is None, "a restore started while another one ran"
                running = event.task["task_id"]
            elif name in ("RestoreCompleted", "RestoreFailed", "TaskAborted"):
                running = None
            elif name == "SnapshotCreated" and event.checkpoint["reason"] == "manual":
                assert running is None, "a snapshot was created while a restore ran"
        started = [e.task["task_id"] for e in named(events, "RestoreStarted")]
        assert sorted(started) == sorted(accepted), (
            "each accepted restore is stored once, refused ones not at all"
        )
        manual = [e for e in named(events, "SnapshotCreated") if e.checkpoint["reason"] == "manual"]
        acknowledged = {a.json()["snapshot_id"] for a in create_answers if a.status_code == 200}
        assert {e.checkpoint_id for e in manual} == acknowledged
        assert len(manual) == len(acknowledged)
        [current] = [s for s in clients[0].snapshots(dataset_id) if s["is_current"]]
        assert current["snapshot_id"] == last_made_current(events), (
            "the newest created or the last restored snapshot is current"
        )
    assert refused_restores > 0, "restores really overlapped in time and were refused"
    assert_versions_contiguous(deployed, dataset_id)


def test_live_projections_under_ten_concurrent_writers_skip_no_event(
    deployed: Deployment, tmp_path: Path
) -> None:
    seconds = float(os.environ.get("SNAPSET_RACE_SECONDS", "20"))
    figures = run_race(deployed, tmp_path / "media", seconds=seconds, writers=10)
    print(
        f"race: {figures.acknowledged} writes acknowledged, {figures.events} events, "
        f"answers {dict(figures.answers)}, lag max {max(figures.lag_samples, default=0)}"
    )

    assert figures.unexpected == {}, "writes either land or are refused with 409"
    assert figures.acknowledged > 0
    audit = figures.audit
    assert audit.stored, "the race stored dataset events"
    assert audit.skipped == set(), "stored events the projections never processed"
    assert audit.extra == set(), "projected positions the event store does not hold"
    assert audit.views_behind == {}, f"views not at the log's end {audit.last_position}"
    assert audit.drift == []
