"""A custom metadata import request made ready for its task: the body checked, the rows
staged as a file, and what can be checked cheaply now (schema, JSON syntax, CSV header)
refused with 4xx before a task starts. Row-level problems are left to the task's report.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from starlette.datastructures import FormData, UploadFile

from adapters.http.inputs import form_text
from adapters.http.models_annotations import ImportMetadata
from application.operations.metadata_import import check_columns
from application.operations.metadata_rows import (
    MAX_FILE_BYTES,
    RowsUnreadable,
    count_json_rows,
    csv_header,
)
from application.ports import Staging
from domain.errors import Invalid
from domain.metadata_schema import MAX_SCHEMA_BYTES, Schema

_FORM_FIELDS = {"schema", "key", "file"}
_TYPES = {"text/csv": "csv", "application/json": "json"}


def form_body(form: FormData) -> ImportMetadata:
    """The multipart form's ``schema`` (JSON text) and ``key``, checked like a JSON body."""
    unknown = sorted(set(form.keys()) - _FORM_FIELDS)
    if unknown:
        raise Invalid(f"Unknown form field {unknown[0]!r}; the fields are schema, key, file.")
    text = form_text(form, "schema", limit=2 * MAX_SCHEMA_BYTES)
    if text is None:
        raise Invalid(
            "The form field 'schema' is required: JSON text mapping field names to specs."
        )
    try:
        schema = json.loads(text)
    except (ValueError, RecursionError):
        raise Invalid("The form field 'schema' is not valid JSON.") from None
    return ImportMetadata.model_validate(
        {"schema": schema, "key": form_text(form, "key", limit=20), "rows": []}
    )


@contextmanager
def staged_rows(
    call_form: FormData | None, body: ImportMetadata, schema: Schema, staging: Staging, task_id: str
) -> Iterator[dict[str, Any]]:
    """Stage the rows for ``task_id`` and yield the task's params; the staged file is
    removed again if the block raises (the task did not start)."""
    folder = staging.folder(task_id)
    started = False
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if call_form is None:
            fmt = _write_body_rows(body, folder)
        else:
            fmt = _write_upload(call_form, folder)
        _check_staged(folder / f"rows.{fmt}", fmt, body.key, schema)
        yield {"file": f"rows.{fmt}", "format": fmt, "key": body.key, "schema": body.field_schema}
        started = True
    finally:
        if not started:
            staging.remove(task_id)


def _write_body_rows(body: ImportMetadata, folder: Path) -> str:
    if not body.rows:
        raise Invalid("Give at least one row in 'rows'.")
    (folder / "rows.json").write_text(json.dumps(body.rows), encoding="utf-8")
    return "json"


def _write_upload(form: FormData, folder: Path) -> str:
    files = form.getlist("file")
    if len(files) != 1 or not isinstance(files[0], UploadFile):
        raise Invalid("Upload exactly one .csv or .json file in the form field 'file'.")
    upload = files[0]
    name = (upload.filename or "").lower()
    fmt = (
        "csv"
        if name.endswith(".csv")
        else "json"
        if name.endswith(".json")
        else _TYPES.get((upload.content_type or "").split(";")[0].strip())
    )
    if fmt is None:
        raise Invalid("The uploaded file must be a .csv or a .json file.")
    if (upload.size or 0) > MAX_FILE_BYTES:
        raise Invalid(f"The uploaded file is larger than {MAX_FILE_BYTES} bytes.")
    with (folder / f"rows.{fmt}").open("wb") as target:
        upload.file.seek(0)
        shutil.copyfileobj(upload.file, target, 1 << 20)
    return fmt


def _check_staged(path: Path, fmt: str, key: str, schema: Schema) -> None:
    try:
        if fmt == "csv":
            check_columns(csv_header(path), key, schema)
        elif not count_json_rows(path):
            raise Invalid("The JSON file holds no rows.")
    except RowsUnreadable as error:
        raise Invalid(str(error)) from None
