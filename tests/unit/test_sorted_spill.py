"""Sorting past memory: whatever the order entries come in and however many runs spill, they
read back sorted by key, as often as wanted, and the runs go away."""

from __future__ import annotations

import random
from pathlib import Path

from application.operations.sorted_spill import SortedSpill


def entries(n: int) -> list[tuple[bytes, bytes]]:
    rng = random.Random(11)
    names = ["a.png", "b.png", "B.png", "ä.png", "a", "z/0.jpg", ""]
    return [
        (f"{rng.choice(names)}\x00m{rng.randrange(10**6):06d}-{i}".encode(), f"{i}".encode())
        for i in range(n)
    ]


def test_spilled_runs_read_back_merged_in_order_twice() -> None:
    given = entries(5000)
    with SortedSpill(run_bytes=4096) as spill:
        for key, value in given:
            spill.add(key, value)
        assert spill.count == 5000
        first = list(spill)
        assert first == sorted(given)
        assert list(spill) == first  # a second pass reads the same


def test_byte_keys_sort_as_their_text_does() -> None:
    given = entries(300)
    with SortedSpill(run_bytes=512) as spill:
        for key, value in given:
            spill.add(key, value)
        texts = [key.decode().split("\x00") for key, _ in spill]
    assert texts == sorted(key.decode().split("\x00") for key, _ in given)


def test_nothing_spills_while_the_entries_fit_and_the_runs_go_away_after() -> None:
    with SortedSpill() as spill:
        for key, value in entries(100):
            spill.add(key, value)
        assert list(spill) == sorted(entries(100))
        folder = Path(spill._folder.name)
        assert list(folder.iterdir()) == []
    with SortedSpill(run_bytes=1024) as spill:
        for key, value in entries(500):
            spill.add(key, value)
        folder = Path(spill._folder.name)
        assert list(folder.iterdir())
    assert not folder.exists()
