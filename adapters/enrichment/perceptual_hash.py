"""PERCEPTUAL_HASH: a 64-bit pHash (``imagehash.phash``) as 16 hex digits.

pHash keeps the lowest 8x8 frequencies of a 32x32 DCT of the grayscale image, one bit per
coefficient above the median, so resized, recompressed or slightly edited copies land a few
bits apart while different images land about 32 apart: the re-index clusters on it. Large
JPEGs decode at a reduced scale first (``draft``), which is far cheaper and, at 256 pixels
or more a side, does not move the 32x32 input the hash is made of in any way that matters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import imagehash

from adapters.enrichment.image_file import decode
from domain.content_tree import Record

_DECODE_SIZE = 256


class PerceptualHash:
    model_type = "PERCEPTUAL_HASH"
    model_id = "phash-64-v1"
    name = "Perceptual hash"
    description = (
        "A 64-bit perceptual hash (pHash, 16 hex digits): near-duplicates differ "
        "in few bits. Re-index clusters images by it."
    )
    media_kinds = ("image",)

    def run(self, path: Path, record: Record) -> dict[str, Any]:
        image = decode(path, "L", at_least=_DECODE_SIZE)
        return {"phash": str(imagehash.phash(image))}
