"""Small real media files for tests: PNG/JPEG images made with Pillow, tiny MPEG-4 videos
made with PyAV, zips, and decompression-bomb PNGs."""

from __future__ import annotations

import hashlib
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image


def image(
    path: Path,
    width: int = 16,
    height: int = 12,
    color: tuple[int, int, int] = (200, 30, 30),
    fmt: str = "PNG",
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (width, height), color).save(path, fmt)
    return path


def photo(
    path: Path, seed: int, width: int = 96, height: int = 96, fmt: str = "PNG", **save: Any
) -> Path:
    """A smooth random picture (6x6 random colours blown up), like a photo to a perceptual
    hash: different seeds give far-apart hashes, a resized copy a near one."""
    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8))
    path.parent.mkdir(parents=True, exist_ok=True)
    small.resize((width, height), Image.Resampling.BICUBIC).save(path, fmt, **save)
    return path


def video(
    path: Path,
    payload: bytes = b"video",
    *,
    frames: int = 3,
    rate: int = 10,
    size: tuple[int, int] = (32, 32),
) -> Path:
    """A real MPEG-4 video (mpeg4 codec, in the container the suffix names) of ``frames``
    flat frames at ``rate`` fps; their colours come from sha256(payload), so different
    payloads give different files and the same payload the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(payload).digest()
    width, height = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for number in range(frames):
            colour = digest[3 * number % 30 : 3 * number % 30 + 3]
            pixels = np.full((height, width, 3), list(colour), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def png_bomb(path: Path, width: int, height: int) -> Path:
    """A valid all-black grayscale PNG of width x height pixels that compresses ~1000:1:
    a decompression bomb, written row by row without holding the pixels in memory."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    compressor = zlib.compressobj(9)
    row = bytes(width + 1)  # filter byte 0, then the row's pixels
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", data)
        + chunk(b"IEND", b"")
    )
    return path


def folder_of_media(root: Path, images: int = 4, videos: int = 1) -> Path:
    for i in range(images):
        image(root / f"img{i:03d}.png", 10 + i, 10 + 2 * i, (i * 40 % 256, 90, 120))
    for i in range(videos):
        video(root / f"clip{i:03d}.mp4", b"video-%d" % i)
    return root


def zip_of(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path
