"""VIDEO_PROPERTIES: duration, frame size, frame rate and codec of a video, with PyAV.

Outputs: ``duration`` in seconds (the video stream's, else the container's; null when
neither says), ``width`` and ``height`` of the decoded frames, ``fps`` (the average frame
rate, else FFmpeg's guess; null when unknown) and ``codec`` (FFmpeg's decoder name, e.g.
"h264"). The first frame must decode, so a broken file is an item error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.media_probe import read_video
from domain.content_tree import Record


class VideoProperties:
    model_type = "VIDEO_PROPERTIES"
    model_id = "video-properties-v1"
    name = "Video properties"
    description = "Duration (seconds), width, height, frame rate and codec, read with FFmpeg."
    media_kinds = ("video",)

    def run(self, path: Path, record: Record) -> dict[str, Any]:
        facts = read_video(path)
        return {
            "duration": facts.duration,
            "width": facts.width,
            "height": facts.height,
            "fps": facts.fps,
            "codec": facts.codec,
        }
