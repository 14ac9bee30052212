"""Each view on each backend: the view's SQL mixed with the backend's tracking recorder."""

from adapters.views.audit_history import AuditHistoryView
from adapters.views.dataset_list import DatasetListView
from adapters.views.media_index import MediaIndexView
from adapters.views.snapshot_list import SnapshotListView
from adapters.views.store import PostgresViewStore, SQLiteViewStore
from adapters.views.task_log import TaskLogView


class SQLiteSnapshotListView(SnapshotListView, SQLiteViewStore):
    pass


class PostgresSnapshotListView(SnapshotListView, PostgresViewStore):
    pass


class SQLiteTaskLogView(TaskLogView, SQLiteViewStore):
    pass


class PostgresTaskLogView(TaskLogView, PostgresViewStore):
    pass


class SQLiteDatasetListView(DatasetListView, SQLiteViewStore):
    pass


class PostgresDatasetListView(DatasetListView, PostgresViewStore):
    pass


class SQLiteAuditHistoryView(AuditHistoryView, SQLiteViewStore):
    pass


class PostgresAuditHistoryView(AuditHistoryView, PostgresViewStore):
    pass


class SQLiteMediaIndexView(MediaIndexView, SQLiteViewStore):
    pass


class PostgresMediaIndexView(MediaIndexView, PostgresViewStore):
    pass
