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

import contextlib
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from queue import Queue
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

QUICK_SECONDS = 0.001
SAMPLE_EVERY = 16
_WEIGHT = 0.2  # of the newest timing in the running estimate
WARM_BYTES = 4 << 20


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


def read_ahead(items: Iterable[T], hint: Callable[[T], None], depth: int = 64) -> Iterator[T]:
    """``items`` unchanged, while a thread calls ``hint`` on each of them ``depth`` items
    before the caller gets it: say, to have the item's file read into the OS's page cache
    (``warm_file``) while the items before it are worked on. Items read one at a time
    from a cold disk otherwise wait for each read in turn."""
    ahead: Queue[T | None] = Queue(maxsize=depth)
    stopped = threading.Event()

    def hinting() -> None:
        while (item := ahead.get()) is not None:
            if not stopped.is_set():
                with contextlib.suppress(Exception):  # a hint, never an error
                    hint(item)

    thread = threading.Thread(target=hinting, name="snapset-read-ahead", daemon=True)
    thread.start()
    waiting: deque[T] = deque()
    try:
        for item in items:
            ahead.put(item)
            waiting.append(item)
            if len(waiting) > depth:
                yield waiting.popleft()
        while waiting:
            yield waiting.popleft()
    finally:
        stopped.set()
        ahead.put(None)  # the thread drains what is left without hinting, then ends
        thread.join()


def warm_file(path: Path) -> None:
    """Ask the OS to start reading ``path`` (its first ``WARM_BYTES``) into its page cache;
    returns at once. A file that cannot be opened is left for its reader to report. A large
    file is read in order later, and the OS reads ahead of that by itself."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd, 0, WARM_BYTES, os.POSIX_FADV_WILLNEED)
    finally:
        os.close(fd)
