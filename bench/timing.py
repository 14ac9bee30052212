"""Timing: medians and 90th percentiles of samples in seconds, and a collector kept quiet.

Benches print these as tables and ratios; none of them asserts on a time.
"""

from __future__ import annotations

import contextlib
import gc
import statistics
from collections.abc import Iterator, Sequence


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """Building a million records makes the cyclic collector rescan the heap over and over."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def median_ms(samples: Sequence[float]) -> float:
    """The median of samples in seconds, in milliseconds (NaN when there are none)."""
    return statistics.median(samples) * 1000 if samples else float("nan")


def p90_ms(samples: Sequence[float]) -> float:
    """The 90th percentile (nearest rank) of samples in seconds, in milliseconds."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))] * 1000
