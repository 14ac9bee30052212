"""Read-your-writes: how far each view has got, and waiting for it to get further."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from adapters.signal import Signal
from adapters.views.store import ViewStore


class Positions:
    """Read-your-writes: wait until views have processed a position.

    A view a projector thread in this process runs is known without a query: the thread
    notes its position after every cycle and pulses ``projected`` when it moves. A view
    projected by another process is asked (its store's tracking row) only while still
    behind. Views are named by view name and known by their stores.
    """

    def __init__(
        self, stores: Mapping[str, ViewStore], projected: Signal, *, ask_every: float = 0.25
    ) -> None:
        self._stores = stores
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

    def project_here(self, stores: Sequence[ViewStore]) -> None:
        self._here.update(id(s) for s in stores)

    def project_elsewhere(self, stores: Sequence[ViewStore]) -> None:
        self._here.difference_update(id(s) for s in stores)

    def note(self, store: ViewStore, position: int) -> bool:
        """Record that ``store``'s view has reached ``position``; whether that is news."""
        key = id(store)
        if position > self._known.get(key, 0):
            self._known[key] = position
            return True
        return False

    def reached(self, position: int, names: Sequence[str] = ()) -> bool:
        stores = [self._stores[n] for n in names] if names else list(self._stores.values())
        for store in stores:
            if self._known.get(id(store), 0) >= position:
                continue
            if id(store) in self._here:
                return False  # its thread notes it and pulses when it moves
            now = time.monotonic()
            if self._listening and now - self._asked.get(id(store), -1e9) < self._ask_every:
                return False  # a notice will say when it moves
            self._asked[id(store)] = now
            self.note(store, store.position())
            if self._known.get(id(store), 0) < position:
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
