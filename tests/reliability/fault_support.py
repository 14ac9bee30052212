"""Support for the fault tests: seeded kill points, child processes to SIGKILL, a task's
events read back from the store, a long event history, and a projector with a deliberately
non-atomic view (run as a script: ``python -m tests.reliability.fault_support``).

Every random choice comes from ``SNAPSET_FAULT_SEED`` (printed by the tests), so a failing
run can be replayed with the same kill points (timing on a busy machine aside).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from adapters.projector import Projector
from adapters.runtime import Runtime, build_runtime
from adapters.settings import Settings
from adapters.storage.sqlite_durable import make_durable
from adapters.views.audit_history import AuditHistoryView
from adapters.views.postgres_store import PostgresViewStore
from adapters.views.sqlite_store import SQLiteViewStore
from application.actor import Actor
from application.datasets import creation_task_id
from domain.dataset_events import DatasetEvent
from projections.audit_history import AuditHistoryProjection
from tests.support.media import folder_of_media
from tests.support.server import snapset_command

ROOT = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("SNAPSET_FAULT_SEED", "20261123"))
COMPLETIONS = {"OperationCompleted", "RestoreCompleted", "CloneCompleted", "ExportCompleted"}
ENDINGS = COMPLETIONS | {
    "OperationFailed",
    "RestoreFailed",
    "CloneFailed",
    "ExportFailed",
    "TaskAborted",
}
NON_ATOMIC_MARK = "tracking committed, rows not yet"


def seeded(name: str) -> random.Random:
    """The random stream of one test: the same seed gives the same kill points."""
    return random.Random(f"{SEED}:{name}")


def until(
    condition: Callable[[], bool],
    timeout: float = 60.0,
    what: str = "condition",
    every: float = 0.01,
) -> None:
    """Wait for a condition another process brings about (there is no position to wait on)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} not reached in {timeout} s"
        time.sleep(every)


