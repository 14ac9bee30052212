"""The snapshot list: one row per checkpoint, as the snapshot endpoints show it."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any, Protocol

from domain.checkpoints import Checkpoint, Reason, new_checkpoint
from domain.dataset_events import (
    CloneCompleted,
    Created,
    DatasetEvent,
    OperationCompleted,
    RestoreCompleted,
    RestoreFailed,
    RestoreStarted,
    SnapshotCreated,
    SnapshotSoftDeleted,
    SnapshotUpdated,
    TaskAborted,
)
from projections.timestamps import iso


class SnapshotListWriter(Protocol):
    def remember_dataset(self, dataset_id: str, name: str) -> None: ...

    def dataset_name(self, dataset_id: str) -> str: ...

    def add(self, row: dict[str, Any]) -> None: ...

    def make_current(self, dataset_id: str, snapshot_id: str) -> None: ...

    def set_restoring(self, dataset_id: str, snapshot_id: str | None) -> None: ...

    def update(self, snapshot_id: str, name: str | None, description: str | None) -> None: ...

    def mark_deleted(self, snapshot_id: str) -> None: ...


class SnapshotListProjection:
    name = "snapshot_list"

    def process(self, event: DatasetEvent, position: int, writer: SnapshotListWriter) -> None:
        self._project(event, str(event.originator_id), writer)

    @singledispatchmethod
    def _project(self, event: DatasetEvent, dataset_id: str, writer: SnapshotListWriter) -> None:
        """An event that changes no snapshot."""

    @_project.register
    def _created(self, event: Created, dataset_id: str, writer: SnapshotListWriter) -> None:
        writer.remember_dataset(dataset_id, event.name)

    @_project.register
    def _snapshot(
        self, event: SnapshotCreated, dataset_id: str, writer: SnapshotListWriter
    ) -> None:
        _add(writer, dataset_id, event.checkpoint_id, event.checkpoint)

    @_project.register
    def _operation(
        self, event: OperationCompleted, dataset_id: str, writer: SnapshotListWriter
    ) -> None:
        if event.checkpoint_id:  # a creation task's checkpoint
            name = event.checkpoint_title(writer.dataset_name(dataset_id))
            record = new_checkpoint(name, "", Reason.CREATION, event.by, event.at, event.version)
            _add(writer, dataset_id, event.checkpoint_id, record)

    @_project.register
    def _clone(self, event: CloneCompleted, dataset_id: str, writer: SnapshotListWriter) -> None:
        _add(writer, dataset_id, event.checkpoint_id, event.checkpoint)

    @_project.register
    def _edit(self, event: SnapshotUpdated, dataset_id: str, writer: SnapshotListWriter) -> None:
        writer.update(event.checkpoint_id, event.name, event.description)

    @_project.register
    def _remove(
        self, event: SnapshotSoftDeleted, dataset_id: str, writer: SnapshotListWriter
    ) -> None:
        writer.mark_deleted(event.checkpoint_id)

    @_project.register
    def _restore(self, event: RestoreStarted, dataset_id: str, writer: SnapshotListWriter) -> None:
        writer.set_restoring(dataset_id, event.task["params"]["snapshot_id"])

    @_project.register
    def _restored(
        self, event: RestoreCompleted, dataset_id: str, writer: SnapshotListWriter
    ) -> None:
        writer.set_restoring(dataset_id, None)
        writer.make_current(dataset_id, event.checkpoint_id)

    @_project.register(RestoreFailed)
    @_project.register(TaskAborted)
    def _not_restored(
        self, event: DatasetEvent, dataset_id: str, writer: SnapshotListWriter
    ) -> None:
        writer.set_restoring(dataset_id, None)


def _add(writer: SnapshotListWriter, dataset_id: str, snapshot_id: str, record: Checkpoint) -> None:
    version = record["version"]
    writer.add(
        {
            "dataset_id": dataset_id,
            "snapshot_id": snapshot_id,
            "snapshot_name": record["name"],
            "source_dataset_name": writer.dataset_name(dataset_id),
            "created_at": iso(record["created_at"]),
            "created_by": record["created_by"],
            "n_images": version["n_images"],
            "n_videos": version["n_videos"],
            "description": record["description"],
            "reason": record["reason"],
            "root": version["root"],
        }
    )
    writer.make_current(dataset_id, snapshot_id)
