"""What benches report: progress lines on stderr, the cells of their tables on stdout, and
the figures they leave in test-artifacts/reliability/ for `make reliability`'s scorecard.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "reliability"
_STARTED = time.monotonic()


def log(message: str) -> None:
    """A progress line on stderr, after the seconds since the bench started."""
    print(f"[{time.monotonic() - _STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def machine() -> str:
    """Python's version, the CPUs and the load average, for a table's heading."""
    return (
        f"Python {sys.version.split()[0]}; {os.cpu_count()} CPUs; load average at start "
        f"{load_average()}"
    )


def verdict(passed: bool) -> str:
    return "PASS" if passed else "MISS"


def fmt_size(n: int) -> str:
    """1000 as 1k, 1000000 as 1M; other numbers as they are."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def write_figures(name: str, figures: Mapping[str, object]) -> None:
    """Leave ``figures`` as test-artifacts/reliability/<name>.json for the scorecard."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(figures, indent=2))
