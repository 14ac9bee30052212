"""Annotations: custom metadata import and schema, label propagation, batch tag and label edits.

Imports and propagation are tasks (202). Batch edits are synchronous and all-or-nothing: one
unknown media id refuses the whole request (404), and the changes they make are published
together as one content edit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

from starlette.responses import JSONResponse, Response

from adapters.http import models
from adapters.http.call import Call
from adapters.http.inputs import idempotent_id
from adapters.http.metadata_upload import form_body, staged_rows
from adapters.http.models_annotations import (
    BoxLabel,
    EditLabels,
    EditTags,
    ImportMetadata,
    ItemsUpdated,
    MetadataSchema,
    PropagateLabels,
)
from adapters.http.registry import Registry
from adapters.http.services import uuid_param
from application.details import DatasetDetails
from application.operations.label_propagation import label_identity
from domain.access import Role
from domain.errors import Invalid, NotFound
from domain.metadata_schema import merge_schemas, parse_schema
from domain.tasks import CUSTOM_METADATA, LABEL_PROPAGATION

registry = Registry()
TAGS = ("annotations",)
MAX_TAGS_PER_ITEM = 1000
MAX_LABELS_PER_ITEM = 1000

Record = dict[str, Any]

_PROPAGATE_TEXT = """\
409 until the dataset has clusters (re-index it first). Each source's own labels (not those
it got by propagation) are copied to the other members of its cluster with `"source":
"propagation"` and `"source_media_id"`; a copy already present is not added again, so
repeating a propagation changes nothing. Unknown sources and sources without a cluster are
listed in the task's report: `propagated_labels`, `items_changed`, `error_count`, `errors`."""

_IMPORT_TEXT = """\
Either a JSON body `{"schema": {...}, "key": "media_id"|"file_name", "rows": [{...}]}`, or
multipart form data with the fields `schema` (JSON text), `key` and one `file` (a `.csv` with
a header row, or a `.json` array of row objects; UTF-8, at most 256 MiB and 1,000,000 rows).

Refused up front (422): a bad schema, a field whose type differs from the dataset's schema,
unreadable JSON, a CSV header without the key column or with a column outside the schema.
Everything else is checked row by row: a row with an unknown item, a file name shared by
several items, a field outside the schema or a value that does not fit its type (`"1.5"`
for a float in JSON, `"12abc"`, `"maybe"` for an enum, a datetime without a zone) is
rejected whole, never coerced, and listed in `GET /api/v1/tasks/{task_id}/report` as
`{"row", "field", "detail"}`; rows count data rows from 1 (a CSV header is not a row). The
good rows are applied together. The report holds `inserted_rows`, `rejected_rows`,
`error_count` and the first 20 `errors`.

Values: CSV cells are text, read per type (`float` from a decimal literal, `multi_enum` as
options separated by `;`); an empty cell leaves a field unchanged, a JSON `null` removes it.
Datetimes are stored in UTC as `YYYY-MM-DDTHH:MM:SS.ffffffZ`."""


@registry.add(
    "POST",
    "/api/v1/dataset/{dataset_id}/custom_metadata",
    "Import custom metadata fields for items (JSON rows, or a CSV/JSON file), as a "
    "task whose report lists rejected rows.",
    body=ImportMetadata,
    response=models.TaskStarted,
    status=202,
    multipart=True,
    errors=(403, 404, 409, 413, 429),
    tags=TAGS,
    extra={"form_fields": ["schema", "key"], "file_field": "file", "description": _IMPORT_TEXT},
)
def import_custom_metadata(call: Call[ImportMetadata | None, None]) -> Response:
    dataset_id = uuid_param(call, "dataset_id")
    dataset = _writable(call, dataset_id)
    body = call.json_body() if call.form is None else form_body(call.form)
    applied = dataset.current["facets"].get("schema") or {}
    schema = merge_schemas(applied, parse_schema(body.field_schema))
    task_id = idempotent_id(call, f"custom_metadata:{dataset_id}") or uuid4()
    staging = call.services.runtime.staging
    with staged_rows(call.form, body, schema, staging, str(task_id)) as params:
        started, position = call.services.app.start_operation(
            call.actor, dataset_id, CUSTOM_METADATA, params, task_id
        )
    return call.services.task_started(started, dataset_id, position)


@registry.add(
    "GET",
    "/api/v1/dataset/{dataset_id}/custom_metadata/schema",
    "The dataset's custom metadata fields and their types.",
    response=MetadataSchema,
    errors=(404,),
    tags=TAGS,
)
def get_custom_metadata_schema(call: Call[None, None]) -> Response:
    dataset = call.services.app.get_dataset(call.actor, uuid_param(call, "dataset_id"))
    schema = MetadataSchema.model_validate(
        {"dataset_id": str(dataset.id), "schema": dataset.current["facets"].get("schema") or {}}
    )
    return JSONResponse(schema.model_dump(mode="json", by_alias=True))


