"""Assembles a running snapset: backend, projections, worker, and which of them run here."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from adapters.backend import Backend, open_backend
from adapters.enrichment.registry import default_registry
from adapters.export_folder import ExportFolder
from adapters.media_probe import PillowProbe
from adapters.position_notices import PositionNotices
from adapters.positions import Positions
from adapters.projector import Projector
from adapters.projector_thread import ProjectorThread
from adapters.read_models import READ_MODELS
from adapters.settings import Settings
from adapters.signal import Signal
from adapters.staging import StagingFolder
from adapters.views.task_log import TaskLogView
from application.datasets import Datasets
from application.operations.base import Operation
from application.operations.enrichment import Enrichment
from application.operations.export import Export
from application.operations.ingest import Ingest, MediaAddition
from application.operations.label_propagation import LabelPropagation
from application.operations.metadata_import import MetadataImport
from application.operations.reindex import Reindex
from application.worker import Worker, WorkerObserver, WorkerThread

log = logging.getLogger(__name__)


class TaskLogQueue:
    """The workers' queue is the task log's open tasks."""

    def __init__(self, view: TaskLogView) -> None:
        self._view = view

    def claimable(self, limit: int) -> list[tuple[UUID, str]]:
        now = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
        return [(UUID(d), t) for d, t in self._view.claimable(now, limit)]


def operations_for(backend: Backend, staging: StagingFolder) -> dict[str, Operation]:
    settings = backend.settings
    blobs, probe = backend.blobs, PillowProbe()
    operations: list[Operation] = [
        Ingest(blobs, probe, staging, settings.import_root),
        MediaAddition(blobs, probe, staging, settings.import_root),
        Enrichment(blobs, default_registry()),
        Reindex(blobs, default_registry()),
        MetadataImport(staging),
        LabelPropagation(),
        Export(blobs, ExportFolder(settings.data_dir / "exports")),
    ]
    return {operation.task_type: operation for operation in operations}


@dataclass
class Runtime:
    backend: Backend
    staging: StagingFolder
    projectors: dict[str, Projector]
    worker: Worker
    saved: Signal
    _threads: list[Any] = field(default_factory=list)

    @property
    def app(self) -> Datasets:
        return self.backend.app

    @property
    def positions(self) -> Positions:
        return self.backend.positions

    @property
    def projected(self) -> Signal:
        return self.backend.projected

    def start(
        self, *, projections: bool, worker: bool, only: tuple[str, ...] = (), listen: bool = False
    ) -> None:
        """Start the projector and worker threads this process runs; with ``listen`` (a
        server), also hear other processes' projections (PostgreSQL)."""
        notices = (
            PositionNotices(
                self.backend.settings, self.backend.stores, self.positions, self.projected
            )
            if self.backend.settings.uses_postgres
            else None
        )
        if notices is not None and listen:
            self._threads.append(notices)
        if projections:
            chosen = [p for name, p in self.projectors.items() if not only or name in only]
            self._threads.append(
                ProjectorThread(
                    chosen,
                    self.saved,
                    self.projected,
                    positions=self.positions,
                    announce=notices.announce if notices is not None else None,
                )
            )
        if worker:
            self._threads.append(WorkerThread(self.worker, self.projected))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        for thread in reversed(self._threads):
            thread.stop()
        self._threads.clear()

    def close(self) -> None:
        self.stop()
        self.backend.close()

    def catch_up(self) -> None:
        """Bring every view up to date now (tests and tools; servers use the thread)."""
        for projector in self.projectors.values():
            projector.catch_up()


def build_runtime(
    settings: Settings,
    *,
    migrate: bool = True,
    limit_tasks: bool = False,
    observer: WorkerObserver | None = None,
) -> Runtime:
    """Everything one process runs (see ``open_backend`` for ``limit_tasks``); ``observer``
    watches its worker."""
    backend = open_backend(settings, migrate=migrate, limit_tasks=limit_tasks)
    staging = StagingFolder(settings.data_dir / "staging")
    projectors = {
        model.name: Projector(backend.app, model.projection(backend.app), backend.views[model.name])
        for model in READ_MODELS
    }
    saved = Signal()
    backend.app.on_saved = saved.pulse
    task_view = backend.views["task_log"]
    assert isinstance(task_view, TaskLogView)
    worker = Worker(
        backend.app,
        TaskLogQueue(task_view),
        operations_for(backend, staging),
        lease_seconds=settings.lease_seconds,
        observer=observer,
    )
    return Runtime(backend, staging, projectors, worker, saved)
