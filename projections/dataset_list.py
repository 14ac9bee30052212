"""The dataset list: each dataset's summary and who may see it."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any, Protocol

from domain.dataset_events import (
    ContentEdited,
    Created,
    DatasetEvent,
    Shared,
    StatusChanged,
    VersionPublished,
)
from projections.timestamps import iso


class DatasetListWriter(Protocol):
    def add(self, row: dict[str, Any]) -> None: ...

    def grant(self, dataset_id: str, user_id: str, role: str) -> None: ...

    def set_status(self, dataset_id: str, status: str) -> None: ...

    def set_counts(self, dataset_id: str, n_images: int, n_videos: int) -> None: ...


class DatasetListProjection:
    name = "dataset_list"

    def process(self, event: DatasetEvent, position: int, writer: DatasetListWriter) -> None:
        dataset_id = str(event.originator_id)
        self._project(event, dataset_id, writer)
        if isinstance(event, StatusChanged):
            writer.set_status(dataset_id, event.status)

    @singledispatchmethod
    def _project(self, event: DatasetEvent, dataset_id: str, writer: DatasetListWriter) -> None:
        """An event that changes no summary (a status change is noted for every event)."""

    @_project.register
    def _created(self, event: Created, dataset_id: str, writer: DatasetListWriter) -> None:
        source = event.source_dataset_id
        writer.add(
            {
                "dataset_id": dataset_id,
                "name": event.name,
                "description": event.description,
                "owner_id": event.owner_id,
                "owner_email": event.owner_email,
                "created_at": iso(event.at),
                "source_type": event.source_type,
                "source_dataset_id": None if source is None else str(source),
            }
        )
        writer.grant(dataset_id, event.owner_id, "owner")

    @_project.register
    def _shared(self, event: Shared, dataset_id: str, writer: DatasetListWriter) -> None:
        writer.grant(dataset_id, event.user_id, event.role)

    @_project.register
    def _published(
        self, event: VersionPublished, dataset_id: str, writer: DatasetListWriter
    ) -> None:
        version = event.published()
        writer.set_counts(dataset_id, version["n_images"], version["n_videos"])

    @_project.register
    def _edited(self, event: ContentEdited, dataset_id: str, writer: DatasetListWriter) -> None:
        writer.set_counts(dataset_id, event.n_images, event.n_videos)
