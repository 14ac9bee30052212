"""Workers SIGKILLed at random points of restores, clones, media additions and enrichments.

Each run starts one task, starts a ``snapset worker`` process (lease 0.75 s) and SIGKILLs it
after a seeded random delay; another worker (this process's) then finishes the task. The
delay counts from the victim's claim of the task, or, for restores and clones in every
other run, from the victim saying it runs (so the kill may land before, during or after
its claim and its publish). To put kill points inside an operation's work the victim
pauses after each item (``--pause`` of ``tests/support/paced_worker.py``); restores and
clones, which have no items, hold the task after claiming it (``--hold``).

After every run: one completion event and no failure for the task in the event store, the
task log's row for it COMPLETED, and the data what it must be (the snapshot's items after
a restore or clone, the added files after a media addition, every item's model outputs
after an enrichment). After all runs: no dataset READ ONLY, exactly one clone dataset per
clone task and no other, and gc removes every half-written blob batch a victim left.
Each run's seed, delay and the point the kill landed are printed.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from adapters.runtime import Runtime
from adapters.settings import Settings
from adapters.views.dataset_list import DatasetListView
from adapters.views.media_index import MediaIndexView
from adapters.views.task_log import TaskLogView
from application.actor import Actor
from application.garbage import collect_task_leftovers
from domain.ids import dataset_id_for_clone
from domain.status import Status
from domain.tasks import ENRICHMENT, MEDIA_ADDITION
from tests.reliability.fault_support import (
    COMPLETIONS,
    ENDINGS,
    SEED,
    Child,
    ready_dataset,
    seeded,
    task_event_names,
    until,
)
from tests.support.media import photo
from tests.support.paced_worker import paced_command

pytestmark = [pytest.mark.reliability, pytest.mark.slow]
# Runs per kind of task: 4 kinds x 5 on PostgreSQL, 4 x 1 on SQLite (SNAPSET_FAULT_RUNS).
RUNS = {"postgres": 5, "sqlite": 1}
# Short: nothing else claims while the victim lives, and the rescue waits for its expiry.
VICTIM_LEASE = 0.75
HOLD = 0.6  # seconds a victim holds a claimed restore or clone
ITEMS = 12  # files per media addition, images per enrichment
PAUSE = 0.08  # seconds a victim pauses per item: an operation's work lasts about ITEMS*PAUSE
MODELS = {"IMAGE_PROPERTIES": "image-properties-v1", "VIDEO_PROPERTIES": "video-properties-v1"}


@dataclass
class Kill:
    """Where to SIGKILL a victim: ``delay`` seconds after its claim or after it runs."""

    after: str  # "claim" or "start"
    delay: float
    hold: float = 0.0  # the victim's pacing (tests/support/paced_worker.py)
    pause: float = 0.0


@pytest.fixture
def projecting(runtime: Runtime) -> Iterator[Runtime]:
    runtime.start(projections=True, worker=False)
    yield runtime
    runtime.stop()


class Restores:
    """Restore two snapshots in turn on one dataset."""

    def __init__(self, runtime: Runtime, admin: Actor) -> None:
        self.runtime, self.admin, app = runtime, admin, runtime.app
        self.dataset_id = ready_dataset(runtime, admin, "restored", images=6, videos=1)
        first = app.get_dataset(admin, self.dataset_id).current_checkpoint
        items = dict(app.tree.items(app.get_dataset(admin, self.dataset_id).current["root"]))
        key = min(items)
        app.edit_items(
            admin, self.dataset_id, lambda d: {key: {**items[key], "tags": ["changed"]}}, "edit"
        )
        second = app.create_snapshot(admin, self.dataset_id, "second").result.snapshot_id
        self.snapshots = [str(first), str(second)]

    def kill(self, run: int, rng: Any) -> Kill:
        return _hold_or_race(run, rng)

    def start(self, run: int) -> tuple[UUID, str]:
        target = self.snapshots[run % 2]
        task_id, _ = self.runtime.app.restore_snapshot(self.admin, self.dataset_id, target)
        return self.dataset_id, str(task_id)

    def check(self, run: int, dataset_id: UUID, task_id: str) -> None:
        app, target = self.runtime.app, self.snapshots[run % 2]
        dataset = app.get_dataset(self.admin, dataset_id)
        snapshot = dataset.checkpoints[target]["version"]
        assert dataset.current_checkpoint == target
        assert dataset.current["root"] == snapshot["root"]
        assert (dataset.current["n_images"], dataset.current["n_videos"]) == (
            snapshot["n_images"],
            snapshot["n_videos"],
        )
        assert listing(self.runtime, dataset_id, "current") == listing(
            self.runtime, dataset_id, target
        ), "the media are the snapshot's"

    def finish(self, tasks: list[str]) -> None:
        pass


class Clones:
    """Clone one snapshot again and again."""

    def __init__(self, runtime: Runtime, admin: Actor) -> None:
        self.runtime, self.admin = runtime, admin
        self.source = ready_dataset(runtime, admin, "cloned", images=6, videos=1)
        self.snapshot = str(runtime.app.get_dataset(admin, self.source).current_checkpoint)

    def kill(self, run: int, rng: Any) -> Kill:
        return _hold_or_race(run, rng)

    def start(self, run: int) -> tuple[UUID, str]:
        task_id, clone_id, _ = self.runtime.app.clone_snapshot(
            self.admin, self.source, UUID(self.snapshot)
        )
        return clone_id, str(task_id)

    def check(self, run: int, dataset_id: UUID, task_id: str) -> None:
        app = self.runtime.app
        clone = app.get_dataset(self.admin, dataset_id)
        source = app.get_dataset(self.admin, self.source)
        snapshot = source.checkpoints[self.snapshot]["version"]
        assert clone.current["root"] == snapshot["root"]
        assert (clone.current["n_images"], clone.current["n_videos"]) == (
            snapshot["n_images"],
            snapshot["n_videos"],
        )
        assert [c["reason"] for c in clone.checkpoints.values()] == ["clone"]
        assert listing(self.runtime, dataset_id, "current") == listing(
            self.runtime, self.source, self.snapshot
        ), "the media are the snapshot's"

    def finish(self, tasks: list[str]) -> None:
        source = self.runtime.app.get_dataset(self.admin, self.source)
        assert source.pending_clones == {}, "the source is not left blocked by a clone"
        view = self.runtime.backend.views["dataset_list"]
        assert isinstance(view, DatasetListView)
        rows, _ = view.page(None, 1, 1000)
        clones = sorted(r["dataset_id"] for r in rows if r["source_dataset_id"] == str(self.source))
        assert clones == sorted(str(dataset_id_for_clone(t)) for t in tasks), (
            "one clone dataset per clone task, and no other"
        )
        created = self.runtime.app.recorder.select_notifications(
            start=None, limit=100_000, topics=["snapset:Dataset.Created"]
        )
        for clone_id in clones:
            assert sum(1 for n in created if n.originator_id == UUID(clone_id)) == 1


class MediaAdditions:
    """Add a folder of new, distinct images to one dataset, run after run."""

    def __init__(self, runtime: Runtime, admin: Actor) -> None:
        self.runtime, self.admin = runtime, admin
        self.dataset_id = ready_dataset(runtime, admin, "growing", images=3, videos=1)
        self.expected = files_of(self.runtime, self.dataset_id)

    def kill(self, run: int, rng: Any) -> Kill:
        return _inside_work(rng)

    def start(self, run: int) -> tuple[UUID, str]:
        import_root = self.runtime.backend.settings.import_root
        assert import_root is not None
        folder = import_root / f"addition-{run}"
        for i in range(ITEMS):
            path = photo(
                folder / f"added-{i:02d}.png", seed=1000 * (run + 1) + i, width=16 + i, height=16
            )
            self.expected.append((path.name, _sha256(path), path.stat().st_size))
        task_id, _ = self.runtime.app.start_operation(
            self.admin, self.dataset_id, MEDIA_ADDITION, {"source": "path", "path": str(folder)}
        )
        return self.dataset_id, str(task_id)

    def check(self, run: int, dataset_id: UUID, task_id: str) -> None:
        assert sorted(files_of(self.runtime, dataset_id)) == sorted(self.expected), (
            "the dataset holds its files and each added file, once"
        )
        assert self.runtime.app.get_dataset(self.admin, dataset_id).status == Status.READY

    def finish(self, tasks: list[str]) -> None:
        """What killed victims left half-written waits for gc, which removes all of it."""
        incoming = self.runtime.backend.settings.data_dir / "blobs" / ".incoming"
        left = list(incoming.iterdir()) if incoming.exists() else []
        swept = collect_task_leftovers(
            self.runtime.app, self.runtime.backend.blobs, grace_seconds=0
        )
        print(f"  gc swept {swept} half-written blob batches of {len(left)} left")
        assert swept == len(left)
        assert not incoming.exists() or not any(incoming.iterdir())


class Enrichments:
    """Enrich a fresh dataset of images and a video with two models, run after run."""

    def __init__(self, runtime: Runtime, admin: Actor) -> None:
        self.runtime, self.admin = runtime, admin

    def kill(self, run: int, rng: Any) -> Kill:
        return _inside_work(rng)

    def start(self, run: int) -> tuple[UUID, str]:
        dataset_id = ready_dataset(
            self.runtime, self.admin, f"enriched-{run}", images=ITEMS, videos=1
        )
        task_id, _ = self.runtime.app.start_operation(
            self.admin, dataset_id, ENRICHMENT, {"models": MODELS}
        )
        return dataset_id, str(task_id)

    def check(self, run: int, dataset_id: UUID, task_id: str) -> None:
        app = self.runtime.app
        dataset = app.get_dataset(self.admin, dataset_id)
        assert dataset.status == Status.READY
        records = dict(app.tree.items(dataset.current["root"]))
        assert (len(records), dataset.current["n_images"], dataset.current["n_videos"]) == (
            ITEMS + 1,
            ITEMS,
            1,
        )
        for record in records.values():
            path = self.runtime.backend.blobs.path(record["blob"])
            if record["kind"] == "image":
                outputs = record["enrichment"]["IMAGE_PROPERTIES"]
                assert outputs["model_id"] == MODELS["IMAGE_PROPERTIES"]
                assert (outputs["width"], outputs["height"]) == (record["width"], record["height"])
                assert outputs["file_size"] == path.stat().st_size
            else:
                outputs = record["enrichment"]["VIDEO_PROPERTIES"]
                assert outputs["model_id"] == MODELS["VIDEO_PROPERTIES"]
                assert (outputs["width"], outputs["height"]) == (32, 32)

    def finish(self, tasks: list[str]) -> None:
        pass


KINDS: dict[str, Any] = {
    "restore": Restores,
    "clone": Clones,
    "media_addition": MediaAdditions,
    "enrichment": Enrichments,
}


def _hold_or_race(run: int, rng: Any) -> Kill:
    """Even runs: the victim holds the claimed task; the kill lands in the hold or after
    the publish. Odd runs: no hold; the kill lands around the claim and the publish."""
    if run % 2 == 0:
        return Kill("claim", rng.uniform(0.0, HOLD * 1.3), hold=HOLD)
    return Kill("start", rng.uniform(0.0, 0.15))


def _inside_work(rng: Any) -> Kill:
    return Kill("claim", rng.uniform(0.0, ITEMS * PAUSE * 1.2), pause=PAUSE)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files_of(runtime: Runtime, dataset_id: UUID) -> list[tuple[str, str, int]]:
    """(file name, blob hash, size) of every item of the dataset's current content, with
    the blob store's bytes hashed again here."""
    dataset = runtime.app.repository.get(dataset_id)
    out = []
    for _, record in runtime.app.tree.items(dataset.current["root"]):
        path = runtime.backend.blobs.path(record["blob"])
        assert _sha256(path) == record["blob"]
        out.append((Path(record["file_name"]).name, record["blob"], record["size"]))
    return out


