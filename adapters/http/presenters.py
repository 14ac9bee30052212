"""The exact JSON shapes of API.md, built from aggregates and from read-model rows."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any
from uuid import UUID

from adapters.http import models
from application.details import DatasetDetails, SnapshotDetails
from domain.status import Status, task_status_name
from projections.timestamps import iso


def _zulu(text: str | None) -> str | None:
    return None if text is None else f"{text}Z"


def snapshot_from_details(snapshot: SnapshotDetails) -> models.Snapshot:
    return models.Snapshot(**{**asdict(snapshot), "created_at": iso(snapshot.created_at)})


def snapshot_from_row(row: dict[str, Any]) -> models.Snapshot:
    return models.Snapshot(
        snapshot_id=UUID(row["snapshot_id"]),
        snapshot_name=row["snapshot_name"],
        source_dataset_name=row["source_dataset_name"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        n_images=row["n_images"],
        n_videos=row["n_videos"],
        description=row["description"],
        reason=row["reason"],
        is_current=bool(row["is_current"]),
        is_restoring=bool(row["is_restoring"]),
    )


def task_from_row(row: dict[str, Any]) -> models.Task:
    return models.Task.model_validate(
        {
            "task_id": row["task_id"],
            "dataset_id": row["dataset_id"],
            "dataset_name": row["dataset_name"] or "",
            "dataset_status": task_status_name(Status(row["dataset_status"])),
            "created_by": row["created_by"],
            "task_type": row["task_type"],
            "status": row["status"],
            "status_message": row["status_message"] or "",
            "progress_percentage": row["progress"],
            "error_message": row["error_message"],
            "start_time": _zulu(row["start_time"]) or "",
            "end_time": _zulu(row["end_time"]),
        }
    )


def dataset_detail(dataset: DatasetDetails, n_objects: int) -> models.Dataset:
    return models.Dataset(
        id=dataset.id,
        display_name=dataset.name,
        description=dataset.description,
        source_type=dataset.source_type,
        owned_by=dataset.owner_email,
        created_at=iso(dataset.created_at),
        status=dataset.status,
        status_new=dataset.status,
        progress=dataset.progress,
        n_images=dataset.current["n_images"],
        n_videos=dataset.current["n_videos"],
        n_objects=n_objects,
        fatal_error_msg=dataset.fatal_error_msg,
        source_dataset_id=dataset.source_dataset_id,
        snapshot_support=dataset.snapshot_support,
    )


def dataset_summary(row: dict[str, Any]) -> models.DatasetSummary:
    return models.DatasetSummary(
        id=UUID(row["dataset_id"]),
        display_name=row["name"],
        description=row["description"],
        owned_by=row["owner_email"],
        created_at=row["created_at"],
        status=row["status"],
        n_images=row["n_images"],
        n_videos=row["n_videos"],
        source_dataset_id=UUID(row["source_dataset_id"]) if row["source_dataset_id"] else None,
    )


def history_entry(row: dict[str, Any]) -> models.HistoryEntry:
    return models.HistoryEntry(
        position=row["position"],
        event_type=row["event_type"],
        actor=row["actor"],
        at=row["at"],
        details=json.loads(row["details"]),
    )
