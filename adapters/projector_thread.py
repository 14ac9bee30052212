"""Runs projectors in a thread: woken by saves, one batch cycle for every view, and one
event at a time after a failure, parking an event that keeps failing."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    Notification,
    OperationalError,
    Tracking,
)

from adapters.positions import Positions
from adapters.projector import Projector
from adapters.signal import Signal

log = logging.getLogger(__name__)
PARK_AFTER = 3  # failures of one event, alone, before it is parked


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
            self._positions.project_here([p.store for p in self._projectors])
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._saved.pulse()
        self._thread.join(timeout=10)
        if self._positions is not None:
            self._positions.project_elsewhere([p.store for p in self._projectors])

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
                self._failures.pop((projector.store.name, notification.id), None)
                return 1
            projector.forget_position()
            if projector.position != start:
                return 0  # another runner recorded it
            error: BaseException = IntegrityError("the view refused the event's rows")
        except (OperationalError, InterfaceError):
            raise  # the database is away: wait for it, never park for that
        except Exception as failed:
            error = failed
        key = (projector.store.name, notification.id)
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
        first = self._projectors[0].store
        before = [p.position for p in self._projectors]
        if all(first.shares_transactions_with(p.store) for p in self._projectors[1:]):
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
        first = self._projectors[0].store
        try:
            with first.shared_transaction() as cursor:
                first.check_positions(cursor, [(p.store, p.position) for p, _ in parts])
                for projector, part in parts:
                    tracking = Tracking(projector.app.name, part[-1][0].id)
                    with projector.store.batch(cursor, tracking) as sql:
                        projector.apply(sql, part)
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
                self._announce({p.store.name: p.position for p in self._projectors})
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
                advanced |= self._positions.note(projector.store, projector.position)
            except Exception:  # the database is away: the next cycle notes it
                log.debug("could not read a view's position", exc_info=True)
        return advanced
