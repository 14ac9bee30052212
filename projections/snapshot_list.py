"""The snapshot list: one row per checkpoint, as the snapshot endpoints show it."""

from __future__ import annotations

from typing import Any, Protocol

from projections.events import event_name, iso


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

    def process(self, event: Any, position: int, writer: SnapshotListWriter) -> None:
        name = event_name(event)
        dataset_id = str(event.originator_id)
        if name == "Created":
            writer.remember_dataset(dataset_id, event.name)
        elif name == "SnapshotCreated":
            self._add(
                writer,
                dataset_id,
                event.checkpoint_id,
                event.name,
                event.description,
                event.reason,
                event.created_by,
                event,
                event.n_images,
                event.n_videos,
            )
        elif name == "OperationCompleted" and event.checkpoint_id:
            self._add(
                writer,
                dataset_id,
                event.checkpoint_id,
                _default_name(writer.dataset_name(dataset_id), event.checkpoint_id),
                "",
                "creation",
                event.by,
                event,
                event.n_images,
                event.n_videos,
            )
        elif name == "CloneCompleted":
            self._add(
                writer,
                dataset_id,
                event.checkpoint_id,
                event.name,
                event.description,
                "clone",
                event.by,
                event,
                event.n_images,
                event.n_videos,
            )
        elif name == "SnapshotUpdated":
            writer.update(event.checkpoint_id, event.name, event.description)
        elif name == "SnapshotSoftDeleted":
            writer.mark_deleted(event.checkpoint_id)
        elif name == "RestoreStarted":
            writer.set_restoring(dataset_id, event.task["params"]["snapshot_id"])
        elif name == "RestoreCompleted":
            writer.set_restoring(dataset_id, None)
            writer.make_current(dataset_id, event.checkpoint_id)
        elif name in ("RestoreFailed", "TaskAborted"):
            writer.set_restoring(dataset_id, None)

    @staticmethod
    def _add(
        writer: SnapshotListWriter,
        dataset_id: str,
        snapshot_id: str,
        name: str,
        description: str,
        reason: str,
        created_by: str,
        event: Any,
        n_images: int,
        n_videos: int,
    ) -> None:
        writer.add(
            {
                "dataset_id": dataset_id,
                "snapshot_id": snapshot_id,
                "snapshot_name": name,
                "source_dataset_name": writer.dataset_name(dataset_id),
                "created_at": iso(event.at),
                "created_by": created_by,
                "n_images": n_images,
                "n_videos": n_videos,
                "description": description,
                "reason": reason,
                "root": event.root,
            }
        )
        writer.make_current(dataset_id, snapshot_id)


def _default_name(dataset_name: str, snapshot_id: str) -> str:
    return f"{dataset_name}_snapshot_{snapshot_id.replace('-', '')[:8]}"
