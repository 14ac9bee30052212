"""Custom metadata import (CUSTOM_METADATA): rows of field values merged into items' metadata.

The task's params name a staged file (``file``, in ``format`` csv or json), the column that
identifies each row's item (``key``: ``media_id`` or ``file_name``) and the fields the import
declares (``schema``), which extend the dataset's schema. Every row is checked against the
merged schema; a row with any problem (unknown item, a file name shared by several items, a
value that does not fit its type, a field outside the schema) is rejected whole and reported,
and the good rows are applied together in one new tree. Later rows for the same item win
field by field. In a row, an empty CSV cell leaves the field as it is and a JSON ``null``
removes it; the other identifying column (``file_name`` when keyed by ``media_id`` and vice
versa) is ignored.
"""

from __future__ import annotations

from typing import Any

from application.operations.base import OperationFailed, Outcome, TaskContext
from application.operations.item_edits import ErrorSample, status_kept
from application.operations.metadata_rows import Row, RowReader, RowsUnreadable
from application.ports import Staging
from domain.content_tree import Record
from domain.errors import Invalid
from domain.metadata_schema import (
    RESERVED_NAMES,
    Schema,
    ValueRejected,
    check_value,
    merge_schemas,
    parse_schema,
)
from domain.tasks import CUSTOM_METADATA

KEYS = ("media_id", "file_name")


def check_columns(columns: list[str], key: str, schema: Schema) -> None:
    """A CSV header must name the key column, and otherwise only fields of the schema."""
    if key not in columns:
        raise Invalid(f"The CSV header has no {key!r} column to say which item each row is for.")
    unknown = [c for c in columns if c not in schema and c not in RESERVED_NAMES]
    if unknown:
        raise Invalid(
            f"The CSV column {unknown[0]!r} is not a field of the schema; declare "
            "it in the schema or remove the column."
        )


class MetadataImport:
    task_type = CUSTOM_METADATA

    def __init__(self, staging: Staging) -> None:
        self._staging = staging

    def run(self, context: TaskContext) -> Outcome:
        params = context.params
        key = str(params["key"])
        try:
            schema = merge_schemas(
                dict(context.facets.get("schema") or {}), parse_schema(params["schema"])
            )
        except Invalid as error:
            raise OperationFailed(error.detail) from None
        path = self._staging.folder(context.task_id) / str(params["file"])
        if not path.is_file():
            raise OperationFailed(
                "The uploaded metadata file is no longer staged; upload it again."
            )
        reader = RowReader(path, str(params["format"]))
        importing = _Import(context, key, schema)
        try:
            columns = reader.columns()
            if columns is not None:
                check_columns(columns, key, schema)
            for row in reader.rows():
                importing.apply(row)
                context.tick(
                    int(1000 * reader.fraction),
                    1000,
                    f"Read {row.number} rows of custom metadata.",
                    share=90,
                )
        except RowsUnreadable as error:
            raise OperationFailed(str(error)) from None
        except Invalid as error:
            raise OperationFailed(error.detail) from None
        root = context.tree.update(context.content_root, importing.changes)
        task_id = context.task_id
        return Outcome(
            root=root,
            status=status_kept(context),
            message=importing.message(),
            facets={"schema": schema},
            report=importing.report(),
            cleanup=[lambda: self._staging.remove(task_id)],
        )


class _Import:
    """Applies rows one by one to pending records; a row is applied whole or not at all."""

    def __init__(self, context: TaskContext, key: str, schema: Schema) -> None:
        self._context = context
        self._key = key
        self._schema = schema
        self._by_file_name: dict[str, list[str]] | None = None
        self.changes: dict[str, Record | None] = {}
        self.inserted = 0
        self.rejected = 0
        self.errors = ErrorSample()

    def apply(self, row: Row) -> None:
        if row.problem is not None:
            self._reject(row, [(None, row.problem)])
            return
        problems: list[tuple[str | None, str]] = []
        media_id = self._item(row.values.get(self._key), problems)
        updates: dict[str, Any] = {}
        for name, value in row.values.items():
            if name in RESERVED_NAMES:
                continue
            spec = self._schema.get(name)
            if spec is None:
                problems.append((name, "the field is not in the schema"))
            elif value is None and not row.text:
                updates[name] = None
            elif not (row.text and value == ""):
                try:
                    updates[name] = check_value(spec, value, text=row.text)
                except ValueRejected as error:
                    problems.append((name, str(error)))
        if problems or media_id is None:
            self._reject(row, problems)
            return
        record = (
            self.changes.get(media_id)
            or self._context.tree.get(self._context.content_root, media_id)
            or {}
        )
        metadata = {**record.get("metadata", {}), **updates}
        self.changes[media_id] = {
            **record,
            "metadata": {k: v for k, v in metadata.items() if v is not None},
        }
        self.inserted += 1

    def _item(self, value: object, problems: list[tuple[str | None, str]]) -> str | None:
        """The media id the row's key names, or None with the reason in ``problems``."""
        key = self._key
        if value is None or value == "":
            problems.append((key, f"the row has no {key}"))
            return None
        if not isinstance(value, str):
            problems.append((key, f"the {key} must be text"))
            return None
        if key == "media_id":
            if self._context.tree.get(self._context.content_root, value) is None:
                problems.append((key, f"no item of the dataset has media_id {value!r}"))
                return None
            return value
        found = self._file_names().get(value, [])
        if len(found) != 1:
            problems.append(
                (
                    key,
                    f"no item of the dataset has file_name {value!r}"
                    if not found
                    else f"{len(found)} items have file_name {value!r}; use media_id",
                )
            )
            return None
        return found[0]

    def _file_names(self) -> dict[str, list[str]]:
        if self._by_file_name is None:
            self._by_file_name = {}
            for media_id, record in self._context.tree.items(self._context.content_root):
                self._by_file_name.setdefault(str(record.get("file_name")), []).append(media_id)
        return self._by_file_name

    def _reject(self, row: Row, problems: list[tuple[str | None, str]]) -> None:
        self.rejected += 1
        for field, detail in problems:
            self.errors.add(row=row.number, field=field, detail=detail)

    def report(self) -> dict[str, Any]:
        return {
            "inserted_rows": self.inserted,
            "rejected_rows": self.rejected,
            "error_count": self.errors.count,
            "errors": self.errors.sample,
        }

    def message(self) -> str:
        text = f"Imported custom metadata from {self.inserted} rows."
        if self.rejected:
            text += (
                f" Rejected {self.rejected} rows ({self.errors.count} errors); see the "
                "task's report."
            )
        return text
