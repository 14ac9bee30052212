"""Datasets: create (upload or import folder), read, list, share; media; audit history."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from starlette.datastructures import FormData
from starlette.responses import JSONResponse, Response

from adapters.http import models
from adapters.http.call import Call
from adapters.http.inputs import form_text, idempotent_id, import_folder, iso_time, staged
from adapters.http.presenters import dataset_detail, dataset_summary, history_entry
from adapters.http.registry import Registry
from adapters.http.services import uuid_param
from application.datasets import creation_task_id
from application.details import DatasetDetails
from domain.access import abilities
from domain.dataset import Dataset
from domain.errors import Invalid, NotFound
from domain.tasks import MEDIA_ADDITION

registry = Registry()
TAGS = ("datasets",)


@registry.add(
    "POST",
    "/api/v1/dataset",
    "Create a dataset from uploaded files or a folder.",
    body=models.CreateDataset,
    response=models.DatasetCreated,
    multipart=True,
    errors=(400, 403, 413, 429),
    tags=TAGS,
    extra={"form_fields": ["dataset_name", "description", "source_path", "snapshot_support"]},
)
def create_dataset(call: Call[models.CreateDataset | None, None]) -> Response:
    body = _creation_body(call)
    dataset_id = idempotent_id(call, "dataset") or uuid4()

    def create(source: dict[str, Any] | None) -> tuple[UUID, int]:
        return call.services.app.create_dataset(
            call.actor,
            body.dataset_name,
            body.description,
            snapshot_support=body.snapshot_support,
            source=source,
            dataset_id=dataset_id,
        )

    form = call.form if call.form is not None and call.form.getlist("files") else None
    if form is not None:
        task_id = str(creation_task_id(dataset_id))
        with staged(form, call.services.runtime.staging, task_id) as upload:
            created, position = create(upload)
    elif body.source_path is not None:
        folder = import_folder(call.services.settings.import_root, body.source_path)
        created, position = create({"source": "path", "path": str(folder)})
    else:
        created, position = create(None)
    return JSONResponse({"dataset_id": str(created)}, headers=call.services.settle(position))


def _creation_body(call: Call[models.CreateDataset | None, None]) -> models.CreateDataset:
    """The creation request, its name checked before anything is staged."""
    body = call.json_body() if call.form is None else _form_body(call.form)
    Dataset.checked_name(body.dataset_name)
    return body


def _form_body(form: FormData) -> models.CreateDataset:
    allowed = {"dataset_name", "description", "source_path", "snapshot_support", "files"}
    unknown = sorted(set(form.keys()) - allowed)
    if unknown:
        raise Invalid(f"Unknown form field {unknown[0]!r}.")
    fields: dict[str, Any] = {
        name: form_text(form, name, limit=4096)
        for name in ("dataset_name", "description", "source_path")
    }
    support = form_text(form, "snapshot_support")
    if support is not None:
        fields["snapshot_support"] = support.lower() in ("true", "1", "yes", "on")
    return models.CreateDataset.model_validate({k: v for k, v in fields.items() if v is not None})


@registry.add(
    "GET",
    "/api/v1/dataset/{dataset_id}",
    "Read a dataset's status and counts.",
    response=models.Dataset,
    errors=(404,),
    tags=TAGS,
)
def get_dataset(call: Call[None, None]) -> models.Dataset:
    dataset = call.services.app.get_dataset(call.actor, uuid_param(call, "dataset_id"))
    return dataset_detail(dataset, call.services.app.tree.counts(dataset.current["root"]).objects)


@registry.add(
    "GET",
    "/api/v1/dataset/{dataset_id}/access",
    "Extension: your role on the dataset and what it lets you do.",
    response=models.DatasetAccess,
    errors=(404,),
    tags=TAGS,
)
def get_access(call: Call[None, None]) -> models.DatasetAccess:
    dataset = call.services.app.get_dataset(call.actor, uuid_param(call, "dataset_id"))
    return models.DatasetAccess.model_validate({"role": dataset.role, **abilities(dataset.role)})


@registry.add(
    "GET",
    "/api/v1/datasets",
    "List the datasets you have a role on.",
    query=models.PageQuery,
    response=models.DatasetPage,
    tags=TAGS,
)
def list_datasets(call: Call[None, models.PageQuery]) -> models.DatasetPage:
    call.services.catch_up_for(call, "dataset_list")
    rows, total = call.services.view("dataset_list").page(
        None if call.actor.is_admin else call.actor.user_id, call.query.page, call.query.page_size
    )
    return models.DatasetPage(
        datasets=[dataset_summary(r) for r in rows],
        total=total,
        page=call.query.page,
        page_size=call.query.page_size,
    )


@registry.add(
    "POST",
    "/api/v1/dataset/{dataset_id}/share",
    "Give a user a role on the dataset (owners only).",
    body=models.Share,
    errors=(403, 404, 409),
    tags=TAGS,
    extra={"description": "409 when it would take the owner role from the dataset's creator."},
)
def share_dataset(call: Call[models.Share, None]) -> Response:
    position = call.services.app.share_dataset(
        call.actor, uuid_param(call, "dataset_id"), call.body.user_email, call.body.role
    )
    return JSONResponse(
        {"user_email": call.body.user_email, "role": call.body.role},
        headers=call.services.settle(position),
    )


@registry.add(
    "POST",
    "/api/v1/dataset/{dataset_id}/media",
    "Add media (uploaded files or an import folder), as a task.",
    body=models.AddMedia,
    response=models.TaskStarted,
    status=202,
    multipart=True,
    errors=(403, 404, 409, 413, 429),
    tags=TAGS,
    extra={"form_fields": ["source_path"]},
)
def add_media(call: Call[models.AddMedia | None, None]) -> Response:
    dataset_id = uuid_param(call, "dataset_id")
    call.services.app.get_dataset(call.actor, dataset_id)  # 404 before staging anything
    task_id = idempotent_id(call, f"media:{dataset_id}") or uuid4()

    def start(params: dict[str, Any]) -> tuple[UUID, int]:
        return call.services.app.start_operation(
            call.actor, dataset_id, MEDIA_ADDITION, params, task_id
        )

    if call.form is not None:
        with staged(call.form, call.services.runtime.staging, str(task_id)) as upload:
            started, position = start(upload)
    else:
        folder = import_folder(call.services.settings.import_root, call.json_body().source_path)
        started, position = start({"source": "path", "path": str(folder)})
    return call.services.task_started(started, dataset_id, position)


@registry.add(
    "PATCH",
    "/api/v1/dataset/{dataset_id}/media/{media_id}",
    "Set an item's tags, labels or metadata fields.",
    body=models.EditMedia,
    response=models.Media,
    errors=(403, 404, 409),
    tags=TAGS,
)
def edit_media(call: Call[models.EditMedia, None]) -> Response:
    dataset_id = uuid_param(call, "dataset_id")
    media_id = call.path["media_id"]
    if call.body.tags is None and call.body.labels is None and call.body.metadata is None:
        raise Invalid("Give at least one of tags, labels and metadata.")
    result: dict[str, Any] = {}

    def edit(dataset: DatasetDetails) -> dict[str, Any]:
        record = call.services.app.tree.get(dataset.current["root"], media_id)
        if record is None:
            raise NotFound(f"Media {media_id} is not in dataset {dataset_id}.")
        record = dict(record)
        if call.body.tags is not None:
            record["tags"] = sorted(set(call.body.tags))
        if call.body.labels is not None:
            record["labels"] = [label.model_dump() for label in call.body.labels]
        if call.body.metadata is not None:
            record["metadata"] = {**record.get("metadata", {}), **call.body.metadata}
        result.update(record)
        return {media_id: record}

    position = call.services.app.edit_items(
        call.actor, dataset_id, edit, f"edited media {media_id}"
    )
    return JSONResponse(
        models.Media.model_validate(result).model_dump(mode="json"),
        headers=call.services.settle(position),
    )


@registry.add(
    "GET",
    "/api/v1/dataset/{dataset_id}/history",
    "The dataset's audit history: who did what, when.",
    query=models.HistoryQuery,
    response=models.HistoryPage,
    errors=(404,),
    tags=TAGS,
)
def dataset_history(call: Call[None, models.HistoryQuery]) -> models.HistoryPage:
    dataset = call.services.app.get_dataset(call.actor, uuid_param(call, "dataset_id"))
    call.services.catch_up_for(call, "audit_history")
    rows, total = call.services.view("audit_history").page(
        str(dataset.id),
        actor=call.query.actor,
        event_type=call.query.event_type,
        since=iso_time(call.query.since, "since"),
        until=iso_time(call.query.until, "until"),
        page=call.query.page,
        page_size=call.query.page_size,
    )
    return models.HistoryPage(
        events=[history_entry(r) for r in rows],
        total=total,
        page=call.query.page,
        page_size=call.query.page_size,
    )
