"""Progress off a terminal: plain lines with count, rate and ETA, and always a closing line."""

from __future__ import annotations

import io
import re

from adapters.progress import Progress, phase


def test_off_a_terminal_each_due_update_prints_count_share_rate_and_eta() -> None:
    stream = io.StringIO()
    with Progress("import", "file", stream=stream, every=0) as progress:
        for done in range(1, 5):
            progress.update(done, 4)

    lines = stream.getvalue().splitlines()
    assert len(lines) == 5
    assert re.fullmatch(r"import: 1/4 files \(25%\), [\d,.]+ files/s, ETA \d+:\d\d", lines[0])
    assert lines[3].startswith("import: 4/4 files (100%)")
    assert re.fullmatch(r"import: 4/4 files in \d+\.\d\d s \([\d,.]+ files/s\)", lines[4])


def test_off_a_terminal_updates_within_the_interval_print_only_the_closing_line() -> None:
    stream = io.StringIO()
    with Progress("rebuild", "event", total=10, stream=stream, every=3600) as progress:
        for done in range(1, 11):
            progress.update(done)

    assert stream.getvalue().splitlines() == [
        f"rebuild: 10/10 events in {progress.elapsed:.2f} s ({progress.rate:,.1f} events/s)"
    ]


def test_a_phase_prints_its_start_and_its_outcome() -> None:
    stream = io.StringIO()
    with phase("gc: sweeping", stream) as outcome:
        outcome.append("3 swept")

    first, last = stream.getvalue().splitlines()
    assert first == "gc: sweeping ..."
    assert re.fullmatch(r"gc: sweeping: 3 swept in \d+\.\d\d s", last)
