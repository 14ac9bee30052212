"""Folders of many small, distinct PNGs for benches that ingest through the real task.

Image ``i`` is 16x16 pixels of random RGB noise, written to ``d{i // 1000:04d}/{i:07d}.png``
(a thousand files a folder). Every tenth image from the second on (``i % 10 == 1``) is its
predecessor with one bit of one pixel flipped: its bytes, so its blob, differ, but its
perceptual hash lands within a few bits of the other's, so a re-index finds about n / 10
clusters of two and label propagation has somewhere to go. Noise images are otherwise about
32 bits apart. A million take about two minutes and 4 GB of disk (one block each).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

SIDE = 16
PER_FOLDER = 1_000
_CHUNK = 10_000


def relative_name(i: int) -> str:
    """Image ``i``'s path under the folder, as ingestion names its item."""
    return f"d{i // PER_FOLDER:04d}/{i:07d}.png"


def is_near_duplicate(i: int) -> bool:
    """Whether image ``i`` is its predecessor with one bit flipped."""
    return i % 10 == 1


def pixels(n: int, seed: int = 11) -> Iterator[np.ndarray]:
    """The ``n`` images' pixels, ``(SIDE, SIDE, 3)`` uint8 arrays, in order."""
    rng = np.random.default_rng(seed)
    previous = np.zeros((SIDE, SIDE, 3), dtype=np.uint8)
    for start in range(0, n, _CHUNK):
        chunk = rng.integers(0, 256, size=(min(_CHUNK, n - start), SIDE, SIDE, 3), dtype=np.uint8)
        for offset, image in enumerate(chunk):
            if is_near_duplicate(start + offset):
                image[:] = previous
                image[SIDE // 2, SIDE // 3, 0] ^= 1
            previous = image
            yield image


def png_bytes(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, "PNG", compress_level=1)
    return out.getvalue()


def write_pngs(folder: Path, n: int, seed: int = 11) -> list[Path]:
    """Write the ``n`` images under ``folder``; returns the first few thousand paths (a
    sample for the raw decode rate), not all of them."""
    sample: list[Path] = []
    for i, image in enumerate(pixels(n, seed)):
        path = folder / relative_name(i)
        if i % PER_FOLDER == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png_bytes(image))
        if i < 2_000:
            sample.append(path)
    return sample
