"""Per-item work on threads keeps the input's order, bounds what is in flight, and runs the
items said to be quick, or timed as quick, in the caller's own thread."""

from __future__ import annotations

import threading
import time

from application.operations.parallel import SAMPLE_EVERY, ordered_map


def test_results_come_back_in_input_order_whatever_finishes_first() -> None:
    def slow_for_evens(n: int) -> int:
        time.sleep(0.01 if n % 2 == 0 else 0)
        return n * n

    assert list(ordered_map(slow_for_evens, range(40), 2, quick_seconds=0)) == [
        n * n for n in range(40)
    ]


def test_quick_items_run_in_the_callers_thread_and_the_rest_on_the_pool() -> None:
    caller = threading.get_ident()
    ran_on: dict[int, int] = {}

    def work(n: int) -> int:
        ran_on[n] = threading.get_ident()
        return n

    quick = list(ordered_map(work, range(30), 2, inline=lambda n: n % 3 == 0, quick_seconds=0))

    assert quick == list(range(30))
    assert {n for n, thread in ran_on.items() if thread == caller} == set(range(0, 30, 3))


def test_a_long_input_is_never_all_submitted_at_once() -> None:
    started: list[int] = []

    def work(n: int) -> int:
        started.append(n)
        return n

    results = ordered_map(work, range(10_000), 2, quick_seconds=0)
    for _ in range(5):
        next(results)
    assert len(started) <= 5 + 4 * 2
    results.close()


def test_quick_work_stays_in_the_callers_thread_and_slow_work_goes_to_the_pool() -> None:
    caller = threading.get_ident()
    ran_on: dict[int, int] = {}

    def work(n: int) -> int:
        ran_on[n] = threading.get_ident()
        time.sleep(0.03 if 20 <= n < 50 else 0)  # slow in the middle only
        return n

    assert list(ordered_map(work, range(100), 2, quick_seconds=0.015)) == list(range(100))

    in_caller = {n for n, thread in ran_on.items() if thread == caller}
    assert set(range(20)) <= in_caller  # timed quick
    slow_in_caller = in_caller & set(range(20, 50))
    # Four while the estimate climbs past 15 ms (a fifth of each new timing), then one in
    # SAMPLE_EVERY: the rest ran on the pool.
    assert len(slow_in_caller) <= 4 + 30 // SAMPLE_EVERY + 1
    assert set(range(50 + SAMPLE_EVERY, 100)) <= in_caller  # quick again, noticed