def listing(runtime: Runtime, dataset_id: UUID, version: str) -> list[dict[str, Any]]:
    """A version's media as the media index lists them."""
    view = runtime.backend.views["media_index"]
    assert isinstance(view, MediaIndexView)
    rows, total = view.items(str(dataset_id), version, 1, 1000)
    assert total == len(rows) > 0
    return rows


def victim(settings: Settings, kill: Kill) -> Child:
    env = {
        "SNAPSET_DATABASE_URL": settings.database_url,
        "SNAPSET_LEASE_SECONDS": str(VICTIM_LEASE),
        "SNAPSET_IMPORT_ROOT": str(settings.import_root),
    }
    command = paced_command(
        "worker", "--data-dir", str(settings.data_dir), hold=kill.hold, pause=kill.pause
    )
    return Child(command, env)


def finished(runtime: Runtime, admin: Actor, dataset_id: UUID, task_id: str) -> bool:
    return task_id in runtime.app.get_dataset(admin, dataset_id).finished_tasks


def landed(runtime: Runtime, task_id: str) -> str:
    """Where the kill landed, read from the task's events."""
    names = task_event_names(runtime, task_id)
    if names.keys() & COMPLETIONS:
        return "after the publish"
    if names["TaskClaimed"]:
        return f"after the claim ({names['TaskProgressed']} progress reports)"
    return "before any claim"


