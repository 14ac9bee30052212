"""IMAGE_PROPERTIES: what the file says about itself, read from its header (no decoding).

Outputs: ``format`` (Pillow's name, e.g. "JPEG", whatever the file name claims), ``width``,
``height``, ``mode`` (e.g. "RGB"), ``file_size`` in bytes, and ``captured_at``: the EXIF
capture time (DateTimeOriginal, else DateTimeDigitized, else DateTime) as a UTC ISO 8601
string with a ``Z`` suffix, or null. When the EXIF data records the camera's UTC offset
(OffsetTime* tags, EXIF 2.31) the time is converted to UTC; without one the camera's wall
clock is taken as UTC, the usual reading since EXIF has no zone otherwise. A malformed
EXIF block gives a null time rather than an error: the image itself is still readable.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from PIL import Image

from adapters.enrichment.image_file import header
from domain.content_tree import Record

_EXIF_IFD = 0x8769
# (time tag, offset tag, which IFD holds the time tag: 0 for IFD0, else the Exif IFD)
_TIME_TAGS = (
    (0x9003, 0x9011, _EXIF_IFD),  # DateTimeOriginal, OffsetTimeOriginal
    (0x9004, 0x9012, _EXIF_IFD),  # DateTimeDigitized, OffsetTimeDigitized
    (0x0132, 0x9010, 0),  # DateTime, OffsetTime
)


class ImageProperties:
    model_type = "IMAGE_PROPERTIES"
    model_id = "image-properties-v1"
    name = "Image properties"
    description = (
        "Format, width, height, colour mode, file size and the EXIF capture time "
        "(UTC), read from the file's header."
    )
    media_kinds = ("image",)

    def run(self, path: Path, record: Record) -> dict[str, Any]:
        with header(path) as image:
            width, height = image.size
            return {
                "format": image.format,
                "width": width,
                "height": height,
                "mode": image.mode,
                "file_size": path.stat().st_size,
                "captured_at": capture_time(image),
            }


def capture_time(image: Image.Image) -> str | None:
    """The EXIF capture time as UTC ``YYYY-MM-DDTHH:MM:SSZ``, or None."""
    try:
        exif = image.getexif()
        exif_ifd = exif.get_ifd(_EXIF_IFD)
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, TypeError):
        return None
    for time_tag, offset_tag, ifd in _TIME_TAGS:
        source = exif if ifd == 0 else exif_ifd
        moment = _parse_time(source.get(time_tag))
        if moment is None:
            continue
        offset = _parse_offset(exif_ifd.get(offset_tag)) or UTC
        utc = moment.replace(tzinfo=offset).astimezone(UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    return None


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:  # blank, "0000:00:00 00:00:00", or garbage
        return None


def _parse_offset(value: object) -> timezone | None:
    if not isinstance(value, str):
        return None
    text = value.strip("\x00 ")
    if (
        len(text) != 6
        or text[0] not in "+-"
        or text[3] != ":"
        or not (text[1:3] + text[4:6]).isdigit()
    ):
        return None
    minutes = int(text[1:3]) * 60 + int(text[4:6])
    if minutes >= 24 * 60:
        return None
    return timezone(timedelta(minutes=minutes if text[0] == "+" else -minutes))
