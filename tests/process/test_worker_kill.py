"""A worker SIGKILLed in the middle of a restore or a clone: another finishes it exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import UUID

import pytest

from adapters.runtime import Runtime
from adapters.settings import Settings
from application.actor import Actor
from domain.status import Status
from tests.support.media import folder_of_media
from tests.support.paced_worker import paced_command

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def worker_process(settings: Settings, *, hold: float = 0.0) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SNAPSET_DATABASE_URL": settings.database_url,
        "SNAPSET_LEASE_SECONDS": "1.5",
    }
    return subprocess.Popen(
        paced_command("worker", "--data-dir", str(settings.data_dir), hold=hold),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


@pytest.fixture
def projecting(runtime: Runtime) -> Iterator[Runtime]:
    runtime.start(projections=True, worker=False)
    yield runtime
    runtime.stop()


def ready_dataset(runtime: Runtime, settings: Settings, owner: Actor) -> UUID:
    assert settings.import_root is not None
    folder = folder_of_media(settings.import_root / "set", images=5, videos=2)
    dataset_id, _ = runtime.app.create_dataset(
        owner, "crashy", source={"source": "path", "path": str(folder)}
    )
    until(
        lambda: (
            runtime.worker.run_once() > 0
            or runtime.app.get_dataset(owner, dataset_id).status == Status.READY
        )
    )
    return dataset_id


def events_named(runtime: Runtime, name: str, task_id: str) -> int:
    notes = runtime.app.recorder.select_notifications(start=None, limit=1_000_000)
    return sum(
        1 for n in notes if n.topic == f"snapset:Dataset.{name}" and task_id.encode() in n.state
    )


def kill_claimer_then_start_rescuer(
    settings: Settings, claimed: Callable[[], bool]
) -> subprocess.Popen[bytes]:
    """Start a worker that holds its claimed task, SIGKILL it once it has claimed, and
    start a healthy worker, which may take the task over only after the lease expires."""
    victim = worker_process(settings, hold=120)
    try:
        until(claimed)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait()
    return worker_process(settings)


def survive_a_killed_worker(
    runtime: Runtime, settings: Settings, owner: Actor, dataset_id: UUID, task_id: str
) -> None:
    """Kill the worker that claimed ``task_id`` and wait for another to finish it."""
    app = runtime.app

    def claimed() -> bool:
        task = app.get_dataset(owner, dataset_id).active_task
        return task is not None and task["claimed_by"] is not None

    rescuer = kill_claimer_then_start_rescuer(settings, claimed)
    try:
        until(lambda: task_id in app.get_dataset(owner, dataset_id).finished_tasks)
    finally:
        rescuer.terminate()
        rescuer.wait(timeout=10)


def test_a_restore_whose_worker_is_killed_completes_exactly_once(
    projecting: Runtime, settings: Settings, admin: Actor
) -> None:
    app = projecting.app
    dataset_id = ready_dataset(projecting, settings, admin)
    [creation_id] = app.get_dataset(admin, dataset_id).checkpoints
    item = next(iter(app.tree.items(app.get_dataset(admin, dataset_id).current["root"])))[0]
    app.edit_items(
        admin,
        dataset_id,
        lambda d: {item: {**app.tree.get(d.current["root"], item), "tags": ["changed"]}},
        "edit",
    )
    task_id, _ = app.restore_snapshot(admin, dataset_id, creation_id)

    survive_a_killed_worker(projecting, settings, admin, dataset_id, str(task_id))
    dataset = app.get_dataset(admin, dataset_id)
    assert dataset.finished_tasks[str(task_id)] == "COMPLETED"
    assert dataset.status == Status.READY
    assert dataset.current["root"] == dataset.checkpoints[creation_id]["version"]["root"]
    assert dataset.current_checkpoint == creation_id
    assert events_named(projecting, "RestoreCompleted", str(task_id)) == 1
    assert events_named(projecting, "TaskClaimed", str(task_id)) == 2


def test_a_clone_whose_worker_is_killed_completes_exactly_once(
    projecting: Runtime, settings: Settings, admin: Actor
) -> None:
    app = projecting.app
    dataset_id = ready_dataset(projecting, settings, admin)
    [creation_id] = app.get_dataset(admin, dataset_id).checkpoints
    task_id, clone_id, _ = app.clone_snapshot(admin, dataset_id, UUID(creation_id))

    survive_a_killed_worker(projecting, settings, admin, clone_id, str(task_id))
    clone = app.get_dataset(admin, clone_id)
    source = app.get_dataset(admin, dataset_id)
    assert clone.finished_tasks[str(task_id)] == "COMPLETED"
    assert clone.status == Status.READY
    assert clone.current["root"] == source.checkpoints[creation_id]["version"]["root"]
    assert [c["reason"] for c in clone.checkpoints.values()] == ["clone"]
    assert source.pending_clones == {}, "the source is not left blocked by the clone"
    assert source.status == Status.READY
    assert events_named(projecting, "CloneCompleted", str(task_id)) == 1
    assert events_named(projecting, "TaskClaimed", str(task_id)) == 2
