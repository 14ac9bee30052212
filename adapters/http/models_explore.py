"""Query and response models of the explore endpoints (media listing, items, clusters)."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from adapters.http.models import Media, PageQuery, Strict
from projections.media_cursor import MAX_CURSOR


def _snapshot_id() -> Any:
    return Field(
        default=None,
        description="Read this snapshot instead of the current data (without restoring it).",
    )


class VersionQuery(Strict):
    snapshot_id: UUID | None = _snapshot_id()


class MediaQuery(PageQuery):
    """The fixed parameters. Keys ``meta.<field>``, ``meta.<field>.gte`` and
    ``meta.<field>.lte`` are allowed on top and checked by the endpoint, which answers 422
    for any other unknown key."""

    model_config = ConfigDict(extra="allow")

    snapshot_id: UUID | None = _snapshot_id()
    kind: Literal["image", "video"] | None = None
    tag: str | None = Field(
        default=None,
        max_length=4000,
        description="Comma-separated tags; an item must have all of them.",
    )
    label: str | None = Field(
        default=None, max_length=200, description="A label class name the item must have."
    )
    cluster_id: str | None = Field(default=None, max_length=200)
    q: str | None = Field(
        default=None, max_length=200, description="A substring of the file name (case-insensitive)."
    )
    sort_by: Literal["file_name", "size", "width", "height", "kind", "cluster_id", "media_id"] = (
        Field(
            default="file_name",
            description="Ties are broken by file name, then id; empty values sort last.",
        )
    )
    sort_order: Literal["asc", "desc"] = "asc"
    cursor: str | None = Field(
        default=None,
        max_length=MAX_CURSOR,
        description="Extension: continue after the page that gave this `next_cursor`, "
        "with the same sort; `page` then counts pages after it.",
    )


class ClusterQuery(PageQuery):
    snapshot_id: UUID | None = _snapshot_id()


class Cluster(BaseModel):
    cluster_id: str
    size: int = Field(description="How many items of the version are in the cluster.")
    sample_media: list[Media] = Field(description="Up to 4 of its items, by file name.")


class ClusterPage(BaseModel):
    clusters: list[Cluster]
    total: int = Field(description="How many clusters the version has.")
    page: int
    page_size: int
