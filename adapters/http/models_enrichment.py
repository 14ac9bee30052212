"""Request and response bodies of the enrichment and re-index endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

from adapters.http.models import Strict
from domain.clustering import DEFAULT_THRESHOLD, MAX_THRESHOLD


class EnrichmentModelInfo(BaseModel):
    type: str = Field(
        description="What the model computes, e.g. IMAGE_PROPERTIES; its outputs "
        "sit under this key of each item's `enrichment`."
    )
    model_id: str = Field(description="The implementation, e.g. image-properties-v1.")
    name: str
    description: str = Field(description="What it outputs, with units and thresholds.")
    media_kinds: list[str] = Field(description="The media kinds it applies to: image, video.")
    applied: bool = Field(
        description="Whether the dataset's current content was enriched "
        "with this model (type and id)."
    )


class ModelList(BaseModel):
    models: list[EnrichmentModelInfo]


class EnrichDataset(Strict):
    enrichment_models: dict[str, str] = Field(
        description='The models to run, by type: {"IMAGE_QUALITY": "laplacian-quality-v1"}. '
        "Items already enriched by the same model id are not run again."
    )


def _integral(value: Any) -> Any:
    """7.0 is the integer 7 in JSON (JSON Schema counts it as one); 7.5, "7" and true are not."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


class ReindexDataset(Strict):
    threshold: Annotated[int, BeforeValidator(_integral)] = Field(
        default=DEFAULT_THRESHOLD,
        ge=0,
        le=MAX_THRESHOLD,
        strict=True,
        description="Two images are near-duplicates when their 64-bit perceptual hashes "
        "differ in at most this many bits.",
    )
