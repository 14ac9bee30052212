"""The eventsourcing library's own recorder contract, run against every recorder we use.

The wheel ships its recorder test cases (``eventsourcing.tests.persistence``). Each class
here subclasses one of them so that ``create_recorder`` returns *our* recorder, built the way
the server builds it: ``adapters.backend.open_backend`` on a fresh SQLite data directory
(real files, WAL, synchronous=FULL, our pool sizes) or on a fresh PostgreSQL schema of the
test database (our pool sizes, pre-ping, ``snapset_*`` tables, one tracking table per view;
the schema is made in ``setUp`` and dropped in ``tearDown``, as ``tests/conftest.py``'s
``postgres_url`` does for pytest-style tests). Nothing is resized for the test: when a case
needs more connections than our settings give, that is a finding, not something to tune away.

What we use, and the case each gets (both backends each):

- the event log, ``Datasets.recorder`` (an ``ApplicationRecorder``):
  ``ApplicationRecorderTestCase`` (insert/select, notifications, concurrent writers and
  readers, throughput) and ``NonInterleavingNotificationIDsBaseCase`` (two racing saves
  never interleave their notification ids; 1,000 events each on both backends);
- the aggregate-snapshot store, ``Datasets.snapshots.recorder`` (an ``AggregateRecorder``;
  we keep the library's snapshots on, every 100 Dataset events): ``AggregateRecorderTestCase``;
- the five read-model views (``adapters/views``: snapshot_list, task_log, dataset_list,
  audit_history, media_index): each view's store records the view's position with the
  library's ``SQLiteTrackingRecorder``/``PostgresTrackingRecorder`` (``ViewStore.recorder``,
  a tracking table per view on PostgreSQL): ``TrackingRecorderTestCase`` (tracking
  uniqueness, no filling of gaps, ``max_tracking_id``/``has_tracking_id``, ``wait``);
- the infrastructure factory with our application's environment (the ``env`` our
  ``Datasets`` is built with, so our ``SQLITE_*``/``POSTGRES_*`` keys and ``CREATE_TABLE=n``):
  ``InfrastructureFactoryTestCase``.

Library cases that do not apply, and why (none is skipped at run time; they are simply not
subclassed):

- ``ProcessRecorderTestCase``: we have no process recorder. Nothing writes events together
  with a tracking position; the views write *rows* with their position (``ViewStore.transaction``)
  and their stores' recorders are only ``TrackingRecorder``s, so they have no
  ``insert_events``/``select_events`` to run it on. Its property for read models (rows and
  position commit together or not at all; a position already passed is refused) is tested on
  our views in ``tests/integration/test_projector.py``.
- ``ApplicationRecorderTestCase.optional_test_insert_subscribe``: ``optional_`` in the library
  because SQLite has no subscription; we use none on either backend (``adapters/projector.py``
  polls ``select_notifications``), so there is nothing of ours for it to check.
- ``eventsourcing.tests.projection`` (``EventCountersViewTestCase``, the ``ProjectionRunner``
  cases, ``EventSourcedProjectionTestCase``): they need a view with the library's
  event-counter interface and the library's ``ProjectionRunner`` (which needs a subscription);
  our views have their own query interface and are run by our ``Projector``.
- ``TranscoderTestCase``: we use the library's default transcoder unchanged; what matters to us
  (our stored events still decode) is covered by ``test_event_fixtures.py``.

The content-tree node store (``adapters/storage/nodes.py``) is ours, not a library recorder;
its contract is in ``tests/integration/test_node_store.py``.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import types
import uuid
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import psycopg
import pytest
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    ProcessRecorder,
    TrackingRecorder,
)
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresFactory,
    PostgresProcessRecorder,
    PostgresTrackingRecorder,
)
from eventsourcing.sqlite import (
    SQLiteAggregateRecorder,
    SQLiteApplicationRecorder,
    SQLiteFactory,
    SQLiteProcessRecorder,
    SQLiteTrackingRecorder,
)
from eventsourcing.tests import persistence as lib
from eventsourcing.utils import Environment

from adapters.backend import Backend, open_backend
from adapters.read_models import VIEW_NAMES
from adapters.settings import Settings
from tests.conftest import BASE_URL

pytestmark = pytest.mark.reliability


class LibraryClasses(NamedTuple):
    """The library's infrastructure classes for one persistence module."""

    factory: type[InfrastructureFactory[Any]]
    aggregate_recorder: type[AggregateRecorder]
    application_recorder: type[ApplicationRecorder]
    tracking_recorder: type[TrackingRecorder]
    process_recorder: type[ProcessRecorder]


