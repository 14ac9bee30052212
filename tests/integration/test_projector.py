"""The projector: exactly-once, atomic batches that resume where they stopped."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import OperationalError

from adapters.positions import Positions
from adapters.projector import Projector
from adapters.projector_thread import ProjectorThread
from adapters.read_models import VIEW_NAMES
from adapters.runtime import Runtime
from adapters.signal import Signal
from adapters.views.store import ViewStore
from adapters.views.view import View
from application.actor import Actor
from tests.integration.helpers import Dump, dump, edit, ingested, settle, tag_first


class StaleStore:
    """The real store, as a second runner saw it: at the position both runners started from."""

    def __init__(self, store: ViewStore, position: int) -> None:
        self._store = store
        self._position = position

    def position(self) -> int:
        return self._position

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class StaleView:
    """The real view, over its store as a second runner saw it (``StaleStore``)."""

    def __init__(self, view: View, position: int) -> None:
        self._view = view
        self.store = StaleStore(view.store, position)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._view, name)


class Boom(Exception):
    pass


class FailsOnEvent:
    """The real projection, except that processing its ``n``th event raises."""

    def __init__(self, inner: Any, n: int) -> None:
        self.name = inner.name
        self._inner = inner
        self._n = n
        self.processed = 0

    def process(self, event: Any, position: int, writer: Any) -> None:
        if self.processed + 1 == self._n:
            raise Boom(f"event {self._n} at position {position}")
        self._inner.process(event, position, writer)
        self.processed += 1


def some_history(runtime: Runtime, alice: Actor, bob: Actor) -> UUID:
    dataset_id = ingested(runtime, alice, "alpha")
    runtime.app.share_dataset(alice, dataset_id, bob.email, "editor")
    snapshot_id = runtime.app.create_snapshot(alice, dataset_id, "first").result.snapshot_id
    edit(runtime, bob, dataset_id, tag_first("x"))
    runtime.app.update_snapshot(alice, dataset_id, snapshot_id, "renamed", "text")
    runtime.app.clone_snapshot(bob, dataset_id, snapshot_id)
    settle(runtime)
    return dataset_id


def fresh_projector(
    runtime: Runtime, name: str, batch_size: int = 500, projection: Any = None, view: Any = None
) -> Projector:
    template = runtime.projectors[name]
    return Projector(
        runtime.app, projection or template.projection, view or template.view, batch_size=batch_size
    )


def test_a_batch_processed_by_two_runners_is_recorded_once(
    runtime: Runtime, alice: Actor, bob: Actor
) -> None:
    some_history(runtime, alice, bob)
    for name in VIEW_NAMES:
        check_two_runners(runtime, name)


def check_two_runners(runtime: Runtime, name: str) -> None:
    view = runtime.backend.views[name]
    view.store.clear()
    start = view.store.position()
    first = fresh_projector(runtime, name)
    second = fresh_projector(runtime, name, view=StaleView(view, start))

    consumed = first.step()
    once = dump(view)
    again = second.step()

    assert consumed == runtime.app.position() - start, name
    assert again == 0, name
    assert dump(view) == once, name
    assert view.store.position() == runtime.app.position(), name
    assert any(once.values()), name


def test_a_failure_mid_batch_rolls_back_rows_and_position_and_the_retry_matches_a_clean_run(
    runtime: Runtime, alice: Actor, bob: Actor
) -> None:
    some_history(runtime, alice, bob)
    runtime.catch_up()
    for name in VIEW_NAMES:
        check_failure_mid_batch(runtime, name)


def check_failure_mid_batch(runtime: Runtime, name: str) -> None:
    view = runtime.backend.views[name]
    clean = dump(view)
    view.store.clear()
    fresh_projector(runtime, name, batch_size=7).step()
    after_first_batch, position = dump(view), view.store.position()
    failing = FailsOnEvent(runtime.projectors[name].projection, 4)

    with pytest.raises(Boom):
        fresh_projector(runtime, name, batch_size=7, projection=failing).step()

    assert failing.processed == 3, name
    assert view.store.position() == position == 7, name
    assert dump(view) == after_first_batch, name
    retry = fresh_projector(runtime, name, batch_size=7)
    assert retry.step() == 7, name
    assert view.store.position() == 14, name
    retry.catch_up()
    assert dump(view) == clean, name
    assert view.store.position() == runtime.app.position(), name


def test_every_event_of_a_batch_writes_an_audit_row_so_rolling_one_back_is_visible(
    runtime: Runtime, alice: Actor, bob: Actor
) -> None:
    """The failing batch above had written rows before it raised; they are gone after it."""
    some_history(runtime, alice, bob)
    view = runtime.backend.views["audit_history"]
    view.store.clear()
    fresh_projector(runtime, "audit_history", batch_size=7).step()
    rows_after_first_batch = len(dump(view)["events"])

    fresh_projector(runtime, "audit_history", batch_size=7).step()

    assert len(dump(view)["events"]) > rows_after_first_batch + 3


def test_the_position_is_the_last_notification_even_when_it_is_not_a_dataset_event(
    runtime: Runtime, alice: Actor, bob: Actor
) -> None:
    some_history(runtime, alice, bob)
    runtime.app.register_user("carol@example.com")
    last = runtime.app.recorder.max_notification_id()

    runtime.catch_up()

    assert {
        name: view.store.position() for name, view in runtime.backend.views.items()
    } == dict.fromkeys(VIEW_NAMES, last)
    assert all(projector.step() == 0 for projector in runtime.projectors.values())


def test_a_projector_resumes_from_its_recorded_position(runtime: Runtime, alice: Actor) -> None:
    ingested(runtime, alice, "alpha")
    runtime.catch_up()
    view = runtime.backend.views["audit_history"]
    rows_before = len(dump(view)["events"])
    position = view.store.position()
    dataset_id = ingested(runtime, alice, "bravo", run=False)

    consumed = fresh_projector(runtime, "audit_history").catch_up()

    assert consumed == runtime.app.position() - position
    events = sorted(dump(view)["events"], key=lambda e: e["position"])
    assert len(events) == rows_before + 2
    assert {e["dataset_id"] for e in events[-2:]} == {str(dataset_id)}


def test_one_cycle_over_every_view_commits_all_of_them_or_none(
    runtime: Runtime, alice: Actor, bob: Actor
) -> None:
    some_history(runtime, alice, bob)
    for view in runtime.backend.views.values():
        view.store.clear()
    projectors = [fresh_projector(runtime, name) for name in VIEW_NAMES]
    projectors[-1] = fresh_projector(
        runtime, VIEW_NAMES[-1], projection=FailsOnEvent(projectors[-1].projection, 3)
    )
    cycle = ProjectorThread(projectors, Signal(), Signal())

    with pytest.raises(Boom):
        cycle._step_all()  # one cycle, without the thread around it
    if runtime.backend.settings.uses_postgres:
        assert {view.store.position() for view in runtime.backend.views.values()} == {0}, (
            "one database: a failing view rolls back every view's part of the cycle"
        )
        assert all(_empty(view) for view in runtime.backend.views.values())
    else:
        assert runtime.backend.views[VIEW_NAMES[-1]].store.position() == 0

    projectors[-1] = fresh_projector(runtime, VIEW_NAMES[-1])
    cycle = ProjectorThread(projectors, Signal(), Signal())
    while cycle._step_all():
        pass
    last = runtime.app.position()
    assert {view.store.position() for view in runtime.backend.views.values()} == {last}


def _empty(view: View) -> bool:
    return all(rows == [] for rows in dump(view).values())


def test_a_runner_behind_another_records_nothing_even_when_its_batch_reaches_further(
    runtime: Runtime, alice: Actor, bob: Actor
) -> None:
    dataset_id = some_history(runtime, alice, bob)
    for view in runtime.backend.views.values():
        view.store.clear()
    ahead = ProjectorThread([fresh_projector(runtime, n) for n in VIEW_NAMES], Signal(), Signal())
    counted = [Counted(runtime.projectors[n].projection) for n in VIEW_NAMES]
    behind = [
        fresh_projector(runtime, name, projection=counting)
        for name, counting in zip(VIEW_NAMES, counted, strict=True)
    ]
    for projector in behind:
        projector.remember_position(0)  # it read the positions before `ahead` moved them
    while ahead._step_all():
        pass
    runtime.app.create_snapshot(alice, dataset_id, "later")  # past what `ahead` recorded
    once = {name: dump(view) for name, view in runtime.backend.views.items()}

    assert ProjectorThread(behind, Signal(), Signal())._step_all() == 0
    assert [c.processed for c in counted] == [0] * len(counted), (
        "the stale positions are refused before any event is applied"
    )
    assert {name: dump(view) for name, view in runtime.backend.views.items()} == once
    while ahead._step_all():
        pass
    assert {view.store.position() for view in runtime.backend.views.values()} == {
        runtime.app.position()
    }


class Counted:
    """The real projection, counting the events it is given."""

    def __init__(self, inner: Any) -> None:
        self.name = inner.name
        self._inner = inner
        self.processed = 0

    def process(self, event: Any, position: int, writer: Any) -> None:
        self.processed += 1
        self._inner.process(event, position, writer)


def test_a_waiter_wakes_when_another_runner_moved_the_views_its_thread_projects(
    runtime: Runtime, alice: Actor, bob: Actor
) -> None:
    some_history(runtime, alice, bob)
    saved, projected = Signal(), Signal()
    positions = Positions(runtime.backend.stores, projected)
    thread = ProjectorThread(
        [fresh_projector(runtime, n) for n in VIEW_NAMES],
        saved,
        projected,
        poll_seconds=3600,
        positions=positions,
    )
    thread.start()
    try:
        assert positions.wait(runtime.app.position(), 10)
        ingested(runtime, alice, "bravo", run=False)  # saved, but `saved` is not pulsed
        runtime.catch_up()  # another runner projects it: the thread's positions are stale
        target = runtime.app.position()
        assert not positions.reached(target), "a view projected here is not asked for"

        saved.pulse()  # the thread's cycle finds the views moved, and says so

        assert positions.wait(target, 10)
    finally:
        thread.stop()


class FailsAt:
    """The real projection, except that the event at ``position`` fails every time: with
    ``error``, or (``twice``) by writing its rows twice, which breaks the view's key."""

    def __init__(self, inner: Any, position: int, error: Exception | None = None) -> None:
        self.name = inner.name
        self._inner = inner
        self._position = position
        self._error = error

    def process(self, event: Any, position: int, writer: Any) -> None:
        self._inner.process(event, position, writer)
        if position == self._position:
            if self._error is None:
                self._inner.process(event, position, writer)
            else:
                raise self._error


