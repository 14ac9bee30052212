"""Reads image dimensions with Pillow, refusing decompression bombs and unreadable files."""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from application.operations.ingest import UnsupportedMedia

MAX_PIXELS = 200_000_000


class PillowProbe:
    def image_size(self, path: Path) -> tuple[int, int]:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(path) as image:
                    width, height = image.size
                    if width * height > MAX_PIXELS:
                        raise UnsupportedMedia(f"the image is too large ({width}x{height})")
                    image.verify()
        except (UnidentifiedImageError, Image.DecompressionBombError,
                Image.DecompressionBombWarning) as error:
            raise UnsupportedMedia(f"not a readable image ({type(error).__name__})") from None
        except (OSError, SyntaxError, ValueError) as error:
            raise UnsupportedMedia(f"not a readable image ({error})") from None
        return width, height
