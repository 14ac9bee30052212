"""The ingest probe on real files: image sizes and bombs with Pillow, videos with PyAV."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import av
import numpy as np
import pytest
from PIL import Image

from adapters.media_probe import PillowProbe
from application.operations.ingest import UnsupportedMedia
from tests.support.media import image, png_bomb, video


def audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mp2", rate=44100)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 1152), dtype=np.int16), format="s16", layout="mono"
        )
        frame.sample_rate = 44100
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    return path


def test_an_image_size_is_read_from_its_header(tmp_path: Path) -> None:
    assert PillowProbe().image_size(image(tmp_path / "a.png", 37, 21)) == (37, 21)
    assert PillowProbe().image_size(image(tmp_path / "b.jpg", 5, 9, fmt="JPEG")) == (5, 9)


def test_a_big_image_under_pillows_pixel_limit_is_accepted(tmp_path: Path) -> None:
    assert (Image.MAX_IMAGE_PIXELS or 0) >= 9000 * 8000
    assert PillowProbe().image_size(png_bomb(tmp_path / "big.png", 9000, 8000)) == (9000, 8000)


@pytest.mark.parametrize(
    "size", [(10_000, 10_000), (20_000, 10_000)], ids=["over the limit", "over twice the limit"]
)
@pytest.mark.parametrize("warning_filter", ["error", "ignore"])
def test_a_decompression_bomb_is_unsupported_media_whatever_the_warning_filter(
    tmp_path: Path, size: tuple[int, int], warning_filter: Literal["error", "ignore"]
) -> None:
    bomb = png_bomb(tmp_path / "bomb.png", *size)
    with warnings.catch_warnings():
        warnings.simplefilter(warning_filter, Image.DecompressionBombWarning)
        with pytest.raises(UnsupportedMedia, match="decompression bomb"):
            PillowProbe().image_size(bomb)


@pytest.mark.parametrize("data", [b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20])
def test_an_unreadable_image_is_unsupported_media(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "bad.png"
    path.write_bytes(data)
    with pytest.raises(UnsupportedMedia, match="not a readable image"):
        PillowProbe().image_size(path)


@pytest.mark.parametrize(("frames", "rate", "size"), [(3, 10, (32, 32)), (12, 24, (64, 48))])
def test_video_info_is_the_frame_size_and_duration(
    tmp_path: Path, frames: int, rate: int, size: tuple[int, int]
) -> None:
    path = video(tmp_path / "clip.mp4", b"x", frames=frames, rate=rate, size=size)
    width, height, duration = PillowProbe().video_info(path)
    assert (width, height) == size
    assert duration == pytest.approx(frames / rate, abs=1e-3)


def test_different_payloads_make_different_videos_and_equal_ones_equal_bytes(
    tmp_path: Path,
) -> None:
    first = video(tmp_path / "a.mp4", b"video-0").read_bytes()
    assert video(tmp_path / "b.mp4", b"video-0").read_bytes() == first
    assert video(tmp_path / "c.mp4", b"video-1").read_bytes() != first


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda p: image(p / "still.mp4"), "still image"),
        (lambda p: audio_only(p / "sound.mkv"), "no video stream"),
        (
            lambda p: (
                (p / "junk.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 junk") and p / "junk.mp4"
            ),
            "not a readable video",
        ),
    ],
    ids=["image named .mp4", "audio only", "junk"],
)
def test_a_file_that_is_no_readable_video_is_unsupported_media(
    tmp_path: Path, make: Callable[[Path], Path], why: str
) -> None:
    with pytest.raises(UnsupportedMedia, match=why):
        PillowProbe().video_info(make(tmp_path))