class FailsFirst:
    """The real projection, but its first ``times`` calls fail as if the database were away."""

    def __init__(self, inner: Any, times: int) -> None:
        self.name = inner.name
        self._inner = inner
        self.left = times

    def process(self, event: Any, position: int, writer: Any) -> None:
        if self.left:
            self.left -= 1
            raise OperationalError("connection lost")
        self._inner.process(event, position, writer)


def run_until_caught_up(runtime: Runtime, projectors: list[Projector]) -> None:
    saved, projected = Signal(), Signal()
    positions = Positions(runtime.backend.stores, projected)
    thread = ProjectorThread(
        projectors, saved, projected, poll_seconds=0.01, backoff_seconds=0.01, positions=positions
    )
    thread.start()
    try:
        assert positions.wait(runtime.app.position(), 30), "the views never caught up"
    finally:
        thread.stop()


def clean_dumps(runtime: Runtime) -> dict[str, Dump]:
    for view in runtime.backend.views.values():
        view.store.clear()
    runtime.catch_up()
    return {name: dump(view) for name, view in runtime.backend.views.items()}


@pytest.mark.parametrize("failure", ["raises", "breaks a key"])
def test_an_event_a_view_always_fails_on_is_parked_and_every_view_goes_on(
    runtime: Runtime, alice: Actor, bob: Actor, failure: str
) -> None:
    some_history(runtime, alice, bob)
    audit = runtime.backend.views["audit_history"]
    bad = sorted(r["position"] for r in dump(audit)["events"])[3]
    expected = clean_dumps(runtime)
    expected["audit_history"]["events"] = [
        r for r in expected["audit_history"]["events"] if r["position"] != bad
    ]
    for view in runtime.backend.views.values():
        view.store.clear()
    error = Boom("a bug in the projection") if failure == "raises" else None
    projectors = [
        fresh_projector(
            runtime, name, projection=FailsAt(runtime.projectors[name].projection, bad, error)
        )
        if name == "audit_history"
        else fresh_projector(runtime, name)
        for name in VIEW_NAMES
    ]

    run_until_caught_up(runtime, projectors)

    [parked] = audit.store.parked()
    assert parked["notification_id"] == bad
    assert ("Boom: a bug in the projection" if error else "IntegrityError") in parked["error"]
    got = {name: dump(view) for name, view in runtime.backend.views.items()}
    assert [tables.pop("parked") for tables in got.values()] == [
        [parked] if name == "audit_history" else [] for name in got
    ]
    for tables in expected.values():
        tables.pop("parked")
    assert got == expected, "only the parked event's audit row is missing"

    assert clean_dumps(runtime)["audit_history"]["parked"] == [], (
        "a rebuild tries parked events again"
    )


def test_a_view_waits_out_the_database_being_away_and_parks_nothing(
    runtime: Runtime, alice: Actor, bob: Actor
) -> None:
    some_history(runtime, alice, bob)
    expected = clean_dumps(runtime)
    for view in runtime.backend.views.values():
        view.store.clear()
    flaky = FailsFirst(runtime.projectors["snapshot_list"].projection, times=10)
    projectors = [
        fresh_projector(runtime, name, projection=flaky)
        if name == "snapshot_list"
        else fresh_projector(runtime, name)
        for name in VIEW_NAMES
    ]

    run_until_caught_up(runtime, projectors)

    assert flaky.left == 0
    assert {name: dump(view) for name, view in runtime.backend.views.items()} == expected
