"""Request and response bodies: validated here, and published as the OpenAPI schemas."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.checkpoints import MAX_DESCRIPTION, MAX_NAME, Reason


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Error(BaseModel):
    detail: str = Field(description="One human sentence naming the thing and why.")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Field-level problems (422 only)."
    )


class CreateDataset(Strict):
    dataset_name: str = Field(min_length=1, max_length=MAX_NAME)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    source_path: str | None = Field(
        default=None, max_length=4096, description="A folder inside the server's import root."
    )
    snapshot_support: bool = True


class DatasetCreated(BaseModel):
    dataset_id: UUID


class Dataset(BaseModel):
    id: UUID
    display_name: str
    description: str
    source_type: str
    owned_by: str
    created_at: str
    status: str
    status_new: str
    progress: int | None
    n_images: int
    n_videos: int
    n_objects: int
    fatal_error_msg: str | None
    source_dataset_id: UUID | None
    snapshot_support: bool


class DatasetAccess(BaseModel):
    """Extension: what the caller may do with a dataset, so a UI can disable what would fail."""

    role: Literal["owner", "editor", "viewer"]
    can_edit: bool
    can_share: bool


class DatasetSummary(BaseModel):
    id: UUID
    display_name: str
    description: str
    owned_by: str
    created_at: str
    status: str
    n_images: int
    n_videos: int
    source_dataset_id: UUID | None


class DatasetPage(BaseModel):
    datasets: list[DatasetSummary]
    total: int
    page: int
    page_size: int


class Share(Strict):
    user_email: str = Field(min_length=3, max_length=254)
    role: Literal["owner", "editor", "viewer"]


class CreateSnapshot(Strict):
    name: str | None = Field(default=None, max_length=MAX_NAME)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)


class EditSnapshot(Strict):
    name: str | None = Field(default=None, max_length=MAX_NAME)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)


class Snapshot(BaseModel):
    snapshot_id: UUID
    snapshot_name: str
    source_dataset_name: str
    created_at: str = Field(description="UTC, ISO 8601 with microseconds, no zone suffix.")
    created_by: str
    n_images: int
    n_videos: int
    description: str
    reason: Reason
    training_model_id: UUID | None = None
    training_model_name: str | None = None
    is_current: bool
    is_restoring: bool


class TaskStarted(BaseModel):
    task_id: UUID
    dataset_id: UUID


class ClonePreview(BaseModel):
    """What `POST .../clone?dry_run=true` answers: the dataset the clone would create."""

    dataset_name: str = Field(description="The new dataset's name: `{source name} (cloned)`.")
    snapshot_id: UUID
    n_images: int
    n_videos: int


class CloneQuery(Strict):
    dry_run: bool = Field(
        default=False,
        description="Answer 200 with what the clone would create, and create nothing.",
    )


class Task(BaseModel):
    task_id: UUID
    dataset_id: UUID
    dataset_name: str
    dataset_status: Literal["READY", "READ_ONLY", "PARTIAL_INDEX", "INDEXING", "DRAFT", "ERROR"]
    created_by: str
    task_type: str
    status: Literal["INITIALIZING", "RUNNING", "COMPLETED", "FAILED", "ABORTED"]
    status_message: str
    progress_percentage: int | None
    error_message: str | None
    start_time: str
    end_time: str | None


class TaskReport(BaseModel):
    task_id: UUID
    task_type: str
    status: Literal["INITIALIZING", "RUNNING", "COMPLETED", "FAILED", "ABORTED"]
    report: dict[str, Any] | None = Field(
        description="Null until the task completes; then what it did, e.g. counts and "
        "sample per-item errors with row numbers."
    )


class TaskPage(BaseModel):
    tasks: list[Task]
    total: int
    page: int
    page_size: int


class TaskFilters(BaseModel):
    dataset_names: list[str]
    dataset_ids: list[str]
    task_types: list[str]
    created_by: list[str]


class TaskQuery(Strict):
    dataset_id: UUID | None = None
    dataset_name: str | None = Field(default=None, max_length=200)
    task_type: (
        Literal[
            "DATASET_CREATION",
            "MEDIA_ADDITION",
            "REINDEX",
            "ENRICHMENT",
            "CUSTOM_METADATA",
            "LABEL_PROPAGATION",
            "SNAPSHOT_RESTORE",
            "SNAPSHOT_CLONE",
            "EXPORT",
        ]
        | None
    ) = None
    task_status: Literal["INITIALIZING", "RUNNING", "COMPLETED", "FAILED", "ABORTED"] | None = None
    created_by: str | None = Field(default=None, max_length=254)
    start_time_from: str | None = Field(default=None, max_length=40)
    start_time_to: str | None = Field(default=None, max_length=40)
    sort_by: Literal[
        "start_time", "status", "task_type", "dataset_name", "dataset_id", "created_by"
    ] = "start_time"
    sort_order: Literal["asc", "desc"] = "desc"
    page: int = Field(default=1, ge=1, le=1_000_000)
    page_size: int = Field(default=20, ge=5, le=50)


class PageQuery(Strict):
    page: int = Field(default=1, ge=1, le=1_000_000)
    page_size: int = Field(default=20, ge=1, le=100)


class HistoryQuery(PageQuery):
    actor: str | None = Field(default=None, max_length=254)
    event_type: str | None = Field(default=None, max_length=60)
    since: str | None = Field(default=None, max_length=40)
    until: str | None = Field(default=None, max_length=40)


class HistoryEntry(BaseModel):
    position: int
    event_type: str
    actor: str
    at: str
    details: dict[str, Any]


class HistoryPage(BaseModel):
    events: list[HistoryEntry]
    total: int
    page: int
    page_size: int


class Label(Strict):
    class_name: str = Field(min_length=1, max_length=200)
    bbox: list[float] | None = Field(default=None, min_length=4, max_length=4)
    source: str = Field(default="manual", max_length=200)


class EditMedia(Strict):
    tags: list[str] | None = Field(default=None, max_length=200)
    labels: list[Label] | None = Field(default=None, max_length=1000)
    metadata: dict[str, str | float | int | bool | None] | None = Field(
        default=None, max_length=200
    )


class Media(BaseModel):
    media_id: str
    kind: str
    file_name: str
    blob: str | None = None
    size: int | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = Field(default=None, description="Seconds (videos).")
    metadata: dict[str, Any] = {}
    tags: list[str] = []
    labels: list[dict[str, Any]] = []
    enrichment: dict[str, Any] = {}
    cluster_id: str | None = None


class MediaPage(BaseModel):
    media: list[Media]
    total: int = Field(
        description="How many items match: exact, unless `total_is_lower_bound` is true."
    )
    page: int
    page_size: int
    total_is_lower_bound: bool = Field(
        default=False,
        description="Extension: true when counting every match would cost more than a page, "
        "and `total` is how many were found within a bounded count (a lower bound).",
    )
    next_cursor: str | None = Field(
        default=None,
        description="Extension: pass as `cursor` for the next page (none after the last).",
    )


class AddMedia(Strict):
    source_path: str = Field(min_length=1, max_length=4096)


class Health(BaseModel):
    status: Literal["ok"]
    position: int
