"""Checkpoints: the user-facing *snapshots* of a dataset, their records and their names.

"Snapshot" is the library's word for aggregate snapshots, so the user-facing concept is a
checkpoint in code. A checkpoint is a named, described ``Version`` with who took it, when and
why; removing one only marks it deleted.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TypedDict

from domain.errors import Invalid
from domain.version import Version

MAX_NAME = 200
MAX_DESCRIPTION = 2000


class Reason(StrEnum):
    """Why a checkpoint exists (API.md's ``reason``)."""

    CREATION = "creation"  # taken when the dataset's creation task published its content
    MANUAL = "manual"
    CLONE = "clone"  # the first checkpoint of a cloned dataset
    AUTO = "auto"  # taken before an operation or a restore replaced unsaved content


class Checkpoint(TypedDict):
    name: str
    description: str
    reason: str
    created_by: str
    created_at: datetime
    version: Version
    deleted: bool


def new_checkpoint(
    name: str, description: str, reason: Reason, by: str, at: datetime, version: Version
) -> Checkpoint:
    return {
        "name": name,
        "description": description,
        "reason": reason.value,
        "created_by": by,
        "created_at": at,
        "version": version,
        "deleted": False,
    }


def check_edit(name: str | None, description: str | None) -> None:
    """An edit must change something: a name, a description, or both."""
    if name is None and description is None:
        raise Invalid("Give at least one of name and description.")


def edited(record: Checkpoint, name: str | None, description: str | None) -> Checkpoint:
    """The record with the name and description given (None: unchanged)."""
    changed = record.copy()
    if name is not None:
        changed["name"] = name
    if description is not None:
        changed["description"] = description
    return changed


def default_name(dataset_name: str, checkpoint_id: str) -> str:
    """API.md's default: ``{dataset_name}_snapshot_{first 8 hex chars of snapshot_id}``."""
    return f"{dataset_name}_snapshot_{checkpoint_id.replace('-', '')[:8]}"


def creation_name(given: str, dataset_name: str, checkpoint_id: str) -> str:
    """A creation checkpoint's name: the one its event carries, or, for events stored before
    it was carried, the default (from the dataset's name, which could not change then)."""
    return given or default_name(dataset_name, checkpoint_id)


def checked_name(name: str, *, required: bool = False) -> str:
    return checked_text(name, "snapshot name", MAX_NAME, required=required)


def checked_description(description: str) -> str:
    return checked_text(description, "description", MAX_DESCRIPTION)


def checked_text(value: str, field: str, limit: int, *, required: bool = False) -> str:
    text = value.strip()
    if required and not text:
        raise Invalid(f"The {field} must not be empty.")
    if len(text) > limit:
        raise Invalid(f"The {field} is longer than {limit} characters.")
    return text
