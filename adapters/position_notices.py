"""Projected positions told across processes on PostgreSQL: NOTIFY, LISTEN.

A projector thread announces the views' positions after each cycle that moved them
(``pg_notify`` on a per-schema channel). Every process that serves reads listens, notes what
it hears in its ``Positions`` and pulses, so a write answered by an API process wakes its
waiters as soon as another process has projected it, instead of at their next poll of the
tracking rows. Notices are a shortcut, never the only way: ``Positions`` still asks the
database now and then, and whenever the listener has just (re)connected.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping

import psycopg
from eventsourcing.postgres import PostgresDatastore
from psycopg import sql
from psycopg.conninfo import make_conninfo

from adapters.positions import Positions
from adapters.settings import Settings
from adapters.signal import Signal
from adapters.views.store import ViewStore

log = logging.getLogger(__name__)


class PositionNotices:
    def __init__(
        self,
        settings: Settings,
        stores: Mapping[str, ViewStore],
        positions: Positions,
        projected: Signal,
    ) -> None:
        pg = settings.postgres()
        self._conninfo = make_conninfo(
            **{k: pg[k] for k in ("dbname", "host", "port", "user", "password")}
        )
        self._channel = f"snapset_{pg['schema']}_projected"[:63]
        self._stores = stores
        self._positions = positions
        self._projected = projected
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def announce(self, moved: Mapping[str, int]) -> None:
        """Tell every listener where these views are now (after their commit)."""
        datastore = next(iter(self._stores.values())).datastore
        assert isinstance(datastore, PostgresDatastore), "position notices need PostgreSQL"
        try:
            with datastore.get_connection() as connection:
                connection.execute(
                    "SELECT pg_notify(%s, %s)", (self._channel, json.dumps(dict(moved)))
                )
        except Exception:  # listeners fall back to asking the database
            log.warning("could not announce projected positions", exc_info=True)

    def start(self) -> None:
        """Listen, in a thread, until ``stop``."""
        self._thread = threading.Thread(
            target=self._run, name="snapset-position-notices", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def receive(self, payload: str) -> None:
        """Note the positions a notice names; anything malformed is ignored."""
        try:
            moved = json.loads(payload)
        except ValueError:
            return
        if not isinstance(moved, dict):
            return
        news = False
        for name, position in moved.items():
            store = self._stores.get(name)
            if store is not None and isinstance(position, int) and not isinstance(position, bool):
                news |= self._positions.note(store, position)
        if news:
            self._projected.pulse()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as connection:
                    connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                    self._positions.set_listening(True)
                    while not self._stop.is_set():
                        for notice in connection.notifies(timeout=0.5):
                            self.receive(notice.payload)
            except psycopg.Error:
                log.warning("position notices lost their connection; reconnecting", exc_info=True)
            finally:
                self._positions.set_listening(False)
            self._stop.wait(1.0)
