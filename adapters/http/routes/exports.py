"""Reading versions out: the diff between two versions, and exports as zip archives.

A diff goes FROM `against` TO `snapshot_id` (either may be `current`, the dataset's content
now): `added` items are in `snapshot_id` only. Exports are tasks that run beside anything
else (a viewer may export: it is a read); `export_status` and the download read the task
log, and the archive comes from the exports folder.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from starlette.responses import FileResponse, JSONResponse, Response

from adapters.export_folder import DOWNLOAD_PATH, ExportFolder
from adapters.http import models_exports as m
from adapters.http.call import Call
from adapters.http.inputs import idempotent_id
from adapters.http.registry import Registry
from adapters.http.services import uuid_param
from domain.dataset_state import CURRENT
from domain.errors import Conflict, NotFound
from domain.tasks import EXPORT

registry = Registry()
TAGS = ("exports",)
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _version_param(name: str, raw: str) -> str:
    """`current` or a snapshot id; anything else names no snapshot (404)."""
    if raw == CURRENT:
        return CURRENT
    try:
        return str(UUID(raw))
    except ValueError:
        raise NotFound(f"No snapshot {raw!r} exists ({name}).") from None


@registry.add(
    "GET",
    "/api/v1/dataset/{dataset_id}/snapshot/{snapshot_id}/diff",
    "What changes going from `against` (default `current`) to `snapshot_id` "
    "(extension). Either may be `current`; pages count added, removed and changed "
    "items together.",
    query=m.DiffQuery,
    response=m.Diff,
    errors=(403, 404),
    tags=("snapshots",),
    extra={
        "description": "The diff goes FROM `against` TO `snapshot_id`: `added` "
        "items are in `snapshot_id` only, `removed` ones in `against` only. It "
        "costs time in proportion to the changes. Pages cut the stream of "
        "changes in a stable order (the content tree's) and list each page's "
        "items under their kind; `counts` and `total` cover the whole diff."
    },
)
def diff_versions(call: Call[None, m.DiffQuery]) -> m.Diff:
    diff = call.services.app.compare_versions(
        call.actor,
        uuid_param(call, "dataset_id"),
        _version_param("snapshot_id", call.path["snapshot_id"]),
        _version_param("against", call.query.against),
        call.query.page,
        call.query.page_size,
    )
    return m.diff_from(diff)


@registry.add(
    "GET",
    "/api/v1/dataset/{dataset_id}/export_context_async",
    "Start exporting the dataset (or one snapshot) as a zip archive, as a task.",
    query=m.ExportQuery,
    response=m.ExportStarted,
    errors=(404, 409, 429),
    tags=TAGS,
)
def start_export(call: Call[None, m.ExportQuery]) -> Response:
    dataset_id = uuid_param(call, "dataset_id")
    snapshot = None if call.query.snapshot_id is None else str(call.query.snapshot_id)
    task_id, position = call.services.app.start_export(
        call.actor,
        dataset_id,
        snapshot,
        call.query.include_media,
        idempotent_id(call, f"export:{dataset_id}"),
    )
    return JSONResponse({"id": str(task_id)}, headers=call.services.settle(position))


@registry.add(
    "GET",
    "/api/v1/dataset/{dataset_id}/export_status",
    "An export task's status, and its download URI once completed.",
    query=m.ExportStatusQuery,
    response=m.ExportStatus,
    errors=(404,),
    tags=TAGS,
)
def export_status(call: Call[None, m.ExportStatusQuery]) -> m.ExportStatus:
    dataset_id = uuid_param(call, "dataset_id")
    row = _export_row(call, dataset_id, str(call.query.export_task_id))
    done = row["status"] == "COMPLETED"
    return m.ExportStatus(
        status=row["status"],
        download_uri=DOWNLOAD_PATH.format(dataset_id=dataset_id, task_id=row["task_id"])
        if done
        else None,
        progress_percentage=row["progress"],
        error_message=row["error_message"],
    )


@registry.add(
    "GET",
    "/api/v1/dataset/{dataset_id}/export/{task_id}/download",
    "Download a completed export's zip archive (extension).",
    errors=(404, 409),
    tags=TAGS,
)
def download_export(call: Call[None, None]) -> Response:
    dataset_id = uuid_param(call, "dataset_id")
    task_id = str(uuid_param(call, "task_id"))
    row = _export_row(call, dataset_id, task_id)
    if row["status"] != "COMPLETED":
        raise Conflict(f"Export {task_id} is {row['status']}, not COMPLETED; nothing to download.")
    path = ExportFolder(call.services.settings.data_dir / "exports").path(task_id)
    if not path.is_file():
        raise NotFound(f"The archive of export {task_id} is no longer available.")
    name = _UNSAFE_NAME.sub("_", row["dataset_name"]).strip("._") or "dataset"
    return FileResponse(
        path, media_type="application/zip", filename=f"{name}-export-{task_id[:8]}.zip"
    )


def _export_row(call: Call[object, object], dataset_id: UUID, task_id: str) -> dict[str, Any]:
    """The export task ``task_id`` of this dataset, as the caller may see it; else 404."""
    call.services.app.get_dataset(call.actor, dataset_id)
    call.services.catch_up_for(call, "task_log")
    row: dict[str, Any] | None = call.services.view("task_log").get(
        None if call.actor.is_admin else call.actor.user_id, task_id
    )
    if row is None or row["dataset_id"] != str(dataset_id) or row["task_type"] != EXPORT:
        raise NotFound(f"No export task {task_id} exists on dataset {dataset_id}.")
    return row