@registry.add(
    "POST",
    "/api/v1/dataset/{dataset_id}/propagate_labels",
    "Copy the labels of source items to the other members of their clusters, as a task.",
    body=PropagateLabels,
    response=models.TaskStarted,
    status=202,
    errors=(403, 404, 409, 429),
    tags=TAGS,
    extra={"description": _PROPAGATE_TEXT},
)
def propagate_labels(call: Call[PropagateLabels, None]) -> Response:
    dataset_id = uuid_param(call, "dataset_id")
    _writable(call, dataset_id)
    params = {
        "media_ids": list(dict.fromkeys(call.body.media_ids)),
        "class_names": sorted(set(call.body.class_names)) if call.body.class_names else None,
    }
    return call.services.start_operation(
        call, dataset_id, LABEL_PROPAGATION, params, key="propagation"
    )


@registry.add(
    "POST",
    "/api/v1/dataset/{dataset_id}/media/tags",
    "Add and remove tags on many items at once (all or nothing).",
    body=EditTags,
    response=ItemsUpdated,
    errors=(403, 404, 409),
    tags=TAGS,
)
def edit_tags(call: Call[EditTags, None]) -> Response:
    add, remove = set(call.body.add), set(call.body.remove)
    if not add and not remove:
        raise Invalid("Give tags to add or to remove.")
    both = sorted(add & remove)
    if both:
        raise Invalid(f"The tag {both[0]!r} is both added and removed.")

    def change(media_id: str, record: Record) -> Record:
        tags = sorted((set(record.get("tags", [])) | add) - remove)
        if len(tags) > MAX_TAGS_PER_ITEM:
            raise Invalid(
                f"Media {media_id} would have {len(tags)} tags; at most "
                f"{MAX_TAGS_PER_ITEM} are allowed."
            )
        return {**record, "tags": tags}

    return _edit_each(call, call.body.media_ids, change, "edited tags")


@registry.add(
    "POST",
    "/api/v1/dataset/{dataset_id}/media/labels",
    "Set, add or remove labels on many items at once (all or nothing).",
    body=EditLabels,
    response=ItemsUpdated,
    errors=(403, 404, 409),
    tags=TAGS,
)
def edit_labels(call: Call[EditLabels, None]) -> Response:
    if call.body.mode != "set" and not call.body.labels:
        raise Invalid(f"Give at least one label to {call.body.mode}.")
    given = list({label_identity(_stored(b)): _stored(b) for b in call.body.labels}.values())

    def change(media_id: str, record: Record) -> Record:
        current = list(record.get("labels", []))
        if call.body.mode == "set":
            labels = given
        elif call.body.mode == "add":
            present = {label_identity(label) for label in current}
            labels = current + [g for g in given if label_identity(g) not in present]
        else:
            labels = [c for c in current if not any(_matches(p, c) for p in call.body.labels)]
        if len(labels) > MAX_LABELS_PER_ITEM:
            raise Invalid(
                f"Media {media_id} would have {len(labels)} labels; at most "
                f"{MAX_LABELS_PER_ITEM} are allowed."
            )
        return {**record, "labels": labels}

    return _edit_each(call, call.body.media_ids, change, f"{call.body.mode} labels")


def _writable(call: Call[object, object], dataset_id: UUID) -> DatasetDetails:
    """The dataset, if the caller may change it: 404 for a stranger, 403 for a viewer."""
    return call.services.app.get_dataset(call.actor, dataset_id, need=Role.EDITOR)


def _edit_each(
    call: Call[object, object],
    media_ids: list[str],
    change: Callable[[str, Record], Record],
    summary: str,
) -> Response:
    """Apply ``change`` to each item in one content edit; 404 (nothing applied) if any item
    is not in the dataset."""
    dataset_id = uuid_param(call, "dataset_id")
    wanted = list(dict.fromkeys(media_ids))
    changed: list[str] = []

    def edit(dataset: DatasetDetails) -> dict[str, Any]:
        changed.clear()  # a conflicting save decides again on the reloaded dataset
        changes: dict[str, Any] = {}
        for media_id in wanted:
            record = call.services.app.tree.get(dataset.current["root"], media_id)
            if record is None:
                raise NotFound(
                    f"Media {media_id!r} is not in dataset {dataset_id}; nothing was changed."
                )
            new = change(media_id, record)
            if new != record:
                changes[media_id] = new
                changed.append(media_id)
        return changes

    position = call.services.app.edit_items(
        call.actor, dataset_id, edit, f"{summary} of {len(wanted)} media"
    )
    result = ItemsUpdated(updated=len(changed), media_ids=changed)
    return JSONResponse(result.model_dump(mode="json"), headers=call.services.settle(position))


def _stored(label: BoxLabel) -> Record:
    return {
        "class_name": label.class_name,
        "bbox": label.bbox,
        "source": label.source,
        "source_media_id": label.source_media_id,
    }


def _matches(pattern: BoxLabel, label: Record) -> bool:
    """Whether ``label`` is one ``pattern`` removes: the same class, and the same box, source
    and source item where the pattern gives them."""
    given = pattern.model_fields_set
    bbox = label.get("bbox")
    return (
        label.get("class_name") == pattern.class_name
        and (
            "bbox" not in given
            or (None if bbox is None else [float(v) for v in bbox]) == pattern.bbox
        )
        and ("source" not in given or label.get("source") == pattern.source)
        and (
            "source_media_id" not in given
            or label.get("source_media_id") == pattern.source_media_id
        )
    )
