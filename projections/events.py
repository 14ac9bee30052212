"""Reading dataset events by their stable names, and what each does to the dataset's status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol


class Event(Protocol):
    originator_id: Any
    originator_version: int
    timestamp: datetime


def event_name(event: object) -> str:
    """The short, stable name of an event: the last part of its explicit topic."""
    topic = getattr(type(event), "TOPIC", type(event).__qualname__)
    return str(topic).rsplit(".", 1)[-1].rsplit(":", 1)[-1]


def is_dataset_event(event: object) -> bool:
    return str(getattr(type(event), "TOPIC", "")).startswith("snapset:Dataset.")


_FIXED_STATUS = {
    "Created": "DRAFT",
    "RestoreStarted": "READ ONLY",
    "CloneStarted": "INDEXING",
    "TaskRetried": "INDEXING",
    "OperationFailed": "ERROR",
    "RestoreFailed": "ERROR",
    "CloneFailed": "ERROR",
}
_STATUS_FROM_EVENT = (
    "OperationStarted",
    "OperationCompleted",
    "RestoreCompleted",
    "CloneCompleted",
    "TaskAborted",
)


def status_after(event: object) -> str | None:
    """The dataset's status after ``event``, or None when the event does not change it."""
    name = event_name(event)
    if name in _FIXED_STATUS:
        return _FIXED_STATUS[name]
    if name in _STATUS_FROM_EVENT:
        return str(getattr(event, "status"))  # noqa: B009 - the payload field, by name
    return None


def new_content(event: object) -> tuple[str, int, int] | None:
    """(root, n_images, n_videos) when ``event`` publishes new current content."""
    if event_name(event) in (
        "OperationCompleted",
        "RestoreCompleted",
        "CloneCompleted",
        "ContentEdited",
    ):
        e: Any = event
        return e.root, e.n_images, e.n_videos
    return None


def iso(moment: datetime) -> str:
    """UTC, ISO 8601 with microseconds and no zone suffix: sortable as text."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")
