"""With the projector and worker threads running, a write is visible once its position is."""

from __future__ import annotations

import time
from collections.abc import Callable

from adapters.runtime import Runtime
from adapters.views.snapshot_list import SnapshotListView
from application.actor import Actor
from tests.integration.helpers import ingested


def test_each_new_snapshot_is_listed_as_soon_as_its_position_is_reached(
    runtime: Runtime, alice: Actor
) -> None:
    dataset_id = ingested(runtime, alice, "alpha")
    view = runtime.backend.views["snapshot_list"]
    assert isinstance(view, SnapshotListView)
    runtime.start(projections=True, worker=True)
    try:
        for i in range(50):
            made, position = runtime.app.create_snapshot(alice, dataset_id, f"s{i}")
            snapshot_id = made.snapshot_id

            assert runtime.positions.wait(position, 5, ("snapshot_list",)), i
            rows = view.list(str(dataset_id))
            assert rows[0]["snapshot_id"] == str(snapshot_id), i
            assert [r["snapshot_id"] for r in rows if r["is_current"]] == [str(snapshot_id)], i
        assert len(view.list(str(dataset_id))) == 51
    finally:
        runtime.stop()


def test_waiting_for_a_position_no_view_has_reached_times_out(runtime: Runtime) -> None:
    runtime.catch_up()
    unreached = runtime.app.position() + 1

    assert not runtime.positions.wait(unreached, 0.05)
    assert not runtime.positions.reached(unreached, ("snapshot_list",))
    assert runtime.positions.wait(runtime.app.position(), 0.05)
    assert runtime.positions.wait(None, 0)


def test_a_dataset_created_with_threads_running_is_indexed_and_listed(
    runtime: Runtime, alice: Actor
) -> None:
    runtime.start(projections=True, worker=True)
    try:
        dataset_id = ingested(runtime, alice, "alpha", run=False)
        view = runtime.backend.views["snapshot_list"]
        assert isinstance(view, SnapshotListView)

        def listed() -> bool:
            runtime.positions.wait(runtime.app.position(), 0.2)
            return bool(view.list(str(dataset_id)))

        assert wait_until(listed, 10)
        assert runtime.app.get_dataset(alice, dataset_id).status == "READY"
    finally:
        runtime.stop()


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll ``condition`` (each poll itself waits for the views) until true or the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
    return False
