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

import heapq
import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import Any

from application.operations.base import OperationFailed, Outcome, TaskContext
from application.operations.item_edits import SAMPLE_ERRORS, status_kept
from application.operations.metadata_rows import Row, RowReader, RowsUnreadable
from application.operations.sorted_spill import SortedSpill
from application.ports import Staging
from domain.content_tree import Record, route_of
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
        with SortedSpill() as rows, SortedSpill() as resolved:
            importing = _Import(context, key, schema)
            try:
                columns = reader.columns()
                if columns is not None:
                    check_columns(columns, key, schema)
                for row in reader.rows():
                    importing.read(row, rows)
                    context.tick(
                        int(1000 * reader.fraction),
                        1000,
                        f"Read {row.number} rows of custom metadata.",
                        share=_READING,
                    )
            except RowsUnreadable as error:
                raise OperationFailed(str(error)) from None
            except Invalid as error:
                raise OperationFailed(error.detail) from None
            if key == "file_name":
                importing.resolve_file_names(rows, resolved)
            changes = importing.changes(resolved if key == "file_name" else rows)
            root = context.tree.update_stream(context.content_root, changes)
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
    """Reads rows, then applies them item by item in the tree's order.

    Reading checks each row's values against the schema and notes it in a sorted spill by
    the item it names (its media id's route in the tree, or its file name), so that memory
    stays bounded whatever the file's size. Applying reads each named item once, in the
    order of the tree (so its leaves are read once each), merges its rows' values in row
    order and hands the new records on as they come. A row is applied whole or rejected
    whole, with every problem found in it, whenever that is found.
    """

    def __init__(self, context: TaskContext, key: str, schema: Schema) -> None:
        self._context = context
        self._key = key
        self._schema = schema
        self.inserted = 0
        self.rejected = 0
        self.errors = _FirstErrors()

    def read(self, row: Row, rows: SortedSpill) -> None:
        if row.problem is not None:
            self._reject(row.number, [(None, row.problem)])
            return
        problems: list[tuple[str | None, str]] = []
        name = self._name(row.values.get(self._key), problems)
        updates: dict[str, Any] = {}
        for field, value in row.values.items():
            if field in RESERVED_NAMES:
                continue
            spec = self._schema.get(field)
            if spec is None:
                problems.append((field, "the field is not in the schema"))
            elif value is None and not row.text:
                updates[field] = None
            elif not (row.text and value == ""):
                try:
                    updates[field] = check_value(spec, value, text=row.text)
                except ValueRejected as error:
                    problems.append((field, str(error)))
        if name is None:
            self._reject(row.number, problems)
            return
        # Rows that fail here wait for the check of the item they name: its problem, if it
        # has one, comes first in their errors.
        entry = _Entry(row.number, name, updates, problems)
        sort_key = _route_key(name) if self._key == "media_id" else _sized(name)
        rows.add(sort_key + _ROW.pack(row.number), entry.encode())

    def _name(self, value: object, problems: list[tuple[str | None, str]]) -> str | None:
        """The media id or file name the row names, or None with the reason in ``problems``."""
        key = self._key
        if value is None or value == "":
            problems.append((key, f"the row has no {key}"))
            return None
        if not isinstance(value, str):
            problems.append((key, f"the {key} must be text"))
            return None
        return value

    def resolve_file_names(self, rows: SortedSpill, resolved: SortedSpill) -> None:
        """Re-note the rows of ``rows`` (by file name) by the media id of the one item each
        names, in ``resolved`` (by route); reject the others."""
        with SortedSpill() as names:
            for media_id, record in self._context.tree.items(self._context.content_root):
                names.add(_sized(str(record.get("file_name"))), media_id.encode())
            items = _by_name(iter(names))
            current: tuple[bytes, int, bytes] | None = next(items, None)
            for sort_key, value in rows:
                entry = _Entry.decode(value)
                file_name = sort_key[: -_ROW.size]
                while current is not None and current[0] < file_name:
                    current = next(items, None)
                found = current[1] if current is not None and current[0] == file_name else 0
                if found != 1:
                    self._reject(
                        entry.row,
                        [
                            (
                                "file_name",
                                f"no item of the dataset has file_name {entry.name!r}"
                                if not found
                                else f"{found} items have file_name {entry.name!r}; use media_id",
                            ),
                            *entry.problems,
                        ],
                    )
                    continue
                assert current is not None
                media_id = current[2].decode()
                resolved.add(
                    _route_key(media_id) + _ROW.pack(entry.row),
                    _Entry(entry.row, media_id, entry.updates, entry.problems).encode(),
                )

    def changes(self, rows: SortedSpill) -> Iterator[tuple[str, Record]]:
        """Each item's new record, in the tree's order, from ``rows`` (by route, then row)."""
        tree, root = self._context.tree, self._context.content_root
        total, done = max(rows.count, 1), 0
        media_id: str | None = None
        record: Record | None = None
        changed = False
        for _, value in rows:
            entry = _Entry.decode(value)
            done += 1
            if entry.name != media_id:
                if media_id is not None and record is not None and changed:
                    yield media_id, record
                media_id, changed = entry.name, False
                record = tree.get(root, media_id)
                self._context.tick(
                    done,
                    total,
                    f"Applied {done} of {rows.count} rows of custom metadata.",
                    share=100 - _READING,
                    start=_READING,
                )
            problems = entry.problems
            if record is None:
                problems = [("media_id", f"no item of the dataset has media_id {entry.name!r}")]
                problems += entry.problems
            if problems:
                self._reject(entry.row, problems)
                continue
            assert record is not None
            metadata = {**record.get("metadata", {}), **entry.updates}
            record = {**record, "metadata": {k: v for k, v in metadata.items() if v is not None}}
            changed = True
            self.inserted += 1
        if media_id is not None and record is not None and changed:
            yield media_id, record

    def _reject(self, row: int, problems: list[tuple[str | None, str]]) -> None:
        self.rejected += 1
        for field, detail in problems:
            self.errors.add(row, field, detail)

    def report(self) -> dict[str, Any]:
        return {
            "inserted_rows": self.inserted,
            "rejected_rows": self.rejected,
            "error_count": self.errors.count,
            "errors": self.errors.sample(),
        }

    def message(self) -> str:
        text = f"Imported custom metadata from {self.inserted} rows."
        if self.rejected:
            text += (
                f" Rejected {self.rejected} rows ({self.errors.count} errors); see the "
                "task's report."
            )
        return text


