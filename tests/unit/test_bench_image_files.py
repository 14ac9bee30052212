"""The scale bench's generated images are distinct files, named as ingestion will name them,
and one in ten is a near-duplicate of the one before it (the re-index's clusters)."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import pytest

from adapters.enrichment.perceptual_hash import PerceptualHash
from bench import image_files
from bench.image_files import is_near_duplicate, relative_name, write_pngs

N = 45


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(image_files, "_CHUNK", 7)  # near-duplicates across chunk boundaries
    monkeypatch.setattr(image_files, "PER_FOLDER", 20)
    write_pngs(tmp_path, N)
    return tmp_path


def test_every_image_is_a_distinct_file_under_its_relative_name(folder: Path) -> None:
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.png"))

    assert files == sorted(relative_name(i) for i in range(N))
    assert len({hashlib.sha256((folder / f).read_bytes()).digest() for f in files}) == N


def test_one_image_in_ten_is_a_near_duplicate_of_the_one_before(folder: Path) -> None:
    model = PerceptualHash()
    hashes = [int(model.run(folder / relative_name(i), {})["phash"], 16) for i in range(N)]

    def distance(a: int, b: int) -> int:
        return (hashes[a] ^ hashes[b]).bit_count()

    pairs = {(i - 1, i) for i in range(N) if is_near_duplicate(i)}
    assert len(pairs) == 5
    assert all(distance(a, b) <= 8 for a, b in pairs)
    others = [(a, b) for a, b in itertools.combinations(range(N), 2) if (a, b) not in pairs]
    assert min(distance(a, b) for a, b in others) > 8
