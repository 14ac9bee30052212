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
from datetime import UTC, datetime
from typing import Any, Protocol

from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    Notification,
    OperationalError,
    Tracking,
)

from adapters.views.store import ViewStore
from application.datasets import Datasets
from domain.dataset_events import DatasetEvent

log = logging.getLogger(__name__)
DATASET_TOPIC_PREFIX = "snapset:Dataset."
PARK_AFTER = 3  # failures of one event, alone, before it is parked


class Projection(Protocol):
    name: str

    def process(self, event: Any, position: int, writer: Any) -> None: ...


class Signal:
    """A broadcast wake-up: everything waiting on it wakes when it is pulsed.

    Take ``generation`` before checking your condition and pass it to ``wait``: a pulse
    that lands between the check and the wait then returns at once instead of being lost.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generation = 0

    @property
    def generation(self) -> int:
        return self._generation

    def pulse(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def wait(self, timeout: float, since: int | None = None) -> None:
        with self._cond:
            seen = self._generation if since is None else since
            self._cond.wait_for(lambda: self._generation != seen, timeout)


class Projector:
    """Runs one projection into its view. Its position is cached: it re-reads the view's
    tracking row only at the start and after another runner got ahead of it."""

    def __init__(
        self, app: Datasets, projection: Projection, view: ViewStore, *, batch_size: int = 500
    ) -> None:
        self.app = app
        self.projection = projection
        self.view = view
        self.batch_size = batch_size
        self._position: int | None = None

    @property
    def position(self) -> int:
        if self._position is None:
            self._position = self.view.position()
        return self._position

    def forget_position(self) -> None:
        self._position = None

    def remember_position(self, position: int) -> None:
        self._position = position

    def read(self, start: int, limit: int) -> list[tuple[Notification, Any]]:
        """Notifications after ``start`` with their dataset events decoded (None for others)."""
        notifications = self.app.recorder.select_notifications(
            start=start, limit=limit, inclusive_of_start=False
        )
        return [(n, self.decode(n)) for n in notifications]

    def decode(self, notification: Notification) -> Any:
        if not notification.topic.startswith(DATASET_TOPIC_PREFIX):
            return None
        event = self.app.mapper.to_domain_event(notification)
        return event if isinstance(event, DatasetEvent) else None

    def pending(self, batch: Sequence[tuple[Notification, Any]]) -> list[tuple[Notification, Any]]:
        start = self.position
        return [(n, e) for n, e in batch if n.id > start]

    def apply(self, writer: Any, batch: Sequence[tuple[Notification, Any]]) -> None:
        for notification, event in batch:
            if event is not None:
                self.projection.process(event, notification.id, writer)

    def step(self, batch: Sequence[tuple[Notification, Any]] | None = None) -> int:
        """Process the next batch (read now, or the part of ``batch`` after this view's
        position); returns how many notifications it consumed."""
        start = self.position
        part = self.pending(self.read(start, self.batch_size) if batch is None else batch)
        if not part:
            return 0
        last = part[-1][0].id
        try:
            with self.view.transaction(Tracking(self.app.name, last), after=start) as writer:
                self.apply(writer, part)
        except IntegrityError:
            self.forget_position()  # another runner recorded this batch first
            return 0
        except BaseException:
            self.forget_position()
            raise
        self._position = last
        return len(part)

    def park(self, notification: Notification, error: BaseException) -> None:
        """Record ``notification`` as processed without its rows, and why (see ``parked``)."""
        start = self.position
        try:
            self.view.park(
                Tracking(self.app.name, notification.id),
                after=start,
                topic=notification.topic,
                error=f"{type(error).__name__}: {error}",
                at=datetime.now(UTC).isoformat(),
            )
        except IntegrityError:
            self.forget_position()  # another runner moved on first
            return
        log.error(
            "view %s parked event %s (%s) after repeated failures: %s",
            self.view.view_name,
            notification.id,
            notification.topic,
            error,
        )
        self._position = notification.id

    def catch_up(self) -> int:
        """Process everything there is now, from the view's recorded position."""
        self.forget_position()
        total = 0
        while count := self.step():
            total += count
        return total


