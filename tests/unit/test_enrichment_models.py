"""The enrichment models on real files: expected values come from Pillow, NumPy, plain Python
loops and the files' own construction, never from the models; bad files are UnsupportedMedia."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import imagehash
import numpy as np
import pytest
from PIL import Image, ImageFilter

from adapters.enrichment.image_file import MAX_DECODE_PIXELS
from adapters.enrichment.image_properties import ImageProperties
from adapters.enrichment.image_quality import ImageQuality
from adapters.enrichment.perceptual_hash import PerceptualHash
from adapters.enrichment.registry import default_registry
from adapters.enrichment.video_properties import VideoProperties
from application.operations.enrichment import EnrichmentModel
from application.operations.ingest import UnsupportedMedia
from tests.support.media import image, photo, png_bomb, video

EXIF_IFD = 0x8769


def jpeg_with_exif(path: Path, tags: dict[int, str], exif_tags: dict[int, str]) -> Path:
    exif = Image.Exif()
    for tag, value in tags.items():
        exif[tag] = value
    sub = exif.get_ifd(EXIF_IFD)
    for tag, value in exif_tags.items():
        sub[tag] = value
    Image.new("RGB", (20, 10), (1, 2, 3)).save(path, "JPEG", exif=exif)
    return path


def checkerboard(size: int = 64, square: int = 8) -> Image.Image:
    ys, xs = np.mgrid[0:size, 0:size]
    return Image.fromarray((((xs // square + ys // square) % 2) * 255).astype(np.uint8))


def laplacian_variance_by_loops(path: Path) -> float:
    """Variance of the 4-neighbour Laplacian over interior pixels, in plain Python."""
    with Image.open(path) as opened:
        gray = opened.convert("L")
    width, height = gray.size
    pixels = gray.load()
    assert pixels is not None
    values = []
    for y in range(1, height - 1):
        for x in range(1, width - 1):
            values.append(
                float(pixels[x - 1, y])
                + float(pixels[x + 1, y])
                + float(pixels[x, y - 1])
                + float(pixels[x, y + 1])
                - 4.0 * float(pixels[x, y])
            )
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / len(values)


def hamming(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


# The registry and the models' identity.


def test_the_default_registry_offers_each_model_once_with_json_safe_identity() -> None:
    models = default_registry().models()
    assert [(m.model_type, m.model_id) for m in models] == [
        ("IMAGE_PROPERTIES", "image-properties-v1"),
        ("IMAGE_QUALITY", "laplacian-quality-v1"),
        ("PERCEPTUAL_HASH", "phash-64-v1"),
        ("VIDEO_PROPERTIES", "video-properties-v1"),
    ]
    for model in models:
        assert model.name
        assert model.description
        assert set(model.media_kinds) <= {"image", "video"}


# IMAGE_PROPERTIES.


@pytest.mark.parametrize(
    ("fmt", "mode", "suffix"),
    [
        ("PNG", "RGB", ".png"),
        ("PNG", "RGBA", ".png"),
        ("PNG", "L", ".png"),
        ("JPEG", "RGB", ".jpg"),
        ("GIF", "P", ".gif"),
        ("PNG", "RGB", ".jpg"),  # mislabelled
    ],
)
def test_image_properties_report_the_real_format_size_mode_and_file_size(
    tmp_path: Path, fmt: str, mode: str, suffix: str
) -> None:
    path = tmp_path / f"picture{suffix}"
    Image.new(mode, (37, 21)).save(path, fmt)
    outputs = ImageProperties().run(path, {})
    assert outputs == {
        "format": fmt,
        "width": 37,
        "height": 21,
        "mode": mode,
        "file_size": path.stat().st_size,
        "captured_at": None,
    }
    json.dumps(outputs)


@pytest.mark.parametrize(
    ("tags", "exif_tags", "expected"),
    [
        ({}, {0x9003: "2023:04:05 06:07:08", 0x9011: "+02:00"}, "2023-04-05T04:07:08Z"),
        ({}, {0x9003: "2023:04:05 23:30:00", 0x9011: "-05:30"}, "2023-04-06T05:00:00Z"),
        ({}, {0x9003: "2023:04:05 06:07:08"}, "2023-04-05T06:07:08Z"),  # no offset: as UTC
        ({0x0132: "2020:01:02 03:04:05"}, {0x9003: "2023:04:05 06:07:08"}, "2023-04-05T06:07:08Z"),
        ({}, {0x9004: "2022:12:31 10:00:00", 0x9012: "+01:00"}, "2022-12-31T09:00:00Z"),
        ({0x0132: "2020:01:02 03:04:05"}, {}, "2020-01-02T03:04:05Z"),
        ({0x0132: "0000:00:00 00:00:00"}, {}, None),
        ({}, {0x9003: "not a date"}, None),
        ({}, {0x9003: "2023:04:05 06:07:08", 0x9011: "+99:99"}, "2023-04-05T06:07:08Z"),
    ],
)
def test_image_properties_read_the_exif_capture_time_as_utc(
    tmp_path: Path, tags: dict[int, str], exif_tags: dict[int, str], expected: str | None
) -> None:
    path = jpeg_with_exif(tmp_path / "exif.jpg", tags, exif_tags)
    assert ImageProperties().run(path, {})["captured_at"] == expected


# PERCEPTUAL_HASH.


def test_the_perceptual_hash_is_imagehash_phash_as_16_hex_digits(tmp_path: Path) -> None:
    path = photo(tmp_path / "p.png", seed=1, width=200, height=200)
    outputs = PerceptualHash().run(path, {})
    with Image.open(path) as opened:
        expected = str(imagehash.phash(opened))
    assert outputs == {"phash": expected}
    assert len(expected) == 16


def test_a_resized_or_recompressed_copy_hashes_close_and_a_different_image_far(
    tmp_path: Path,
) -> None:
    original = photo(tmp_path / "original.png", seed=3, width=400, height=400)
    with Image.open(original) as opened:
        opened.resize((150, 150), Image.Resampling.LANCZOS).save(tmp_path / "small.png")
        opened.save(tmp_path / "copy.jpg", quality=70)
    photo(tmp_path / "other.png", seed=4, width=400, height=400)
    model = PerceptualHash()
    hashes = {p.stem: model.run(p, {})["phash"] for p in tmp_path.iterdir()}
    assert hamming(hashes["original"], hashes["small"]) <= 2
    assert hamming(hashes["original"], hashes["copy"]) <= 2
    assert hamming(hashes["original"], hashes["other"]) > 12


def test_a_large_jpeg_decoded_at_reduced_scale_hashes_like_the_full_decode(
    tmp_path: Path,
) -> None:
    path = photo(tmp_path / "large.jpg", seed=5, width=2400, height=2400, fmt="JPEG", quality=90)
    with Image.open(path) as opened:
        full = str(imagehash.phash(opened))
    assert hamming(PerceptualHash().run(path, {})["phash"], full) <= 2


# IMAGE_QUALITY.


def test_blur_score_is_the_variance_of_the_laplacian_and_separates_sharp_from_blurred(
    tmp_path: Path,
) -> None:
    checkerboard().save(tmp_path / "sharp.png")
    checkerboard().filter(ImageFilter.GaussianBlur(3)).save(tmp_path / "blurred.png")
    model = ImageQuality()
    sharp = model.run(tmp_path / "sharp.png", {})
    blurred = model.run(tmp_path / "blurred.png", {})
    for name, outputs in (("sharp", sharp), ("blurred", blurred)):
        expected = laplacian_variance_by_loops(tmp_path / f"{name}.png")
        assert outputs["blur_score"] == pytest.approx(expected, abs=1e-3)
    assert sharp["blur_score"] >= 100 > blurred["blur_score"]
    assert (sharp["blurry"], blurred["blurry"]) == (False, True)


@pytest.mark.parametrize(
    ("gray", "too_dark", "too_bright"),
    [
        (0, True, False),
        (39, True, False),
        (40, False, False),
        (128, False, False),
        (215, False, False),
        (216, False, True),
        (255, False, True),
    ],
)
def test_brightness_is_the_mean_gray_level_with_dark_and_bright_flags(
    tmp_path: Path, gray: int, too_dark: bool, too_bright: bool
) -> None:
    path = image(tmp_path / "flat.png", 30, 20, (gray, gray, gray))
    outputs = ImageQuality().run(path, {})
    assert outputs == {
        "blur_score": 0.0,
        "brightness": float(gray),
        "blurry": True,
        "too_dark": too_dark,
        "too_bright": too_bright,
    }


def test_brightness_of_a_colour_image_uses_pillow_luma(tmp_path: Path) -> None:
    path = image(tmp_path / "red.png", 10, 10, (200, 30, 30))
    with Image.open(path) as opened:
        expected = float(np.asarray(opened.convert("L")).mean())
    assert ImageQuality().run(path, {})["brightness"] == pytest.approx(expected, abs=1e-3)


def test_a_large_image_is_measured_scaled_to_fit_1024_pixels(tmp_path: Path) -> None:
    path = tmp_path / "large.png"
    checkerboard(2048, square=64).save(path)
    scaled = checkerboard(2048, square=64)
    scaled.thumbnail((1024, 1024), Image.Resampling.BILINEAR)
    scaled.save(tmp_path / "scaled.png")
    outputs = ImageQuality().run(path, {})
    assert outputs["blur_score"] == pytest.approx(
        laplacian_variance_by_loops(tmp_path / "scaled.png"), rel=1e-6
    )


# VIDEO_PROPERTIES.


@pytest.mark.parametrize(
    ("suffix", "frames", "rate", "size"),
    [
        (".mp4", 3, 10, (32, 32)),
        (".mov", 10, 25, (48, 32)),
        (".mkv", 6, 5, (16, 64)),
    ],
)
def test_video_properties_match_how_the_video_was_made(
    tmp_path: Path, suffix: str, frames: int, rate: int, size: tuple[int, int]
) -> None:
    path = video(tmp_path / f"clip{suffix}", b"payload", frames=frames, rate=rate, size=size)
    outputs = VideoProperties().run(path, {})
    assert outputs == {
        "duration": pytest.approx(frames / rate, abs=1e-3),
        "width": size[0],
        "height": size[1],
        "fps": pytest.approx(rate),
        "codec": "mpeg4",
    }


# Bad files: every model refuses them as UnsupportedMedia, the one error the task reports.

IMAGE_MODELS: list[EnrichmentModel] = [ImageProperties(), PerceptualHash(), ImageQuality()]
DECODING_MODELS: list[EnrichmentModel] = [PerceptualHash(), ImageQuality()]


def truncated_jpeg(path: Path) -> Path:
    photo(path, seed=9, width=256, height=256, fmt="JPEG", quality=95)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


BAD_IMAGES: dict[str, Any] = {
    "text named .jpg": lambda p: (p / "notes.jpg").write_text("hello") and p / "notes.jpg",
    "empty file": lambda p: (p / "empty.png").write_bytes(b"") or p / "empty.png",
    "video named .png": lambda p: video(p / "clip.mp4").rename(p / "clip.png"),
    "header-only png": lambda p: (
        (p / "cut.png").write_bytes(image(p / "ok.png").read_bytes()[:30]) and p / "cut.png"
    ),
    "bomb over the decode limit": lambda p: png_bomb(p / "bomb.png", 9000, 8000),
    "bomb over pillow's limit": lambda p: png_bomb(p / "huge.png", 10_000, 10_000),
    "bomb over twice pillow's limit": lambda p: png_bomb(p / "giant.png", 20_000, 10_000),
    "missing file": lambda p: p / "gone.png",
}


@pytest.mark.parametrize("model", IMAGE_MODELS, ids=lambda m: m.model_type)
@pytest.mark.parametrize("make", BAD_IMAGES.values(), ids=BAD_IMAGES.keys())
def test_an_unreadable_image_is_unsupported_media_for_every_image_model(
    tmp_path: Path, model: EnrichmentModel, make: Any
) -> None:
    with pytest.raises(UnsupportedMedia):
        model.run(make(tmp_path), {})


def test_a_bomb_is_reported_as_one(tmp_path: Path) -> None:
    assert MAX_DECODE_PIXELS < 9000 * 8000
    bomb = png_bomb(tmp_path / "bomb.png", 9000, 8000)
    for model in IMAGE_MODELS:
        with pytest.raises(UnsupportedMedia, match="decompression bomb"):
            model.run(bomb, {})


@pytest.mark.parametrize("model", DECODING_MODELS, ids=lambda m: m.model_type)
def test_a_truncated_jpeg_is_unsupported_media_for_models_that_decode_it(
    tmp_path: Path, model: EnrichmentModel
) -> None:
    with pytest.raises(UnsupportedMedia, match="truncated"):
        model.run(truncated_jpeg(tmp_path / "cut.jpg"), {})


def test_image_properties_of_a_truncated_jpeg_come_from_its_intact_header(
    tmp_path: Path,
) -> None:
    outputs = ImageProperties().run(truncated_jpeg(tmp_path / "cut.jpg"), {})
    assert (outputs["format"], outputs["width"], outputs["height"]) == ("JPEG", 256, 256)


@pytest.mark.parametrize(
    "make",
    [
        lambda p: image(p / "still.mp4"),
        lambda p: image(p / "still.mov", fmt="JPEG"),
        lambda p: (
            (p / "junk.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not a video") and p / "junk.mp4"
        ),
        lambda p: (
            (p / "half.mp4").write_bytes(video(p / "whole.mp4").read_bytes()[:200])
            and p / "half.mp4"
        ),
        lambda p: p / "gone.mp4",
    ],
    ids=["png named .mp4", "jpeg named .mov", "junk", "truncated", "missing"],
)
def test_an_unreadable_or_mislabelled_video_is_unsupported_media(tmp_path: Path, make: Any) -> None:
    with pytest.raises(UnsupportedMedia):
        VideoProperties().run(make(tmp_path), {})
