"""Thumbnails: fitted, upright JPEGs made once per blob; placeholders for what cannot decode."""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageOps

from adapters.thumbnails import Thumbnails
from tests.support.media import image

GREY = (128, 128, 128)


def blob_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def mean(picture: Image.Image) -> np.ndarray:
    return np.asarray(picture.convert("RGB"), dtype=float).reshape(-1, 3).mean(axis=0)


def fitted(size: tuple[int, int]) -> tuple[int, int]:
    picture = Image.new("RGB", size)
    picture.thumbnail((256, 256))
    return picture.size


def test_an_image_thumbnail_is_a_fitted_jpeg_made_once(tmp_path: Path) -> None:
    source = image(tmp_path / "wide.png", 1000, 300, (10, 200, 30))
    thumbnails = Thumbnails(tmp_path / "cache")

    made = thumbnails.get(blob_of(source), source, "image")
    stat = made.path.stat()
    again = thumbnails.get(blob_of(source), source, "image")

    assert not made.placeholder
    with Image.open(made.path) as thumbnail:
        assert (thumbnail.format, thumbnail.size) == ("JPEG", fitted((1000, 300)))
        assert np.allclose(mean(thumbnail), (10, 200, 30), atol=8)
    assert again == made
    assert (made.path.stat().st_ino, made.path.stat().st_mtime_ns) == (
        stat.st_ino,
        stat.st_mtime_ns,
    )
    assert [p.name for p in made.path.parent.iterdir()] == [made.path.name]


def test_an_image_is_turned_upright_by_its_exif_orientation(tmp_path: Path) -> None:
    source = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.new("RGB", (400, 100), (200, 50, 50)).save(source, "JPEG", exif=exif)

    made = Thumbnails(tmp_path / "cache").get(blob_of(source), source, "image")

    with Image.open(source) as original, Image.open(made.path) as thumbnail:
        assert thumbnail.size == fitted(ImageOps.exif_transpose(original).size)
        assert thumbnail.height > thumbnail.width


def test_transparent_parts_show_the_neutral_background(tmp_path: Path) -> None:
    source = tmp_path / "clear.png"
    Image.new("RGBA", (50, 50), (255, 0, 0, 0)).save(source)

    made = Thumbnails(tmp_path / "cache").get(blob_of(source), source, "image")

    with Image.open(made.path) as thumbnail:
        assert np.allclose(mean(thumbnail), GREY, atol=3)


def test_a_video_thumbnail_is_its_first_frame(tmp_path: Path) -> None:
    source = tmp_path / "clip.mp4"
    with av.open(str(source), "w") as out:
        stream = out.add_stream("mpeg4", rate=5)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        for color in ((250, 250, 0), (0, 0, 250)):
            pixels = np.full((360, 640, 3), color, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)

    made = Thumbnails(tmp_path / "cache").get(blob_of(source), source, "video")

    assert not made.placeholder
    with Image.open(made.path) as thumbnail:
        assert thumbnail.size == fitted((640, 360))
        assert np.allclose(mean(thumbnail), (250, 250, 0), atol=25)


@pytest.mark.parametrize(("kind", "shape"), [("image", (30, 90)), ("video", (None, None))])
def test_what_cannot_be_decoded_gets_a_cached_placeholder(
    tmp_path: Path, kind: str, shape: tuple[int | None, int | None]
) -> None:
    source = tmp_path / "garbage.bin"
    source.write_bytes(b"\x89PNG\r\n\x1a\n but then nothing sensible")
    thumbnails = Thumbnails(tmp_path / "cache")

    made = thumbnails.get(blob_of(source), source, kind, shape)
    again = thumbnails.get(blob_of(source), source, kind, shape)

    assert made.placeholder
    assert again == made
    with Image.open(made.path) as placeholder:
        expected = ImageOps.contain(
            Image.new("RGB", (shape[0] or 1, shape[1] or 1)), (256, 256)
        ).size
        assert (placeholder.format, placeholder.size) == ("JPEG", expected)
        assert np.allclose(mean(placeholder), GREY, atol=3)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_decompression_bomb_is_refused_from_its_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = image(tmp_path / "big.png", 40, 40)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 1600 pixels: over, not doubly so

    made = Thumbnails(tmp_path / "cache").get(blob_of(source), source, "image", (40, 40))

    assert made.placeholder
