"""Every read model, one row each: its name, its view and how its projection is built.

The backend opens each row's view on a store of that name, the runtime runs each row's
projection into its view, and the command line offers the names. Adding a read model is
adding its view (``adapters/views``), its projection (``projections``) and one row here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from adapters.projector import Projection
from adapters.views.audit_history import AuditHistoryView
from adapters.views.dataset_list import DatasetListView
from adapters.views.media_index import MediaIndexView
from adapters.views.snapshot_list import SnapshotListView
from adapters.views.task_log import TaskLogView
from adapters.views.view import View
from application.datasets import Datasets
from projections.audit_history import AuditHistoryProjection
from projections.dataset_list import DatasetListProjection
from projections.media_index import MediaIndexProjection
from projections.snapshot_list import SnapshotListProjection
from projections.task_log import TaskLogProjection


@dataclass(frozen=True)
class ReadModel:
    name: str  # the view's tables and tracking go by it; so do the CLI and read-your-writes
    view: type[View]
    projection: Callable[[Datasets], Projection]


READ_MODELS = (
    ReadModel("snapshot_list", SnapshotListView, lambda app: SnapshotListProjection()),
    ReadModel("task_log", TaskLogView, lambda app: TaskLogProjection()),
    ReadModel("dataset_list", DatasetListView, lambda app: DatasetListProjection()),
    ReadModel("audit_history", AuditHistoryView, lambda app: AuditHistoryProjection()),
    ReadModel("media_index", MediaIndexView, lambda app: MediaIndexProjection(app.tree)),
)
VIEW_NAMES = tuple(model.name for model in READ_MODELS)