class ProjectorThread:
    """Runs projectors until stopped, waking on ``saved`` and pulsing ``projected``."""

    def __init__(
        self,
        projectors: Sequence[Projector],
        saved: Signal,
        projected: Signal,
        *,
        poll_seconds: float = 0.05,
        backoff_seconds: float = 1.0,
        positions: Positions | None = None,
        announce: Callable[[dict[str, int]], None] | None = None,
    ) -> None:
        self._projectors = projectors
        self._announce = announce
        self._positions = positions
        self._saved = saved
        self._projected = projected
        self._poll = poll_seconds
        self._backoff = backoff_seconds
        self._suspect: int | None = None  # a failed batch's end: step one by one up to it
        self._batch_end = 0
        self._failures: dict[tuple[str, int], int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="snapset-projector", daemon=True)

    def start(self) -> None:
        if self._positions is not None:
            self._positions.project_here([p.view for p in self._projectors])
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._saved.pulse()
        self._thread.join(timeout=10)
        if self._positions is not None:
            self._positions.project_elsewhere([p.view for p in self._projectors])

    def _cycle(self) -> int:
        """A batch cycle; after a failure, one event at a time up to where it failed."""
        if self._suspect is None:
            return self._step_all()
        moved = sum(self._step_one(p) for p in self._projectors)
        if all(p.position >= self._suspect for p in self._projectors):
            self._suspect = None
        return moved

    def _step_one(self, projector: Projector) -> int:
        """The projector's next event alone. An event that fails ``PARK_AFTER`` times, for a
        reason other than the database being away, is parked: one bad event must not stop
        a view (or, sharing its transaction, every view) for good."""
        start = projector.position
        if start >= (self._suspect or 0):
            return 0
        notifications = projector.app.recorder.select_notifications(
            start=start, limit=1, inclusive_of_start=False
        )
        if not notifications:
            return 0
        notification = notifications[0]
        try:
            if projector.step([(notification, projector.decode(notification))]):
                self._failures.pop((projector.view.view_name, notification.id), None)
                return 1
            projector.forget_position()
            if projector.position != start:
                return 0  # another runner recorded it
            error: BaseException = IntegrityError("the view refused the event's rows")
        except (OperationalError, InterfaceError):
            raise  # the database is away: wait for it, never park for that
        except Exception as failed:
            error = failed
        key = (projector.view.view_name, notification.id)
        self._failures[key] = self._failures.get(key, 0) + 1
        if self._failures[key] < PARK_AFTER:
            raise error
        del self._failures[key]
        projector.park(notification, error)
        return 1

    def _step_all(self) -> int:
        """One cycle: read and decode the log once, then let every projector take its part."""
        if not self._projectors:
            return 0
        start = min(p.position for p in self._projectors)
        batch = self._projectors[0].read(start, max(p.batch_size for p in self._projectors))
        if batch:
            self._batch_end = batch[-1][0].id
        first = self._projectors[0].view
        before = [p.position for p in self._projectors]
        if all(first.shares_transactions_with(p.view) for p in self._projectors[1:]):
            moved = self._step_together(batch)
        else:
            moved = sum(p.step(batch) for p in self._projectors)
        if (
            not moved
            and any(p.pending(batch) for p in self._projectors)
            and [p.position for p in self._projectors] == before
        ):
            # Refused (IntegrityError) with no other runner ahead: the rows broke a
            # constraint. Fail, so the cycle goes one event at a time and can park it.
            raise IntegrityError("a view refused the rows of this batch")
        return moved

    def _step_together(self, batch: Sequence[tuple[Notification, Any]]) -> int:
        """Every view's part of ``batch`` in one transaction (all views in one database):
        one commit instead of one per view. Any failure rolls back every view's part."""
        parts = [(p, p.pending(batch)) for p in self._projectors]
        parts = [(p, part) for p, part in parts if part]
        if not parts:
            return 0
        first = self._projectors[0].view
        try:
            with first.shared_transaction() as cursor:
                first.check_positions(cursor, [(p.view, p.position) for p, _ in parts])
                for projector, part in parts:
                    tracking = Tracking(projector.app.name, part[-1][0].id)
                    with projector.view.batch(cursor, tracking) as writer:
                        projector.apply(writer, part)
        except IntegrityError:
            for projector, _ in parts:
                projector.forget_position()  # another runner got ahead: re-read, retry
            return 0
        except BaseException:
            for projector, _ in parts:
                projector.forget_position()
            raise
        for projector, part in parts:
            projector.remember_position(part[-1][0].id)
        return sum(len(part) for _, part in parts)

    def _run(self) -> None:
        while not self._stop.is_set():
            generation = self._saved.generation
            try:
                moved = self._cycle()
            except Exception:  # a view or database fault: log, back off, go on one by one
                log.exception("projection step failed")
                self._suspect = max(self._suspect or 0, self._batch_end)
                self._stop.wait(self._backoff)
                continue
            if self._note_positions() or moved:
                self._projected.pulse()
            if moved and self._announce is not None:
                self._announce({p.view.view_name: p.position for p in self._projectors})
            if not moved:
                self._saved.wait(self._poll, since=generation)

    def _note_positions(self) -> bool:
        """Tell ``Positions`` where every view is, also when another runner moved it (a
        conflict makes a projector re-read its position): waiters here never ask the
        database about a view this thread projects."""
        if self._positions is None:
            return False
        advanced = False
        for projector in self._projectors:
            try:
                advanced |= self._positions.note(projector.view, projector.position)
            except Exception:  # the database is away: the next cycle notes it
                log.debug("could not read a view's position", exc_info=True)
        return advanced