def kill_and_rescue(
    runtime: Runtime, settings: Settings, admin: Actor, kind: Any, run: int, rng: Any
) -> dict[str, Any]:
    """One run: start a task, SIGKILL its worker at a random point, let another finish."""
    kill = kind.kill(run, rng)
    dataset_id, task_id = kind.start(run)
    app = runtime.app
    child = victim(settings, kill)
    try:
        if kill.after == "claim":

            def claimed() -> bool:
                dataset = app.get_dataset(admin, dataset_id)
                task = dataset.active_task
                return (
                    (task is not None and task["claimed_by"] is not None)
                    or task_id in dataset.finished_tasks
                    or child.process.poll() is not None
                )

            until(claimed, what="the victim's claim")
            assert child.process.poll() is None, "\n".join(child.lines[-30:])
        else:
            child.wait_for("worker running")
        time.sleep(kill.delay)
    finally:
        child.kill()
    point = landed(runtime, task_id)
    until(
        lambda: runtime.worker.run_once() > 0 or finished(runtime, admin, dataset_id, task_id),
        what="the rescue",
        every=0.05,
    )
    assert runtime.positions.wait(app.position(), 30), "the views caught up"
    claims = task_event_names(runtime, task_id)["TaskClaimed"]
    return {
        "run": run,
        "task": task_id,
        "dataset": dataset_id,
        "kill": f"{kill.delay:.3f} s after {kill.after}",
        "landed": point,
        "claims": claims,
    }


