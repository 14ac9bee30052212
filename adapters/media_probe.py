"""Reads media headers for ingest: image dimensions with Pillow, video facts with PyAV.

Both refuse what they cannot read with ``UnsupportedMedia``, which ingest reports as an item
error. Images: a decompression bomb (more pixels than Pillow's MAX_IMAGE_PIXELS, about 89
million) is refused from its header alone, before any pixel is decoded. The limit is checked
here rather than by turning Pillow's warning into an error with ``warnings.catch_warnings``,
which swaps process-wide state and is not thread-safe (Pillow still logs its warning).
Videos: the container must open, be no still image, hold a video stream, and decode its
first frame.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, UnidentifiedImageError

from application.operations.ingest import UnsupportedMedia

_READ_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    IndexError,
    TypeError,
    ZeroDivisionError,
)


@dataclass(frozen=True)
class VideoFacts:
    width: int
    height: int
    duration: float | None  # seconds; None when the container does not say
    fps: float | None
    codec: str


class PillowProbe:
    def image_size(self, path: Path) -> tuple[int, int]:
        try:
            with Image.open(path) as image:
                width, height = image.size
                if width * height > (Image.MAX_IMAGE_PIXELS or width * height):
                    raise UnsupportedMedia(f"a decompression bomb ({width}x{height} pixels)")
                image.verify()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise UnsupportedMedia("a decompression bomb (too many pixels)") from None
        except UnidentifiedImageError as error:
            raise UnsupportedMedia(f"not a readable image ({type(error).__name__})") from None
        except _READ_ERRORS as error:
            raise UnsupportedMedia(f"not a readable image ({error})") from None
        return width, height

    def video_info(self, path: Path) -> tuple[int, int, float | None]:
        """(width, height, duration in seconds or None) of a readable video."""
        facts = read_video(path)
        return facts.width, facts.height, facts.duration


def read_video(path: Path) -> VideoFacts:
    """The first video stream's facts; UnsupportedMedia unless its first frame decodes."""
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if _is_image_format(container.format.name):
                raise UnsupportedMedia("not a video (it is a still image)")
            if not container.streams.video:
                raise UnsupportedMedia("not a readable video (it has no video stream)")
            stream = container.streams.video[0]
            frame = next(container.decode(stream), None)
            if frame is None:
                raise UnsupportedMedia("not a readable video (no frame decodes)")
            duration: float | None = None
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / av.time_base
            rate = stream.average_rate or stream.guessed_rate
            return VideoFacts(
                width=frame.width,
                height=frame.height,
                duration=None if duration is None else round(duration, 6),
                fps=round(float(Fraction(rate)), 6) if rate else None,
                codec=stream.codec_context.name,
            )
    except (av.FFmpegError, *_READ_ERRORS) as error:
        raise UnsupportedMedia(f"not a readable video ({type(error).__name__}: {error})") from None


def _is_image_format(names: str) -> bool:
    """FFmpeg's still-image demuxers ("image2", "png_pipe", ...) read a mislabelled image
    as a one-frame video; ingest and the models treat it as what it is."""
    return any(name == "image2" or name.endswith("_pipe") for name in names.split(","))