class Positions:
    """Read-your-writes: wait until views have processed a position.

    A view a projector thread in this process runs is known without a query: the thread
    notes its position after every cycle and pulses ``projected`` when it moves. A view
    projected by another process is asked (its tracking row) only while still behind.
    """

    def __init__(
        self, views: dict[str, ViewStore], projected: Signal, *, ask_every: float = 0.25
    ) -> None:
        self._views = views
        self._projected = projected
        self._known: dict[int, int] = {}
        self._here: set[int] = set()
        # While notices of other processes' projections arrive (position_notices), a view
        # they cover is asked at most every ``ask_every`` seconds, as a safety net.
        self._listening = False
        self._ask_every = ask_every
        self._asked: dict[int, float] = {}

    @property
    def listening(self) -> bool:
        return self._listening

    def set_listening(self, on: bool) -> None:
        """Notices arrive (True) or may have been missed (False); either way, ask each view
        the database once more: a notice may have gone by before this."""
        self._asked.clear()
        self._listening = on

    def project_here(self, views: Sequence[ViewStore]) -> None:
        self._here.update(id(v) for v in views)

    def project_elsewhere(self, views: Sequence[ViewStore]) -> None:
        self._here.difference_update(id(v) for v in views)

    def note(self, view: ViewStore, position: int) -> bool:
        """Record that ``view`` has reached ``position``; whether that is news."""
        key = id(view)
        if position > self._known.get(key, 0):
            self._known[key] = position
            return True
        return False

    def reached(self, position: int, names: Sequence[str] = ()) -> bool:
        views = [self._views[n] for n in names] if names else list(self._views.values())
        for view in views:
            if self._known.get(id(view), 0) >= position:
                continue
            if id(view) in self._here:
                return False  # its thread notes it and pulses when it moves
            now = time.monotonic()
            if self._listening and now - self._asked.get(id(view), -1e9) < self._ask_every:
                return False  # a notice will say when it moves
            self._asked[id(view)] = now
            self.note(view, view.position())
            if self._known.get(id(view), 0) < position:
                return False
        return True

    def wait(self, position: int | None, timeout: float, names: Sequence[str] = ()) -> bool:
        """Block until the named views (all by default) reach ``position``, or time out."""
        if not position:
            return True
        deadline = time.monotonic() + timeout
        pause = 0.002
        while True:
            generation = self._projected.generation
            if self.reached(position, names):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._projected.wait(min(pause, remaining), since=generation)
            pause = min(pause * 2, 0.05)
