"""A projection process SIGKILLed five times during a long catch-up loses and repeats nothing.

Thousands of events are written with no projector running; then ``snapset project`` catches
up and is SIGKILLed at five seeded random points (once the audit history passes a random
position ahead of where it stood, after a further random delay), restarted each time, and
finally let finish. Every view must then hold exactly the rows a clean rebuild gives, with
one audit row per dataset event and every tracking position at the log's end.

The negative control (on PostgreSQL) runs the same procedure with a deliberately
non-atomic audit history (tracking position and rows in two transactions, a pause between
them, so each kill lands in the gap) and shows that the same check finds the rows the
kills lost, while every tracking position looks right.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from adapters.projector import Projector
from adapters.read_models import VIEW_NAMES
from adapters.runtime import Runtime
from adapters.settings import Settings
from application.actor import Actor
from tests.integration.helpers import dump, dump_all
from tests.reliability.fault_support import (
    NON_ATOMIC_MARK,
    SEED,
    Child,
    dataset_events,
    long_history,
    seeded,
    until,
)

pytestmark = [pytest.mark.reliability, pytest.mark.slow]
KILLS = 5
# (datasets, bulk edits each): a few thousand events, long enough to catch up for several
# kills on either backend (the PostgreSQL media index is the slow part).
HISTORY = {"sqlite": (8, 600), "postgres": (6, 480)}
STARTED = ("OperationStarted", "RestoreStarted", "CloneStarted", "ExportStarted")


@pytest.fixture
def history(runtime: Runtime, admin: Actor, backend_name: str) -> Runtime:
    """The runtime after a long history that no projector has seen yet."""
    datasets, bulk = HISTORY[backend_name]
    long_history(runtime, admin, datasets=datasets, bulk=bulk)
    assert all(view.store.position() == 0 for view in runtime.backend.views.values())
    return runtime


def positions(runtime: Runtime) -> dict[str, int]:
    return {name: view.store.position() for name, view in runtime.backend.views.items()}


def catch_up_under_kills(
    runtime: Runtime, start: Callable[[], Child], name: str
) -> list[dict[str, Any]]:
    """Start the projector and SIGKILL it ``KILLS`` times, the k-th once the audit history
    has passed a jittered point in the k-th sixth of the log (and a short random delay
    more; at least one batch committed by each incarnation); then let a last one finish."""
    rng = seeded(name)
    last = runtime.app.position()
    audit = runtime.backend.views["audit_history"].store
    points: list[dict[str, Any]] = []
    # Kill k lands once the audit history passes a point in the k-th sixth of the log (with
    # jitter), so all five land before the end however fast the machine catches up.
    span = last / (KILLS + 1)
    for k in range(1, KILLS + 1):
        at = audit.position()
        target = max(at + 1, int(span * k + rng.uniform(-0.3, 0.3) * span))
        assert target < last, f"the history ({last} events) is too short for {KILLS} kills"
        child = start()
        try:
            until(
                lambda t=target, c=child: audit.position() >= t or c.process.poll() is not None,
                timeout=180,
                what=f"audit history at {target}",
                every=0.01,
            )
            assert child.process.poll() is None, "\n".join(child.lines[-30:])
            delay = rng.uniform(0.0, 0.05)
            time.sleep(delay)
        finally:
            child.kill()
        points.append(
            {
                "target": target,
                "delay": round(delay, 3),
                "at": positions(runtime),
                "last line": child.lines[-1] if child.lines else "",
            }
        )
    print(f"seed {SEED}, {name}: log end {last}")
    for point in points:
        print(f"  kill: {point}")
    child = start()
    try:
        until(
            lambda: min(positions(runtime).values()) >= last or child.process.poll() is not None,
            timeout=300,
            what="the log's end",
            every=0.1,
        )
    finally:
        child.stop()
    return points


def mismatches(runtime: Runtime) -> list[str]:
    """How the views differ from the event log and from a clean rebuild (none if right)."""
    found: list[str] = []
    last = runtime.app.position()
    found += [
        f"{name} tracks {at}, the log ends at {last}"
        for name, at in positions(runtime).items()
        if at != last
    ]
    events = dataset_events(runtime)
    names = [type(e).__name__ for _, e in events]
    with runtime.backend.views["audit_history"].store.reading() as sql:
        audited = [int(r["position"]) for r in sql.all("SELECT position FROM {t}events")]
    expected = [position for position, _ in events]
    if sorted(audited) != expected:
        missing, extra = set(expected) - set(audited), len(audited) - len(set(audited))
        found.append(
            f"audit history: {len(audited)} rows for {len(expected)} events, "
            f"{len(missing)} events missing, {extra} duplicates"
        )
    live = dump_all(runtime)
    counts = {
        "task_log": (
            len(live["task_log"]["tasks"]),
            len({str(e.task["task_id"]) for _, e in events if type(e).__name__ in STARTED}),
        ),
        "dataset_list": (len(live["dataset_list"]["datasets"]), names.count("Created")),
        "snapshot_list": (
            len(live["snapshot_list"]["snapshots"]),
            names.count("SnapshotCreated")
            + names.count("CloneCompleted")
            + sum(
                1 for _, e in events if type(e).__name__ == "OperationCompleted" and e.checkpoint_id
            ),
        ),
    }
    found += [
        f"{name}: {rows} rows for {wanted} in the log"
        for name, (rows, wanted) in counts.items()
        if rows != wanted
    ]
    rebuilt = clean_rebuild(runtime)
    found += [
        f"{name} differs from a clean rebuild" for name in VIEW_NAMES if live[name] != rebuilt[name]
    ]
    return found


def clean_rebuild(runtime: Runtime) -> dict[str, Any]:
    """Every view cleared and replayed from event 0 in this process, without faults."""
    out = {}
    for name in VIEW_NAMES:
        live = runtime.projectors[name]
        live.store.clear()
        Projector(runtime.app, live.projection, live.view, batch_size=2000).catch_up()
        out[name] = dump(live.view)
    return out


def test_a_projector_killed_five_times_during_catch_up_ends_with_exactly_the_rebuilt_rows(
    history: Runtime, settings: Settings, backend_name: str
) -> None:
    env = {"SNAPSET_DATABASE_URL": settings.database_url}
    last = history.app.position()

    points = catch_up_under_kills(
        history,
        lambda: Child.snapset("project", "--data-dir", str(settings.data_dir), env=env),
        f"projector-{backend_name}",
    )

    assert len(points) == KILLS
    assert all(min(p["at"].values()) < last for p in points), (
        f"every kill landed before the catch-up was over: {points}"
    )
    assert len({min(p["at"].values()) for p in points}) > 1, "the kills made progress"
    assert mismatches(history) == []


@pytest.mark.parametrize("backend_name", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_check_finds_the_rows_a_non_atomic_view_loses_to_the_same_kills(
    history: Runtime, settings: Settings, backend_name: str
) -> None:
    env = {"SNAPSET_DATABASE_URL": settings.database_url}

    points = catch_up_under_kills(
        history,
        lambda: Child.module(
            "tests.reliability.fault_support",
            "--data-dir",
            str(settings.data_dir),
            "--pause",
            "1.0",
            env=env,
        ),
        f"non-atomic-{backend_name}",
    )

    assert all(NON_ATOMIC_MARK in p["last line"] for p in points), (
        f"every kill landed between a batch's tracking and its rows: {points}"
    )
    found = mismatches(history)
    print(f"  the check found: {found}")
    assert any(problem.startswith("audit history:") for problem in found), found
    assert "audit_history differs from a clean rebuild" in found
    assert all(at == history.app.position() for at in positions(history).values()), (
        "the positions alone look right: only the rows show the loss"
    )
