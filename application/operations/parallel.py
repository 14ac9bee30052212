"""Per-item work on a few threads, in input order, with a bounded number of items in flight.

The enrichment models spend their time in Pillow, NumPy and FFmpeg code that releases the
GIL while decoding, so two threads on two cores overlap usefully; results come back in
input order so the caller's bookkeeping (progress, reports) stays single-threaded.

Quick items are the exception: threads that each hold the GIL for a few hundred
microseconds between short system calls queue for it, and made ingest and enrichment of
small images two to three times slower than one thread (16x16 PNGs: a perceptual hash at
1,700 items/s on two threads against 3,900 on one; 640x480 JPEGs: 600 against 360). So the
work is timed as it runs in the caller's thread, and handed to the threads only while an
item takes longer than ``QUICK_SECONDS``; every ``SAMPLE_EVERY``-th item runs in the
caller's thread again to notice when items get quick.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

QUICK_SECONDS = 0.001
SAMPLE_EVERY = 16
_WEIGHT = 0.2  # of the newest timing in the running estimate


def ordered_map(
    work: Callable[[T], R],
    items: Iterable[T],
    threads: int,
    *,
    inline: Callable[[T], bool] | None = None,
    quick_seconds: float = QUICK_SECONDS,
) -> Iterator[R]:
    """``map(work, items)`` on ``threads`` threads (inline when 1), at most 4 per thread
    queued, so a long input is never all submitted at once. Items ``inline`` says are quick
    (say, a result the record already holds) run in the caller's thread, and so does any
    item while the work timed there takes under ``quick_seconds`` an item (0: never)."""
    if threads <= 1:
        yield from map(work, items)
        return
    estimate: float | None = None  # seconds an item's work takes, from those timed inline
    with ThreadPoolExecutor(threads, thread_name_prefix="snapset-items") as pool:
        pending: deque[Future[R] | _Done[R]] = deque()
        try:
            for number, item in enumerate(items):
                sample = quick_seconds > 0 and (
                    estimate is None or estimate < quick_seconds or number % SAMPLE_EVERY == 0
                )
                if inline is not None and inline(item):
                    pending.append(_Done(work(item)))
                elif sample:
                    started = time.perf_counter()
                    pending.append(_Done(work(item)))
                    took = time.perf_counter() - started
                    estimate = _estimate(estimate, took)
                else:
                    pending.append(pool.submit(work, item))
                while pending and (pending[0].done() or len(pending) >= 4 * threads):
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def _estimate(before: float | None, took: float) -> float:
    """Quicker at once, slower by degrees: one large file among small ones does not send
    the next few to the threads, but a quick sample ends a slow stretch."""
    if before is None or took < before:
        return took
    return before + _WEIGHT * (took - before)


class _Done(Generic[R]):
    """A result already made, standing in the queue beside the futures: a ``Future`` made
    for it cost as much again as a quick item's whole work."""

    __slots__ = ("_result",)

    def __init__(self, result: R) -> None:
        self._result = result

    def done(self) -> bool:
        return True

    def result(self) -> R:
        return self._result

    def cancel(self) -> bool:
        return False
