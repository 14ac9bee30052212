"""IMAGE_QUALITY: sharpness and exposure from the grayscale pixels.

The image is measured in grayscale (Pillow's "L", ITU-R 601 luma, 0..255), scaled down to
fit 1024 x 1024 when larger (never up), so scores compare across camera resolutions and
memory stays bounded. Outputs:
- ``blur_score``: the variance of the Laplacian (3x3 kernel 0 1 0 / 1 -4 1 / 0 1 0 over the
  interior pixels); sharp edges give high values, blur gives low ones.
- ``brightness``: the mean gray level, 0..255.
- ``blurry``: blur_score < 100 (the threshold commonly used for this measure at this scale);
  ``too_dark``: brightness < 40; ``too_bright``: brightness > 215.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from adapters.enrichment.image_file import decode
from domain.content_tree import Record

MEASURE_SIZE = 1024
BLURRY_BELOW = 100.0
TOO_DARK_BELOW = 40.0
TOO_BRIGHT_ABOVE = 215.0


class ImageQuality:
    model_type = "IMAGE_QUALITY"
    model_id = "laplacian-quality-v1"
    name = "Image quality"
    description = (
        f"Blur score (variance of the Laplacian; blurry below {BLURRY_BELOW:g}) "
        f"and mean brightness 0..255 (too dark below {TOO_DARK_BELOW:g}, too bright "
        f"above {TOO_BRIGHT_ABOVE:g}), measured in grayscale scaled to fit "
        f"{MEASURE_SIZE} pixels."
    )
    media_kinds = ("image",)

    def run(self, path: Path, record: Record) -> dict[str, Any]:
        gray = np.asarray(decode(path, "L", fit=MEASURE_SIZE), dtype=np.float64)
        blur = round(laplacian_variance(gray), 3)
        brightness = round(float(gray.mean()), 3)
        return {
            "blur_score": blur,
            "brightness": brightness,
            "blurry": blur < BLURRY_BELOW,
            "too_dark": brightness < TOO_DARK_BELOW,
            "too_bright": brightness > TOO_BRIGHT_ABOVE,
        }


def laplacian_variance(gray: np.ndarray[Any, np.dtype[np.float64]]) -> float:
    """Variance of the 4-neighbour Laplacian over the interior; 0 for images under 3x3."""
    if gray.shape[0] < 3 or gray.shape[1] < 3:
        return 0.0
    laplacian = (
        gray[:-2, 1:-1] + gray[2:, 1:-1] + gray[1:-1, :-2] + gray[1:-1, 2:] - 4.0 * gray[1:-1, 1:-1]
    )
    return float(laplacian.var())