class OnOurSQLite:
    """Our backend on SQLite: a fresh data directory per recorder, removed after the test."""

    # What the library's factory must build from our environment on this backend.
    library = LibraryClasses(
        SQLiteFactory,
        SQLiteAggregateRecorder,
        SQLiteApplicationRecorder,
        SQLiteTrackingRecorder,
        SQLiteProcessRecorder,
    )

    def setUp(self) -> None:
        self._prepare()
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        self._join_readers()
        try:
            super().tearDown()  # type: ignore[misc]
        finally:
            self._dispose()

    def _join_readers(self) -> None:
        # The library's concurrent cases tell their reader threads to stop but return
        # without joining them: closing a SQLite connection one of them still reads
        # through crashes the interpreter (a segfault, seen once in CI). Let them finish.
        for thread in set(threading.enumerate()) - self._threads_before:
            if not thread.daemon:  # daemons are pool workers, which close() stops
                thread.join(timeout=30)

    def _prepare(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="snapset-contract-"))
        self._backends: list[Backend] = []
        self._threads_before = set(threading.enumerate())

    def _dispose(self) -> None:
        for backend in self._backends:
            backend.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def settings(self) -> Settings:
        return Settings(data_dir=self._dir / f"data{len(self._backends)}")

    def backend(self) -> Backend:
        backend = open_backend(self.settings())
        self._backends.append(backend)
        return backend


class OnOurPostgres(OnOurSQLite):
    """Our backend on PostgreSQL: a fresh schema per recorder, dropped after the test."""

    # pytest gathers class marks along the MRO: every case bound to this backend is marked.
    pytestmark = pytest.mark.postgres
    library = LibraryClasses(
        PostgresFactory,
        PostgresAggregateRecorder,
        PostgresApplicationRecorder,
        PostgresTrackingRecorder,
        PostgresProcessRecorder,
    )

    def _prepare(self) -> None:
        self._schemas: list[str] = []
        super()._prepare()

    def _dispose(self) -> None:
        super()._dispose()
        with psycopg.connect(BASE_URL.split("?")[0], autocommit=True) as conn:
            for schema in self._schemas:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    def settings(self) -> Settings:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        self._schemas.append(schema)
        return Settings(
            data_dir=self._dir / f"data{len(self._backends)}",
            database_url=f"{BASE_URL}?schema={schema}",
        )


def on_both_backends(name: str, *case: type, **attributes: Any) -> None:
    """Define ``TestSQLite<name>`` and ``TestPostgres<name>`` in this module: ``case`` (what
    of ours the recorder is, then the library's test case) on each of our backends."""
    for prefix, backend in (("SQLite", OnOurSQLite), ("Postgres", OnOurPostgres)):
        bound = types.new_class(
            f"Test{prefix}{name}",
            (backend, *case),
            exec_body=lambda ns: ns.update(__module__=__name__, **attributes),
        )
        globals()[bound.__name__] = bound


class EventLog:
    def create_recorder(self) -> ApplicationRecorder:
        recorder = self.backend().app.recorder  # type: ignore[attr-defined]
        assert isinstance(recorder, ApplicationRecorder)
        return recorder


class SnapshotStore:
    def create_recorder(self) -> AggregateRecorder:
        snapshots = self.backend().app.snapshots  # type: ignore[attr-defined]
        assert snapshots is not None, "aggregate snapshots are switched on (DESIGN.md)"
        recorder = snapshots.recorder
        assert isinstance(recorder, AggregateRecorder)
        return recorder


class View:
    view_name: ClassVar[str]

    def create_recorder(self) -> TrackingRecorder:
        view = self.backend().views[self.view_name]  # type: ignore[attr-defined]
        recorder = view.store.recorder
        assert isinstance(recorder, TrackingRecorder)
        return recorder


class WithOurEnvironment:
    """The factory case constructs its factory from ``self.env`` in its ``setUp``: give it the
    environment our ``Datasets`` application was built with, and expect the classes of the
    backend it names."""

    library: ClassVar[LibraryClasses]

    def setUp(self) -> None:
        app_env = self.backend().app.env  # type: ignore[attr-defined]
        self.env = Environment(app_env.name, dict(app_env))
        super().setUp()  # type: ignore[misc]

    def expected_factory_class(self) -> type[InfrastructureFactory[Any]]:
        return self.library.factory

    def expected_aggregate_recorder_class(self) -> type[AggregateRecorder]:
        return self.library.aggregate_recorder

    def expected_application_recorder_class(self) -> type[ApplicationRecorder]:
        return self.library.application_recorder

    def expected_tracking_recorder_class(self) -> type[TrackingRecorder]:
        return self.library.tracking_recorder

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        tracking = self.library.tracking_recorder
        return type(f"Any{tracking.__name__}", (tracking,), {})

    def expected_process_recorder_class(self) -> type[ProcessRecorder]:
        return self.library.process_recorder


on_both_backends("EventLog", EventLog, lib.ApplicationRecorderTestCase)
on_both_backends(
    "EventLogNeverInterleavesTwoSaves",
    EventLog,
    lib.NonInterleavingNotificationIDsBaseCase,
    insert_num=1000,
)
on_both_backends("SnapshotStore", SnapshotStore, lib.AggregateRecorderTestCase)
for view_name in VIEW_NAMES:
    on_both_backends(
        f"{view_name.title().replace('_', '')}View",
        View,
        lib.TrackingRecorderTestCase,
        view_name=view_name,
    )
on_both_backends(
    "FactoryWithOurEnvironment", WithOurEnvironment, lib.InfrastructureFactoryTestCase[Any]
)
