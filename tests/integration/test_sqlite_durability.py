"""SQLite stays in WAL mode with synchronous=FULL on every database the runtime opens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.runtime import Runtime, build_runtime
from adapters.settings import Settings

FULL = 2


@pytest.fixture
def sqlite_runtime(tmp_path: Path) -> Iterator[Runtime]:
    built = build_runtime(Settings(data_dir=tmp_path / "data"))
    yield built
    built.close()


def pragmas(datastore: Any, *, commit: bool) -> tuple[str, int]:
    with datastore.transaction(commit=commit) as cursor:
        cursor.execute("PRAGMA journal_mode")
        mode = str(cursor.fetchone()[0])
        cursor.execute("PRAGMA synchronous")
        return mode, int(cursor.fetchone()[0])


def datastores(runtime: Runtime) -> dict[str, Any]:
    backend = runtime.backend
    app: Any = backend.app
    stores = {"events": app.recorder.datastore, "nodes": backend.nodes._datastore}
    if app.snapshots is not None:
        stores["aggregate snapshots"] = app.snapshots.recorder.datastore
    stores.update({f"view {name}": view.store.datastore for name, view in backend.views.items()})
    return stores


def test_the_event_store_runs_in_wal_mode_with_full_synchronous_writes(
    sqlite_runtime: Runtime,
) -> None:
    store = sqlite_runtime.app.recorder.datastore

    assert pragmas(store, commit=True) == ("wal", FULL)
    assert pragmas(store, commit=False) == ("wal", FULL)


def test_every_sqlite_database_runs_in_wal_mode_with_full_synchronous_writes(
    sqlite_runtime: Runtime,
) -> None:
    found = {
        name: pragmas(store, commit=True) for name, store in datastores(sqlite_runtime).items()
    }

    assert found == dict.fromkeys(found, ("wal", FULL))
    assert len(found) == 8


def test_connections_opened_under_load_keep_full_synchronous_writes(
    sqlite_runtime: Runtime,
) -> None:
    store = sqlite_runtime.app.recorder.datastore
    held = [store.pool.get_connection(is_writer=False) for _ in range(6)]
    try:
        values = []
        for connection in held:
            with connection.transaction(commit=False) as cursor:
                cursor.execute("PRAGMA synchronous")
                values.append(int(cursor.fetchone()[0]))
    finally:
        for connection in held:
            store.pool.put_connection(connection)

    assert values == [FULL] * 6
