"""The dataset list: each dataset's summary and who may see it."""

from __future__ import annotations

from typing import Any, Protocol

from projections.events import event_name, iso, new_content, status_after


class DatasetListWriter(Protocol):
    def add(self, row: dict[str, Any]) -> None: ...

    def grant(self, dataset_id: str, user_id: str, role: str) -> None: ...

    def set_status(self, dataset_id: str, status: str) -> None: ...

    def set_counts(self, dataset_id: str, n_images: int, n_videos: int) -> None: ...


class DatasetListProjection:
    name = "dataset_list"

    def process(self, event: Any, position: int, writer: DatasetListWriter) -> None:
        name = event_name(event)
        dataset_id = str(event.originator_id)
        if name == "Created":
            writer.add(
                {
                    "dataset_id": dataset_id,
                    "name": event.name,
                    "description": event.description,
                    "owner_id": event.owner_id,
                    "owner_email": event.owner_email,
                    "created_at": iso(event.at),
                    "source_type": event.source_type,
                    "source_dataset_id": None
                    if event.source_dataset_id is None
                    else str(event.source_dataset_id),
                }
            )
            writer.grant(dataset_id, event.owner_id, "owner")
        elif name == "Shared":
            writer.grant(dataset_id, event.user_id, event.role)
        content = new_content(event)
        if content is not None:
            writer.set_counts(dataset_id, content[1], content[2])
        status = status_after(event)
        if status is not None:
            writer.set_status(dataset_id, status)
