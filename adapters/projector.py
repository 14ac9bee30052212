"""Runs one projection into its view: polls the event log and writes each batch with its
position, atomically.

SQLite has no subscription in the library, and polling works on both backends, so both
poll. In one process, a ``Signal`` wakes the projector thread right after a save and wakes
waiters right after a batch commits, so read-your-writes costs a batch, not a polling
interval (``adapters/projector_thread.py``, ``adapters/positions.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from eventsourcing.persistence import IntegrityError, Notification, Tracking

from adapters.views.sql import Sql
from adapters.views.store import ViewStore
from adapters.views.view import FinishingWriter, View
from application.datasets import Datasets
from domain.dataset_events import DatasetEvent

log = logging.getLogger(__name__)
DATASET_TOPIC_PREFIX = "snapset:Dataset."


class Projection(Protocol):
    name: str

    def process(self, event: Any, position: int, writer: Any) -> None: ...


class Projector:
    """Runs one projection into its view. Its position is cached: it re-reads the view's
    tracking row only at the start and after another runner got ahead of it."""

    def __init__(
        self, app: Datasets, projection: Projection, view: View, *, batch_size: int = 500
    ) -> None:
        self.app = app
        self.projection = projection
        self.view = view
        self.batch_size = batch_size
        self._position: int | None = None

    @property
    def store(self) -> ViewStore:
        return self.view.store

    @property
    def position(self) -> int:
        if self._position is None:
            self._position = self.store.position()
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

    def apply(self, sql: Sql, batch: Sequence[tuple[Notification, Any]]) -> None:
        """Process ``batch`` with the view's writer over ``sql`` (a store transaction's)."""
        writer = self.view.writer(sql)
        for notification, event in batch:
            if event is not None:
                self.projection.process(event, notification.id, writer)
        if isinstance(writer, FinishingWriter):
            writer.finish()

    def step(self, batch: Sequence[tuple[Notification, Any]] | None = None) -> int:
        """Process the next batch (read now, or the part of ``batch`` after this view's
        position); returns how many notifications it consumed."""
        start = self.position
        part = self.pending(self.read(start, self.batch_size) if batch is None else batch)
        if not part:
            return 0
        last = part[-1][0].id
        try:
            with self.store.transaction(Tracking(self.app.name, last), after=start) as sql:
                self.apply(sql, part)
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
            self.store.park(
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
            self.store.name,
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
