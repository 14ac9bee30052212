"""JPEG thumbnails, made once per blob and kept on disk.

A blob never changes (it is named by its sha256), so neither does its thumbnail: the first
request makes it, every later one is a file read. Files are written to a temporary name and
moved into place with ``os.replace``, so a reader never sees half a file and two requests
racing to make the same thumbnail both succeed. A file that cannot be decoded (a corrupt
image, a video PyAV cannot read) gets a neutral grey placeholder instead (256 px on its long
side, in the item's proportions when known), cached the same way under its own name so
callers can tell it apart.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import av
from PIL import Image, ImageOps, UnidentifiedImageError

SIZE = 256
_QUALITY = 85
_BACKGROUND = (128, 128, 128)


@dataclass(frozen=True)
class Thumbnail:
    path: Path
    placeholder: bool


class Thumbnails:
    def __init__(self, folder: Path, size: int = SIZE) -> None:
        self._folder = folder
        self._size = size

    def get(
        self,
        blob: str,
        source: Path,
        kind: str,
        shape: tuple[int | None, int | None] = (None, None),
    ) -> Thumbnail:
        """The thumbnail of the blob stored at ``source`` (``kind`` image or video).

        ``shape`` (width, height) gives a placeholder the item's proportions when known.
        """
        real, placeholder = self._paths(blob)
        for path, is_placeholder in ((real, False), (placeholder, True)):
            if path.is_file():
                return Thumbnail(path, is_placeholder)
        box = (self._size, self._size)
        picture = _first_frame(source, box) if kind == "video" else _image(source, box)
        if picture is None:
            _write(placeholder, self._placeholder(shape))
            return Thumbnail(placeholder, True)
        _write(real, _encode(_rgb(picture)))
        return Thumbnail(real, False)

    def _paths(self, blob: str) -> tuple[Path, Path]:
        folder = self._folder / blob[:2]
        return (
            folder / f"{blob}-{self._size}.jpg",
            folder / f"{blob}-{self._size}.placeholder.jpg",
        )

    def _placeholder(self, shape: tuple[int | None, int | None]) -> bytes:
        """A grey tile, ``size`` px on its long side, in the item's proportions if known."""
        width, height = (shape[0], shape[1]) if shape[0] and shape[1] else (1, 1)
        tile = (
            (self._size, max(1, round(height / width * self._size)))
            if width >= height
            else (max(1, round(width / height * self._size)), self._size)
        )
        return _encode(Image.new("RGB", tile, _BACKGROUND))


def _image(source: Path, box: tuple[int, int]) -> Image.Image | None:
    """The image fitted into ``box`` and turned upright, or None when it cannot be read.

    The box is square, so fitting before turning gives the same size as after, and lets
    Pillow decode a JPEG at a reduced scale (``draft``) instead of in full.
    """
    try:
        with Image.open(source) as opened:
            limit = Image.MAX_IMAGE_PIXELS
            if limit is not None and opened.width * opened.height > limit:
                return None  # a decompression bomb: refused from its header, as ingest does
            opened.thumbnail(box)
            return ImageOps.exif_transpose(opened)
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        IndexError,
        struct.error,
        ZeroDivisionError,
    ):
        return None


def _first_frame(source: Path, box: tuple[int, int]) -> Image.Image | None:
    """The video's first decodable frame fitted into ``box``, or None when there is none."""
    try:
        with av.open(str(source)) as container:
            if not container.streams.video:
                return None
            for frame in container.decode(video=0):
                picture: Image.Image = frame.to_image()  # type: ignore[no-untyped-call]
                picture.thumbnail(box)
                return picture
    except (av.FFmpegError, OSError, ValueError, IndexError):
        return None
    return None


def _rgb(picture: Image.Image) -> Image.Image:
    """RGB for JPEG: transparent parts over the neutral background, not over black."""
    if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
        rgba = picture.convert("RGBA")
        flat = Image.new("RGB", rgba.size, _BACKGROUND)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return picture.convert("RGB")


def _encode(picture: Image.Image) -> bytes:
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=_QUALITY)
    return out.getvalue()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".thumbnail-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
