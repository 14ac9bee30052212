"""Request and response bodies of version diffs, restore previews and exports."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from adapters.http.models import PageQuery, Strict
from application.version_diff import VersionDiff


class DiffQuery(PageQuery):
    against: str = Field(
        default="current",
        min_length=1,
        max_length=64,
        description="The version to compare with: a snapshot id or `current` "
        "(the dataset's current content).",
    )


class RestoreQuery(PageQuery):
    dry_run: bool = Field(
        default=False,
        description="Answer 200 with the changes the restore would make, "
        "and change nothing. `page`/`page_size` page them.",
    )


class ItemSummary(BaseModel):
    media_id: str
    kind: str | None
    file_name: str | None


class ChangedItem(ItemSummary):
    parts: list[str] = Field(
        description="What changed: any of file, metadata, tags, labels, "
        "enrichment, cluster (other record keys by name)."
    )


class DiffCounts(BaseModel):
    added: int
    removed: int
    changed: int


class FacetChange(BaseModel):
    before: Any = Field(description="The value in `against`.")
    after: Any = Field(description="The value in `snapshot_id`.")


class Diff(BaseModel):
    """What changes going FROM `against` TO `snapshot_id`: `added` items are in `snapshot_id`
    only, `removed` items in `against` only, `changed` items in both but different."""

    snapshot_id: str
    against: str
    counts: DiffCounts = Field(description="Counts over the whole diff, not just this page.")
    total: int = Field(description="added + removed + changed: how many items the pages hold.")
    added: list[ItemSummary]
    removed: list[ItemSummary]
    changed: list[ChangedItem]
    facets: dict[str, FacetChange] = Field(
        description="Dataset-level facets (clustered, models, schema) that differ."
    )
    page: int
    page_size: int


def diff_from(diff: VersionDiff) -> Diff:
    page = diff.page
    return Diff.model_validate(
        {
            "snapshot_id": diff.snapshot_id,
            "against": diff.against,
            "counts": page.counts,
            "total": page.total,
            "added": page.added,
            "removed": page.removed,
            "changed": page.changed,
            "facets": diff.facets,
            "page": page.page,
            "page_size": page.page_size,
        }
    )


class ExportQuery(Strict):
    snapshot_id: UUID | None = Field(
        default=None, description="Export this snapshot instead of the current content (extension)."
    )
    include_media: bool = Field(
        default=False,
        description="Also put each item's file in the archive, under media/<media_id><suffix>.",
    )


class ExportStarted(BaseModel):
    id: UUID = Field(description="The export task's id.")


class ExportStatusQuery(Strict):
    export_task_id: UUID


class ExportStatus(BaseModel):
    status: Literal["INITIALIZING", "RUNNING", "COMPLETED", "FAILED", "ABORTED"]
    download_uri: str | None = Field(description="Where to download the zip, once COMPLETED.")
    progress_percentage: int | None
    error_message: str | None
