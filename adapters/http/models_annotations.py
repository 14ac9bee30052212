"""Request and response bodies of custom metadata, label propagation, and batch tag and label
edits."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictFloat, StringConstraints, field_validator

from adapters.http.models import Strict
from domain.metadata_schema import FIELD_TYPES

MAX_BATCH_ITEMS = 10_000
MAX_PROPAGATION_SOURCES = 1_000  # their ids travel in the task's start event
MAX_BODY_ROWS = 100_000  # a JSON body is small anyway (the body limit); big files go multipart

_VISIBLE = r"[^\s\x00-\x1f\x7f]"
_TEXT = r"[^\x00-\x1f\x7f]"
Tag = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=100, pattern=rf"^{_VISIBLE}(?:{_TEXT}*{_VISIBLE})?$"
    ),
]
MediaId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ClassName = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=rf"^{_TEXT}+$")]

_SCHEMA_TEXT = (
    "Field name -> spec. A name is 1-64 letters, digits and '_' not starting with a digit "
    '(not media_id or file_name). A spec is {"type": T} (or just "T") with T one of '
    f'{", ".join(FIELD_TYPES)}; enum and multi_enum add "options": 1-256 distinct texts of '
    "1-100 characters. At most 100 fields. Fields merge into the dataset's schema: new "
    "fields are added, enum options grow, and a field may not change its type (422)."
)


class ImportMetadata(Strict):
    field_schema: dict[str, Any] = Field(alias="schema", description=_SCHEMA_TEXT)
    key: Literal["media_id", "file_name"] = Field(
        description="The row field that says which item a row is for."
    )
    rows: list[dict[str, Any]] = Field(
        max_length=MAX_BODY_ROWS,
        description="Objects mapping the key and field names to values. For larger imports "
        "upload a CSV or JSON file as multipart form data instead.",
    )


class MetadataSchema(BaseModel):
    dataset_id: str
    field_schema: dict[str, dict[str, Any]] = Field(
        alias="schema", description="Field name -> spec."
    )


class PropagateLabels(Strict):
    media_ids: list[MediaId] = Field(
        min_length=1,
        max_length=MAX_PROPAGATION_SOURCES,
        description="The source items whose labels to copy to the other members of their clusters.",
    )
    class_names: list[ClassName] | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="Copy only labels of these classes (default: every class).",
    )


class EditTags(Strict):
    media_ids: list[MediaId] = Field(min_length=1, max_length=MAX_BATCH_ITEMS)
    add: list[Tag] = Field(default=[], max_length=100, description="Tags to add.")
    remove: list[Tag] = Field(default=[], max_length=100, description="Tags to remove.")


class BoxLabel(Strict):
    class_name: ClassName
    bbox: list[StrictFloat] | None = Field(
        default=None,
        min_length=4,
        max_length=4,
        description="[x, y, width, height]: finite numbers, x, y >= 0, width, height > 0.",
    )
    source: str = Field(
        default="manual",
        min_length=1,
        max_length=100,
        description="Who made the label; `propagation` is kept for labels "
        "that label propagation copied.",
    )
    source_media_id: MediaId | None = Field(
        default=None, description="The item a propagated label was copied from."
    )

    @field_validator("bbox")
    @classmethod
    def _box(cls, bbox: list[float] | None) -> list[float] | None:
        if bbox is None:
            return None
        if not all(math.isfinite(v) for v in bbox):
            raise ValueError("the box coordinates must be finite numbers")
        x, y, width, height = bbox
        if x < 0 or y < 0:
            raise ValueError("the box's x and y must not be negative")
        if width <= 0 or height <= 0:
            raise ValueError("the box's width and height must be greater than 0")
        return bbox


class EditLabels(Strict):
    media_ids: list[MediaId] = Field(min_length=1, max_length=MAX_BATCH_ITEMS)
    labels: list[BoxLabel] = Field(max_length=1000)
    mode: Literal["set", "add", "remove"] = Field(
        default="add",
        description="set: the items' labels become exactly these; add: add those not present; "
        "remove: remove the labels that match one given (class_name, and bbox and "
        'source when given: `{"class_name": "cat"}` removes every cat label).',
    )


class ItemsUpdated(BaseModel):
    updated: int = Field(description="How many items changed.")
    media_ids: list[str] = Field(
        description="The items that changed (items the edit left as they were are not listed)."
    )
