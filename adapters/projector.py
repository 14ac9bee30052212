"""Runs projections: polls the event log and writes each batch with its position, atomically.

SQLite has no subscription in the library, and polling works on both backends, so both
poll. In one process, a ``Signal`` wakes the projector right after a save and wakes waiters
right after a batch commits, so read-your-writes costs a batch, not a polling interval.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from eventsourcing.persistence import IntegrityError, Tracking

from adapters.views.store import ViewStore
from application.datasets import Datasets
from projections.events import is_dataset_event

log = logging.getLogger(__name__)
DATASET_TOPIC_PREFIX = "snapset:Dataset."


class Projection(Protocol):
    name: str

    def process(self, event: Any, position: int, writer: Any) -> None: ...


class Signal:
    """A broadcast wake-up: everything waiting on it wakes when it is pulsed."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generation = 0

    def pulse(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def wait(self, timeout: float) -> None:
        with self._cond:
            generation = self._generation
            self._cond.wait_for(lambda: self._generation != generation, timeout)


class Projector:
    def __init__(self, app: Datasets, projection: Projection, view: ViewStore, *,
                 batch_size: int = 500) -> None:
        self.app = app
        self.projection = projection
        self.view = view
        self.batch_size = batch_size

    def step(self) -> int:
        """Process the next batch of events; returns how many notifications it consumed."""
        start = self.view.position()
        notifications = self.app.recorder.select_notifications(
            start=start, limit=self.batch_size, inclusive_of_start=False)
        if not notifications:
            return 0
        try:
            with self.view.transaction(Tracking(self.app.name, notifications[-1].id)) as writer:
                for notification in notifications:
                    if notification.topic.startswith(DATASET_TOPIC_PREFIX):
                        event = self.app.mapper.to_domain_event(notification)
                        if is_dataset_event(event):
                            self.projection.process(event, notification.id, writer)
        except IntegrityError:
            return 0  # another runner recorded this batch first: nothing lost, nothing twice
        return len(notifications)

    def catch_up(self) -> int:
        total = 0
        while count := self.step():
            total += count
        return total


class ProjectorThread:
    """Runs projectors until stopped, waking on ``saved`` and pulsing ``projected``."""

    def __init__(self, projectors: Sequence[Projector], saved: Signal, projected: Signal, *,
                 poll_seconds: float = 0.05,
                 on_error: Callable[[BaseException], None] | None = None) -> None:
        self._projectors = projectors
        self._saved = saved
        self._projected = projected
        self._poll = poll_seconds
        self._stop = threading.Event()
        self._on_error = on_error
        self._thread = threading.Thread(target=self._run, name="snapset-projector", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._saved.pulse()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                moved = sum(p.step() for p in self._projectors)
            except Exception as error:  # a view or database fault: log, back off, go on
                log.exception("projection step failed")
                if self._on_error:
                    self._on_error(error)
                self._stop.wait(1.0)
                continue
            if moved:
                self._projected.pulse()
            else:
                self._saved.wait(self._poll)


class Positions:
    """Read-your-writes: wait until views have processed a position."""

    def __init__(self, views: dict[str, ViewStore], projected: Signal) -> None:
        self._views = views
        self._projected = projected

    def reached(self, position: int, names: Sequence[str] = ()) -> bool:
        views = [self._views[n] for n in names] if names else list(self._views.values())
        return all(view.position() >= position for view in views)

    def wait(self, position: int | None, timeout: float, names: Sequence[str] = ()) -> bool:
        """Block until the named views (all by default) reach ``position``, or time out."""
        if not position:
            return True
        deadline = time.monotonic() + timeout
        pause = 0.002
        while not self.reached(position, names):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._projected.wait(min(pause, remaining))
            pause = min(pause * 2, 0.05)
        return True
