"""Progress of a long command on stderr: a bar on a terminal, plain lines anywhere else.

A bar redraws itself with carriage returns, which turns a log file or a captured pipe into
noise; so when stderr is not a terminal the same figures (count, rate, ETA) go out as one
plain line every few seconds, and always once at the end.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, TextIO

from tqdm import tqdm

# Seconds between plain lines; SNAPSET_PROGRESS_SECONDS=0 prints one per update (tests).
PLAIN_EVERY_SECONDS = float(os.environ.get("SNAPSET_PROGRESS_SECONDS", "5"))


class Progress:
    """Counts ``done`` of ``total`` ``unit``s; ``update`` takes the absolute count."""

    def __init__(
        self,
        label: str,
        unit: str,
        *,
        total: int | None = None,
        stream: TextIO | None = None,
        every: float | None = None,
    ) -> None:
        self.label = label
        self.unit = unit
        self.total = total
        self.done = 0
        self._stream = stream or sys.stderr
        self._every = PLAIN_EVERY_SECONDS if every is None else every
        self._started = time.monotonic()
        self._last_line = self._started
        self._ended: float | None = None
        self._bar: tqdm[Any] | None = None
        if self._stream.isatty():
            self._bar = tqdm(
                total=total,
                desc=label,
                unit=unit,
                file=self._stream,
                dynamic_ncols=True,
                smoothing=0.1,
            )

    @property
    def elapsed(self) -> float:
        return (self._ended or time.monotonic()) - self._started

    @property
    def rate(self) -> float:
        """Units per second so far."""
        return self.done / max(self.elapsed, 1e-9)

    def update(self, done: int, total: int | None = None) -> None:
        if total is not None and total != self.total:
            self.total = total
            if self._bar is not None:
                self._bar.total = total
        if self._bar is not None:
            self._bar.update(done - self.done)
        self.done = done
        now = time.monotonic()
        if self._bar is None and now - self._last_line >= self._every:
            self._last_line = now
            self._print(self._line())

    def close(self) -> None:
        """Finish the bar, or print the closing plain line; the figures stop here."""
        self._ended = self._ended or time.monotonic()
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            return
        count = f"{self.done:,}/{self.total:,}" if self.total else f"{self.done:,}"
        self._print(
            f"{self.label}: {count} {self.unit}s in {self.elapsed:.2f} s "
            f"({self.rate:,.1f} {self.unit}s/s)"
        )

    def _line(self) -> str:
        if not self.total:
            return f"{self.label}: {self.done:,} {self.unit}s, {self.rate:,.1f} {self.unit}s/s"
        eta = _clock((self.total - self.done) / self.rate) if self.done else "?"
        return (
            f"{self.label}: {self.done:,}/{self.total:,} {self.unit}s "
            f"({100 * self.done // self.total}%), {self.rate:,.1f} {self.unit}s/s, "
            f"ETA {eta}"
        )

    def _print(self, line: str) -> None:
        print(line, file=self._stream, flush=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


@contextmanager
def phase(label: str, stream: TextIO | None = None) -> Iterator[list[str]]:
    """One step of a command without a count (a single SQL sweep): a line when it starts,
    one with its outcome and duration when it ends. Append the outcome to the yielded list."""
    out = stream or sys.stderr
    print(f"{label} ...", file=out, flush=True)
    started = time.monotonic()
    outcome: list[str] = []
    yield outcome
    print(
        f"{label}: {', '.join(outcome) or 'done'} in {time.monotonic() - started:.2f} s",
        file=out,
        flush=True,
    )


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
