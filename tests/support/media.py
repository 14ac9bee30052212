"""Small real media files for tests: PNG/JPEG images made with Pillow, fake videos, zips."""

from __future__ import annotations

import zipfile
from pathlib import Path

from PIL import Image


def image(path: Path, width: int = 16, height: int = 12,
          color: tuple[int, int, int] = (200, 30, 30), fmt: str = "PNG") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (width, height), color).save(path, fmt)
    return path


def video(path: Path, payload: bytes = b"\x00\x00\x00\x18ftypmp42 not a real video") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
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