def check_exactly_once(runtime: Runtime, task_id: str) -> None:
    names = task_event_names(runtime, task_id)
    assert sum(names[n] for n in COMPLETIONS) == 1, f"completed once: {names}"
    assert not any(names[n] for n in ENDINGS - COMPLETIONS), f"never failed: {names}"
    view = runtime.backend.views["task_log"]
    assert isinstance(view, TaskLogView)
    with view.store.reading() as sql:
        rows = sql.all("SELECT status, progress FROM {t}tasks WHERE task_id = ?", (task_id,))
    assert rows == [{"status": "COMPLETED", "progress": 100}]


def check_nothing_stuck(runtime: Runtime, admin: Actor) -> None:
    view = runtime.backend.views["dataset_list"]
    assert isinstance(view, DatasetListView)
    rows, total = view.page(None, 1, 1000)
    assert total == len(rows) > 0
    assert [r["name"] for r in rows if r["status"] != Status.READY] == [], (
        "no dataset is left READ ONLY (or in any status but READY)"
    )
    for row in rows:
        dataset = runtime.app.get_dataset(admin, UUID(row["dataset_id"]))
        assert (dataset.status, dataset.active_task) == (Status.READY, None)


@pytest.mark.parametrize("kind_name", list(KINDS))
def test_tasks_whose_workers_are_killed_at_random_points_complete_exactly_once(
    projecting: Runtime,
    settings: Settings,
    admin: Actor,
    backend_name: str,
    kind_name: str,
) -> None:
    runs = int(os.environ.get("SNAPSET_FAULT_RUNS", RUNS[backend_name]))
    rng = seeded(f"worker-{kind_name}-{backend_name}")
    kind = KINDS[kind_name](projecting, admin)
    records = []
    print(f"seed {SEED}: {runs} {kind_name} runs on {backend_name}")
    for run in range(runs):
        record = kill_and_rescue(projecting, settings, admin, kind, run, rng)
        print(
            f"  run {run}: killed {record['kill']}, landed {record['landed']}; "
            f"{record['claims']} claims in all"
        )
        records.append(record)
        check_exactly_once(projecting, record["task"])
        kind.check(run, record["dataset"], record["task"])
    kind.finish([r["task"] for r in records])
    check_nothing_stuck(projecting, admin)
    if runs >= 3:
        assert any(r["landed"].startswith("after the claim") for r in records), (
            "some kills landed inside the task's work"
        )
