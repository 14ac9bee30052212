"""Decoding untrusted image files for the models, with a pixel limit and one error type.

Ingest only reads an image's header; the models decode its pixels, so they bound what they
decode at ``MAX_DECODE_PIXELS`` (8000 x 8000): a larger image (a decompression bomb, or
just huge) is an item error, never a gigabyte allocation. Pillow's own bomb check (a warning
above ``Image.MAX_IMAGE_PIXELS``, an error above twice that) fires earlier for giant headers
and becomes the same item error. Whatever Pillow raises for a truncated, corrupt or
mislabelled file becomes ``UnsupportedMedia``; nothing here touches global warning filters,
so it is safe in a thread pool.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image

from application.operations.ingest import UnsupportedMedia

MAX_DECODE_PIXELS = 64_000_000

# What Pillow raises on bad input (its fuzzing tests expect the same families).
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    IndexError,
    TypeError,
    ZeroDivisionError,
    MemoryError,
)


def decode(
    path: Path, mode: str, *, at_least: int | None = None, fit: int | None = None
) -> Image.Image:
    """The image at ``path`` decoded and converted to ``mode``. With ``at_least``, a JPEG may
    decode at a reduced scale (1/2 to 1/8, far cheaper) that keeps both sides at least that
    long; with ``fit``, the result is scaled down (never up) to fit a fit x fit box."""
    reduce_to = at_least or fit
    with _readable(), Image.open(path) as image:
        check_pixels(image.size)
        if reduce_to is not None:
            image.draft(mode, (reduce_to, reduce_to))
        converted = image.convert(mode)
    if fit is not None:
        converted.thumbnail((fit, fit), Image.Resampling.BILINEAR)
    return converted


def header(path: Path) -> Image.Image:
    """The image at ``path`` opened lazily (header only); the caller closes it."""
    with _readable():
        image = Image.open(path)
    try:
        check_pixels(image.size)
    except UnsupportedMedia:
        image.close()
        raise
    return image


def check_pixels(size: tuple[int, int]) -> None:
    width, height = size
    if width * height > MAX_DECODE_PIXELS:
        raise UnsupportedMedia(
            f"a decompression bomb: {width}x{height} is more than the "
            f"{MAX_DECODE_PIXELS} pixels the models decode"
        )


@contextmanager
def _readable() -> Iterator[None]:
    """Whatever Pillow raises on a bad file, as the one item error."""
    try:
        yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise UnsupportedMedia(f"a decompression bomb ({error})") from None
    except _DECODE_ERRORS as error:
        raise UnsupportedMedia(f"not a readable image ({type(error).__name__}: {error})") from None
