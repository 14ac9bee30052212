"""Read-your-writes across processes on PostgreSQL: a server hears another process's
projections (NOTIFY/LISTEN) instead of polling the views' tracking rows for them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from adapters.position_notices import PositionNotices
from adapters.positions import Positions
from adapters.runtime import Runtime, build_runtime
from adapters.settings import Settings
from adapters.signal import Signal
from application.actor import Actor
from tests.integration.helpers import ingested

pytestmark = pytest.mark.postgres


@pytest.fixture
def backend_name() -> str:
    return "postgres"  # NOTIFY/LISTEN is PostgreSQL's


@pytest.fixture
def server(settings: Settings) -> Iterator[Runtime]:
    """Another process's runtime on the same database: it serves reads, projects nothing."""
    built = build_runtime(settings)
    yield built
    built.close()


class Counting:
    """A view's store whose tracking row is counted each time someone asks for it."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.asked = 0

    def position(self) -> int:
        self.asked += 1
        return int(self._store.position())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_a_server_learns_what_the_projector_process_projected_from_its_notices(
    runtime: Runtime, server: Runtime, alice: Actor
) -> None:
    views = {name: Counting(store) for name, store in server.backend.stores.items()}
    projected = Signal()
    positions = Positions(views, projected, ask_every=3600)  # type: ignore[arg-type]
    listener = PositionNotices(
        server.backend.settings,
        views,
        positions,  # type: ignore[arg-type]
        projected,
    )
    listener.start()
    runtime.start(projections=True, worker=True)  # the projector (and worker) process
    try:
        while not positions.listening:
            projected.wait(0.05)
        for name in views:  # each view asked now: the next ask is an hour away
            positions.reached(runtime.app.position() + 1, (name,))
        asked = sum(v.asked for v in views.values())
        assert asked == len(views)

        ingested(runtime, alice, "alpha", run=False)  # the worker and projector run it
        target = runtime.app.position()

        assert positions.wait(target, 10), "no notice woke the waiter"
        assert sum(v.asked for v in views.values()) == asked, (
            "the position came from a notice, not from asking the database"
        )
    finally:
        runtime.stop()
        listener.stop()


def test_a_notice_that_is_not_a_map_of_view_positions_is_ignored(server: Runtime) -> None:
    projected = Signal()
    positions = Positions(server.backend.stores, projected)
    notices = PositionNotices(server.backend.settings, server.backend.stores, positions, projected)
    before = projected.generation
    for payload in (
        "",
        "not json",
        "[1, 2]",
        '{"task_log": "9"}',
        '{"task_log": true}',
        '{"nothing": 9}',
        '{"task_log": 1.5}',
    ):
        notices.receive(payload)
    assert projected.generation == before

    notices.receive('{"task_log": 7}')
    assert projected.generation == before + 1
    assert positions.reached(7, ("task_log",))