_READING = 60  # percent of the task's progress: reading the rows, then applying them
_ROW = struct.Struct(">Q")  # a row number in a sort key: rows of one item in file order


def _route_key(media_id: str) -> bytes:
    """A sort key that puts items in the tree's order, each item's rows together."""
    return route_of(media_id).encode() + _sized(media_id)


def _sized(text: str) -> bytes:
    """``text`` as a sort key that no row number after it can reorder: its length first."""
    data = text.encode()
    return _ROW.pack(len(data)) + data


@dataclass(frozen=True)
class _Entry:
    """A row as noted for applying: its number, what it names, its values and problems."""

    row: int
    name: str
    updates: dict[str, Any]
    problems: list[tuple[str | None, str]]

    def encode(self) -> bytes:
        return json.dumps([self.row, self.name, self.updates, self.problems]).encode()

    @classmethod
    def decode(cls, data: bytes) -> _Entry:
        row, name, updates, problems = json.loads(data)
        return cls(row, name, updates, [(field, detail) for field, detail in problems])


def _by_name(names: Iterator[tuple[bytes, bytes]]) -> Iterator[tuple[bytes, int, bytes]]:
    """Each file name once, from (name, media id) entries sorted by name: the name, how many
    items have it and the first one's media id."""
    for name, group in groupby(names, key=itemgetter(0)):
        ids = (media_id for _, media_id in group)
        first = next(ids)
        yield name, 1 + sum(1 for _ in ids), first


class _FirstErrors:
    """Counts every error and keeps the first ``SAMPLE_ERRORS`` by row (and order within a
    row), whatever order they are found in."""

    def __init__(self) -> None:
        self.count = 0
        # The kept errors as (-row, -count, field, detail): the heap's first is the last kept.
        self._kept: list[tuple[int, int, str | None, str]] = []

    def add(self, row: int, field: str | None, detail: str) -> None:
        self.count += 1
        entry = (-row, -self.count, field, detail)
        if len(self._kept) < SAMPLE_ERRORS:
            heapq.heappush(self._kept, entry)
        elif entry > self._kept[0]:
            heapq.heapreplace(self._kept, entry)

    def sample(self) -> list[dict[str, Any]]:
        return [
            {"row": -row, "field": field, "detail": detail}
            for row, _, field, detail in sorted(self._kept, reverse=True)
        ]
