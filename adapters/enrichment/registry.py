"""The models this deployment offers: every process (API and workers) builds the same one."""

from __future__ import annotations

from adapters.enrichment.image_properties import ImageProperties
from adapters.enrichment.image_quality import ImageQuality
from adapters.enrichment.perceptual_hash import PerceptualHash
from adapters.enrichment.video_properties import VideoProperties
from application.operations.enrichment import ModelRegistry


def default_registry() -> ModelRegistry:
    return ModelRegistry([ImageProperties(), PerceptualHash(), ImageQuality(), VideoProperties()])
