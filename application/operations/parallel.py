"""Per-item work on a few threads, in input order, with a bounded number of items in flight.

The enrichment models spend their time in Pillow, NumPy and FFmpeg code that releases the
GIL while decoding, so two threads on two cores overlap usefully; results come back in
input order so the caller's bookkeeping (progress, reports) stays single-threaded.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def ordered_map(
    work: Callable[[T], R],
    items: Iterable[T],
    threads: int,
    *,
    inline: Callable[[T], bool] | None = None,
) -> Iterator[R]:
    """``map(work, items)`` on ``threads`` threads (inline when 1), at most 4 per thread
    queued, so a long input is never all submitted at once. Items ``inline`` says are quick
    (say, a result the record already holds) run in the caller's thread: a thread's hand-off
    costs more than they do."""
    if threads <= 1:
        yield from map(work, items)
        return
    with ThreadPoolExecutor(threads, thread_name_prefix="snapset-items") as pool:
        pending: deque[Future[R]] = deque()
        try:
            for item in items:
                if inline is not None and inline(item):
                    done: Future[R] = Future()
                    done.set_result(work(item))
                    pending.append(done)
                else:
                    pending.append(pool.submit(work, item))
                while pending and (pending[0].done() or len(pending) >= 4 * threads):
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
