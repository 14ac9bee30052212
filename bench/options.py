"""Command-line options the benches share: the backends to run on, the sizes to measure."""

from __future__ import annotations

import argparse

from bench.backends import BACKENDS


def parse_backends(parser: argparse.ArgumentParser, text: str) -> list[str]:
    """The backends of a comma-separated ``--backends``; a usage error for an unknown one."""
    chosen = [b.strip() for b in text.split(",") if b.strip()]
    unknown = set(chosen) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown backends: {', '.join(sorted(unknown))}")
    return chosen


def parse_sizes(text: str | None, default: tuple[int, ...]) -> tuple[int, ...]:
    """The sizes of a comma-separated ``--sizes``, or ``default`` when it is not given."""
    return tuple(int(s) for s in text.split(",")) if text else default
