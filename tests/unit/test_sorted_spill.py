"""Sorting past memory: whatever the order records come in and however many runs spill, they
read back sorted by file name then media id, as often as wanted, and the runs go away."""

from __future__ import annotations

import random
from pathlib import Path

from application.operations.sorted_spill import Entry, SortedSpill


def entries(n: int) -> list[Entry]:
    rng = random.Random(11)
    names = ["a.png", "b.png", "B.png", "ä.png", "z/0.jpg", ""]
    return [
        Entry(
            rng.choice(names),
            f"m{rng.randrange(10**6):06d}-{i}",
            f'{{"i":{i}}}'.encode(),
            None if i % 7 == 0 else f"{i:064x}",
        )
        for i in range(n)
    ]


def test_spilled_runs_read_back_merged_in_order_twice() -> None:
    given = entries(5000)
    with SortedSpill(run_bytes=4096) as spill:
        for entry in given:
            spill.add(entry)
        assert spill.count == 5000
        first = list(spill)
        assert first == sorted(given)
        assert list(spill) == first  # a second pass reads the same


def test_nothing_spills_while_the_entries_fit_and_the_runs_go_away_after() -> None:
    with SortedSpill() as spill:
        for entry in entries(100):
            spill.add(entry)
        assert list(spill) == sorted(entries(100))
        folder = Path(spill._folder.name)
        assert list(folder.iterdir()) == []
    with SortedSpill(run_bytes=1024) as spill:
        for entry in entries(500):
            spill.add(entry)
        folder = Path(spill._folder.name)
        assert list(folder.iterdir())
    assert not folder.exists()
