"""The composition root: the application, node store, blob folder and views on one backend."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import psycopg
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from adapters.aggregate_cache import BytesBoundedCache
from adapters.positions import Positions
from adapters.read_models import READ_MODELS
from adapters.settings import Settings
from adapters.signal import Signal
from adapters.storage.blobs import BlobFolder
from adapters.storage.nodes import PostgresNodeStore, SQLiteNodeStore
from adapters.storage.sqlite_durable import make_durable
from adapters.task_quota import OpenTasksQuota
from adapters.views.postgres_store import PostgresViewStore
from adapters.views.sqlite_store import SQLiteViewStore
from adapters.views.store import ViewStore
from adapters.views.task_log import TaskLogView
from adapters.views.view import View
from application.datasets import Datasets

_MIGRATION_LOCK = 0x5A4E5345  # the advisory lock that serialises table creation
# Recently used aggregates stay in memory (``BytesBoundedCache`` replaces the library's
# cache of so many entries); each load still reads the events stored since (fast-forward),
# so other processes' writes are seen, and callers get a deep copy.
_AGGREGATE_CACHE = {
    "AGGREGATE_CACHE_MAXSIZE": "2000",
    "AGGREGATE_CACHE_FASTFORWARD": "y",
    "DEEPCOPY_FROM_AGGREGATE_CACHE": "y",
}


@dataclass
class Backend:
    settings: Settings
    app: Datasets
    nodes: SQLiteNodeStore | PostgresNodeStore
    blobs: BlobFolder
    views: dict[str, View]
    positions: Positions  # read-your-writes: where the views are
    projected: Signal  # pulsed when a projector here moved a view
    _datastores: list[Any] = field(default_factory=list)

    def migrate(self) -> None:
        """Create every table that does not exist yet (safe from several processes)."""
        with self._migration_lock():
            self.app.recorder.create_table()  # type: ignore[attr-defined]
            if self.app.snapshots is not None:
                self.app.snapshots.recorder.create_table()  # type: ignore[attr-defined]
            self.nodes.create_table()
            for view in self.views.values():
                view.store.create_table()

    @contextlib.contextmanager
    def _migration_lock(self) -> Any:
        if not self.settings.uses_postgres:
            yield
            return
        pg = self.settings.postgres()
        with psycopg.connect(
            dbname=pg["dbname"],
            host=pg["host"],
            port=pg["port"],
            user=pg["user"],
            password=pg["password"],
            autocommit=True,
        ) as conn:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{pg["schema"]}"') if pg[
                "schema"
            ] != "public" else None
            conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))

    @property
    def stores(self) -> dict[str, ViewStore]:
        """Each view's store, by view name."""
        return {name: view.store for name, view in self.views.items()}

    def close(self) -> None:
        self.app.close()
        for datastore in self._datastores:
            datastore.close()


def open_backend(settings: Settings, *, migrate: bool = True, limit_tasks: bool = False) -> Backend:
    """The application, its stores and views on the configured database. With
    ``limit_tasks`` (a server) the application refuses a user more than
    ``settings.max_open_tasks`` unfinished tasks (``OpenTasksQuota``)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    blobs = BlobFolder(settings.data_dir / "blobs")
    opened = _postgres(settings) if settings.uses_postgres else _sqlite(settings)
    projected = Signal()
    positions = Positions({name: view.store for name, view in opened.views.items()}, projected)
    quota = None
    if limit_tasks:
        task_log = opened.views["task_log"]
        assert isinstance(task_log, TaskLogView)
        limit, wait = settings.max_open_tasks, settings.read_wait_seconds
        quota = OpenTasksQuota(task_log, limit, positions, wait)
    app = Datasets(nodes=opened.nodes, env=opened.env, quota=quota)
    app.repository.cache = BytesBoundedCache(settings.aggregate_cache_bytes)
    if not settings.uses_postgres:
        make_durable(app.factory.datastore)  # type: ignore[attr-defined]
    backend = Backend(
        settings, app, opened.nodes, blobs, opened.views, positions, projected, opened.datastores
    )
    if migrate:
        backend.migrate()
    return backend


@dataclass
class _Opened:
    """What a database gives before the application exists: its stores and views."""

    nodes: SQLiteNodeStore | PostgresNodeStore
    env: dict[str, str]  # the application's persistence settings
    views: dict[str, View]
    datastores: list[Any]


def _sqlite(settings: Settings) -> _Opened:
    data = settings.data_dir.resolve()
    (data / "views").mkdir(exist_ok=True)
    nodes_store = make_durable(
        SQLiteDatastore(str(data / "content.sqlite"), pool_size=4, max_overflow=16)
    )
    nodes = SQLiteNodeStore(nodes_store)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(data / "events.sqlite"),
        "CREATE_TABLE": "n",
        **_AGGREGATE_CACHE,
    }
    datastores: list[Any] = [nodes_store]
    views: dict[str, View] = {}
    for model in READ_MODELS:
        datastore = make_durable(
            SQLiteDatastore(
                str(data / "views" / f"{model.name}.sqlite"), pool_size=4, max_overflow=16
            )
        )
        datastores.append(datastore)
        views[model.name] = model.view(SQLiteViewStore(datastore, model.name, model.view.ddl))
    return _Opened(nodes, env, views, datastores)


def _postgres(settings: Settings) -> _Opened:
    pg = settings.postgres()
    datastore = PostgresDatastore(
        pg["dbname"],
        pg["host"],
        pg["port"],
        pg["user"],
        pg["password"],
        schema=pg["schema"],
        pool_size=4,
        max_overflow=12,
        pre_ping=True,
    )
    # Every query here is short. PostgreSQL's JIT starts compiling once a plan's estimated
    # cost passes jit_above_cost, and spent about 20 ms on each 50 ms explore query at 100k
    # items. Off for our connections, at connection start (the pool opens lazily).
    connect_with = datastore.pool.kwargs
    assert isinstance(connect_with, dict)  # the library passes a dict
    connect_with["options"] = "-c jit=off"
    nodes = PostgresNodeStore(datastore)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": pg["dbname"],
        "POSTGRES_HOST": pg["host"],
        "POSTGRES_PORT": pg["port"],
        "POSTGRES_USER": pg["user"],
        "POSTGRES_PASSWORD": pg["password"],
        "POSTGRES_SCHEMA": pg["schema"],
        "POSTGRES_POOL_SIZE": "4",
        "POSTGRES_MAX_OVERFLOW": "16",
        "POSTGRES_PRE_PING": "y",
        "CREATE_TABLE": "n",
        **_AGGREGATE_CACHE,
    }
    views: dict[str, View] = {
        model.name: model.view(PostgresViewStore(datastore, model.name, model.view.ddl))
        for model in READ_MODELS
    }
    return _Opened(nodes, env, views, [datastore])
