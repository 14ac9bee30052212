"""The six snapshot endpoints of API.md, exactly (and their dry runs, an extension)."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from adapters.http import models
from adapters.http.call import Call
from adapters.http.inputs import idempotent_id
from adapters.http.models_exports import Diff, RestoreQuery, diff_from
from adapters.http.presenters import snapshot_from_details, snapshot_from_row
from adapters.http.registry import Registry
from adapters.http.services import uuid_param
from domain.checkpoints import check_edit
from domain.dataset_state import CURRENT

registry = Registry()
BASE = "/api/v1/dataset/{dataset_id}/snapshot"
TAGS = ("snapshots",)


@registry.add(
    "GET",
    BASE,
    "List the dataset's snapshots, newest first.",
    response=models.Snapshot,
    errors=(403, 404),
    tags=TAGS,
    extra={"array": True},
)
def list_snapshots(call: Call[None, None]) -> list[models.Snapshot]:
    dataset = call.services.app.get_dataset(
        call.actor, uuid_param(call, "dataset_id"), snapshots=True
    )
    call.services.catch_up_for(call, "snapshot_list")
    rows = call.services.view("snapshot_list").list(str(dataset.id))
    return [snapshot_from_row(r) for r in rows]


@registry.add(
    "POST",
    BASE,
    "Create a snapshot of the dataset as it is now.",
    body=models.CreateSnapshot,
    response=models.Snapshot,
    errors=(403, 404, 409),
    tags=TAGS,
)
def create_snapshot(call: Call[models.CreateSnapshot, None]) -> Response:
    dataset_id = uuid_param(call, "dataset_id")
    snapshot, position = call.services.app.create_snapshot(
        call.actor,
        dataset_id,
        call.body.name or "",
        call.body.description or "",
        idempotent_id(call, f"snapshot:{dataset_id}"),
    )
    return call.services.answer(snapshot_from_details(snapshot), position)


@registry.add(
    "PATCH",
    BASE + "/{snapshot_id}",
    "Rename or re-describe a snapshot.",
    body=models.EditSnapshot,
    response=models.Snapshot,
    errors=(403, 404),
    tags=TAGS,
)
def edit_snapshot(call: Call[models.EditSnapshot, None]) -> Response:
    dataset_id, snapshot_id = uuid_param(call, "dataset_id"), uuid_param(call, "snapshot_id")
    check_edit(call.body.name, call.body.description)  # the body's shape first, as API.md
    snapshot, position = call.services.app.update_snapshot(
        call.actor, dataset_id, snapshot_id, call.body.name, call.body.description
    )
    return call.services.answer(snapshot_from_details(snapshot), position)


@registry.add(
    "POST",
    BASE + "/{snapshot_id}/restore",
    "Restore the dataset to a snapshot (or `current`), as a task. With "
    "`dry_run=true`: 200 with the diff the restore would apply, changing nothing.",
    query=RestoreQuery,
    response=models.TaskStarted,
    status=202,
    errors=(403, 404, 409, 429),
    tags=TAGS,
    extra={
        "responses": {200: ("dry_run=true: the diff the restore would apply.", Diff)},
        "description": "With `dry_run=true` the answer is 200 with a `Diff` (as "
        "from `.../diff`) from `current` to the snapshot the restore would apply; "
        "the same rules apply (editor role, 404, 409 while busy).",
    },
)
def restore_snapshot(call: Call[None, RestoreQuery]) -> Response:
    dataset_id = uuid_param(call, "dataset_id")
    raw = call.path["snapshot_id"]
    snapshot = CURRENT if raw == CURRENT else str(uuid_param(call, "snapshot_id"))
    if call.query.dry_run:
        preview = call.services.app.preview_restore(
            call.actor, dataset_id, snapshot, call.query.page, call.query.page_size
        )
        return JSONResponse(diff_from(preview).model_dump(mode="json"))
    task_id, position = call.services.app.restore_snapshot(
        call.actor, dataset_id, snapshot, idempotent_id(call, f"restore:{dataset_id}")
    )
    return call.services.task_started(task_id, dataset_id, position)


@registry.add(
    "POST",
    BASE + "/{snapshot_id}/clone",
    "Clone a snapshot into a new, independent dataset, as a task. With `dry_run=true`: "
    "200 with what the clone would create, creating nothing.",
    query=models.CloneQuery,
    response=models.TaskStarted,
    status=202,
    errors=(403, 404, 409, 429),
    tags=TAGS,
    extra={
        "responses": {200: ("dry_run=true: what the clone would create.", models.ClonePreview)},
        "description": "With `dry_run=true` the answer is 200 with the new dataset's name and "
        "counts; the same rules apply (editor role, 404, 409).",
    },
)
def clone_snapshot(call: Call[None, models.CloneQuery]) -> Response:
    dataset_id, snapshot_id = uuid_param(call, "dataset_id"), uuid_param(call, "snapshot_id")
    if call.query.dry_run:
        preview = call.services.app.preview_clone(call.actor, dataset_id, snapshot_id)
        return JSONResponse(
            models.ClonePreview.model_validate(preview, from_attributes=True).model_dump(
                mode="json"
            )
        )
    task_id, clone_id, position = call.services.app.clone_snapshot(
        call.actor, dataset_id, snapshot_id, idempotent_id(call, f"clone:{dataset_id}")
    )
    return call.services.task_started(task_id, clone_id, position)


@registry.add(
    "DELETE",
    BASE + "/{snapshot_id}",
    "Remove a snapshot (soft delete).",
    errors=(403, 404, 409),
    tags=TAGS,
)
def delete_snapshot(call: Call[None, None]) -> Response:
    dataset_id, snapshot_id = uuid_param(call, "dataset_id"), uuid_param(call, "snapshot_id")
    position = call.services.app.delete_snapshot(call.actor, dataset_id, snapshot_id)
    return Response(status_code=200, headers=call.services.settle(position))
