"""Task types and statuses of the Task Manager API, and a task's state on its dataset."""

from datetime import datetime
from typing import Any, TypedDict

CREATION = "DATASET_CREATION"
MEDIA_ADDITION = "MEDIA_ADDITION"
REINDEX = "REINDEX"
ENRICHMENT = "ENRICHMENT"
CUSTOM_METADATA = "CUSTOM_METADATA"
LABEL_PROPAGATION = "LABEL_PROPAGATION"
RESTORE = "SNAPSHOT_RESTORE"
CLONE = "SNAPSHOT_CLONE"
EXPORT = "EXPORT"

TASK_TYPES = (
    CREATION,
    MEDIA_ADDITION,
    REINDEX,
    ENRICHMENT,
    CUSTOM_METADATA,
    LABEL_PROPAGATION,
    RESTORE,
    CLONE,
    EXPORT,
)
TASK_STATUSES = ("INITIALIZING", "RUNNING", "COMPLETED", "FAILED", "ABORTED")
FINAL_STATUSES = ("COMPLETED", "FAILED", "ABORTED")


class TaskState(TypedDict):
    task_id: str
    task_type: str
    created_by: str
    params: dict[str, Any]
    status: str
    status_before: str
    start_time: datetime
    claimed_by: str | None
    lease_until: datetime | None
    progress: int | None