class Child:
    """A snapset process whose output is collected, to be SIGKILLed or stopped."""

    def __init__(self, args: Sequence[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            list(args),
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._seen = threading.Condition()
        self._pump = threading.Thread(target=self._read, daemon=True)
        self._pump.start()

    @classmethod
    def snapset(cls, *args: str, env: dict[str, str]) -> Child:
        return cls(snapset_command(*args), env)

    @classmethod
    def module(cls, module: str, *args: str, env: dict[str, str]) -> Child:
        return cls([sys.executable, "-m", module, *args], env)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._seen:
                self.lines.append(line.rstrip("\n"))
                self._seen.notify_all()

    def wait_for(self, text: str, timeout: float = 60.0, after: int = 0) -> int:
        """Block until a line containing ``text`` (from line ``after`` on) is printed;
        returns how many lines there were then."""

        def found() -> bool:
            return (
                any(text in line for line in self.lines[after:]) or self.process.poll() is not None
            )

        with self._seen:
            self._seen.wait_for(found, timeout)
            assert any(text in line for line in self.lines[after:]), (
                f"no {text!r} from the child; it printed:\n" + "\n".join(self.lines[-30:])
            )
            return len(self.lines)

    def kill(self) -> None:
        """SIGKILL: no handler, no cleanup, no flush."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._close()

    def _close(self) -> None:
        self._pump.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


# The event store, read back.


def dataset_events(runtime: Runtime) -> list[tuple[int, Any]]:
    """(notification id, event) of every dataset event in the store, in order."""
    app = runtime.app
    out: list[tuple[int, Any]] = []
    start = 0
    while batch := app.recorder.select_notifications(
        start=start, limit=5000, inclusive_of_start=False
    ):
        for notification in batch:
            if notification.topic.startswith("snapset:Dataset."):
                event = app.mapper.to_domain_event(notification)
                if isinstance(event, DatasetEvent):
                    out.append((notification.id, event))
        start = batch[-1].id
    return out


def task_event_names(runtime: Runtime, task_id: str) -> Counter[str]:
    """How many events of each name the store holds for one task."""
    return Counter(
        type(e).__name__
        for _, e in dataset_events(runtime)
        if str(getattr(e, "task_id", "")) == task_id
    )


# A long history, written quickly: many events per save where the domain allows it.


def ready_dataset(
    runtime: Runtime, owner: Actor, name: str, *, images: int, videos: int = 0
) -> UUID:
    """A dataset ingested from a new folder under the import root, in this process."""
    import_root = runtime.backend.settings.import_root
    assert import_root is not None
    folder = folder_of_media(import_root / f"{name}-{uuid4().hex[:6]}", images, videos)
    dataset_id, _ = runtime.app.create_dataset(
        owner, name, source={"source": "path", "path": str(folder)}
    )
    assert runtime.worker.run_task(dataset_id, str(creation_task_id(dataset_id)))
    return UUID(str(dataset_id))


def long_history(runtime: Runtime, owner: Actor, *, datasets: int, bulk: int) -> None:
    """Datasets with ingests, snapshots, content edits, renames, removals, restores and
    clones; each dataset gets ``bulk`` renames (and one content edit in 25) saved
    together."""
    app, now = runtime.app, datetime.now(UTC)
    for number in range(datasets):
        dataset_id = ready_dataset(runtime, owner, f"history-{number}", images=4, videos=number % 2)
        creation = app.get_dataset(owner, dataset_id).current_checkpoint
        spare = app.create_snapshot(owner, dataset_id, "spare", "to be removed").result.snapshot_id
        dataset = app.repository.get(dataset_id)
        items = dict(app.tree.items(dataset.current["root"]))
        for step in range(bulk):
            if step % 25 == 0:  # the media index's costly events: one in 25
                key = sorted(items)[step % len(items)]
                items[key] = {**items[key], "tags": [f"tag-{step}"], "metadata": {"step": step}}
                root = app.tree.update(dataset.current["root"], {key: items[key]})
                counts = app.tree.counts(root)
                dataset.edit_content(
                    root, counts.images, counts.videos, f"edit {step}", owner.email
                )
            if step % 50 == 0:
                dataset.create_checkpoint(str(uuid4()), f"s{step}", "", owner.email, now)
            dataset.update_checkpoint(
                dataset.current_checkpoint, f"renamed {step}", None, owner.email
            )
        app.save(dataset)
        app.delete_snapshot(owner, dataset_id, spare)
        task_id, _ = app.restore_snapshot(owner, dataset_id, str(creation))
        assert runtime.worker.run_task(dataset_id, str(task_id))
        if number % 3 == 0:
            task, clone_id, _ = app.clone_snapshot(owner, dataset_id, UUID(str(creation)))
            assert runtime.worker.run_task(clone_id, str(task))


# A deliberately broken view store, for the negative control of the projection test.


class _NonAtomic:
    """Commits the tracking position and the rows in two transactions, the position first,
    and announces the gap: a kill there loses the batch's rows for good."""

    pause = 0.5

    @contextmanager
    def transaction(self, tracking: Tracking, *, after: int | None = None) -> Iterator[Any]:
        store: Any = self
        with store._open(commit=True) as cursor:
            now = store._tracked(cursor)
            if after is not None and now != after:
                raise IntegrityError(f"moved to {now}, not {after}")
            store._track(cursor, tracking)
        print(f"{NON_ATOMIC_MARK} at {tracking.notification_id}", flush=True)
        time.sleep(self.pause)
        with store._open(commit=True) as cursor:
            yield store._sql(cursor)


class SQLiteNonAtomicStore(_NonAtomic, SQLiteViewStore):
    pass


class PostgresNonAtomicStore(_NonAtomic, PostgresViewStore):
    pass


def _non_atomic_projector(argv: list[str]) -> int:
    """What ``snapset project`` does, with the audit history swapped for the broken view
    (on a datastore of its own, so it is written through its own ``transaction``)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--pause", type=float, default=0.5)
    args = parser.parse_args(argv)
    settings = Settings.from_env(data_dir=Path(args.data_dir))
    runtime = build_runtime(settings, migrate=False)
    store: SQLiteNonAtomicStore | PostgresNonAtomicStore
    name, ddl = "audit_history", AuditHistoryView.ddl
    if settings.uses_postgres:
        pg = settings.postgres()
        datastore = PostgresDatastore(
            pg["dbname"], pg["host"], pg["port"], pg["user"], pg["password"], schema=pg["schema"]
        )
        store = PostgresNonAtomicStore(datastore, name, ddl)
    else:
        path = settings.data_dir.resolve() / "views" / "audit_history.sqlite"
        store = SQLiteNonAtomicStore(make_durable(SQLiteDatastore(str(path))), name, ddl)
    store.pause = args.pause
    view = AuditHistoryView(store)
    runtime.projectors["audit_history"] = Projector(runtime.app, AuditHistoryProjection(), view)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runtime.start(projections=True, worker=False)
    print("snapset projector running (non-atomic audit history)", flush=True)
    stop.wait()
    runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(_non_atomic_projector(sys.argv[1:]))
