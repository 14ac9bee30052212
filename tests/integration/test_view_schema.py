"""A view whose DDL changed rebuilds itself: its store drops the old tables, whatever their
names, resets the view's position, and the projector replays it from event 0 into the new
tables. A view whose DDL did not change keeps its rows and its position."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteDatastore

from adapters.backend import open_backend
from adapters.runtime import Runtime, build_runtime
from adapters.settings import Settings
from adapters.views.media_index import MediaIndexView
from adapters.views.postgres_store import PostgresViewStore
from adapters.views.sqlite_store import SQLiteViewStore
from adapters.views.store import ViewStore
from tests.conftest import BASE_URL, register
from tests.integration.helpers import dump, dump_all, edit, ingested, settle, tag_first

REBUILD = "will rebuild from event 0"
THINGS = [
    "CREATE TABLE IF NOT EXISTS {t}things (id TEXT PRIMARY KEY, name TEXT)",
    "CREATE INDEX IF NOT EXISTS {i}things_by_name ON {t}things (name)",
]
# The same view a release later: a column added, an index renamed, two tables gone (one of
# them an FTS5 table with shadow tables on SQLite).
THINGS_OLD = [
    *THINGS,
    "CREATE TABLE IF NOT EXISTS {t}legacy (x TEXT)",
    "sqlite: CREATE VIRTUAL TABLE IF NOT EXISTS {t}words USING fts5(word, content='')",
    "postgres: CREATE TABLE IF NOT EXISTS {t}words (word TEXT)",
]
THINGS_NEW = [
    "CREATE TABLE IF NOT EXISTS {t}things (id TEXT PRIMARY KEY, name TEXT, note TEXT)",
    "CREATE INDEX IF NOT EXISTS {i}things_by_name_and_id ON {t}things (name, id)",
]

Probes = Callable[..., ViewStore]


@pytest.fixture
def probes(runtime: Runtime) -> Iterator[Probes]:
    """Stores of a view named ``probe`` on the runtime's backend, one per call, as processes
    of successive releases would open it (on SQLite, each on its own datastore)."""
    opened: list[SQLiteDatastore] = []
    model = runtime.backend.views["audit_history"].store

    def probe(ddl: Sequence[str], name: str = "probe") -> ViewStore:
        if isinstance(model, PostgresViewStore):
            return PostgresViewStore(model.datastore, name, ddl)
        path = runtime.backend.settings.data_dir / "views" / f"{name}.sqlite"
        opened.append(SQLiteDatastore(str(path)))
        return SQLiteViewStore(opened[-1], name, ddl)

    yield probe
    for datastore in opened:
        datastore.close()


def objects(store: ViewStore) -> set[str]:
    """The names of the view's tables and indexes, as the database's catalogue has them."""
    with store.reading() as sql:
        if isinstance(store, PostgresViewStore):
            rows = sql.all(
                "SELECT c.relname AS name FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = ? AND c.relkind IN ('r', 'i') AND c.relname LIKE ?",
                (store.datastore.schema, f"snapset\\_{store.name}\\_%"),
            )
            return {row["name"].removeprefix(f"snapset_{store.name}_") for row in rows}
        rows = sql.all("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")
        return {row["name"] for row in rows if not row["name"].startswith("sqlite_")}


def recorded(store: ViewStore) -> Any:
    with store.reading() as sql:
        return sql.value("SELECT fingerprint FROM {t}schema_fingerprint")


def things(store: ViewStore) -> list[dict[str, Any]]:
    with store.reading() as sql:
        return sql.all("SELECT id, name FROM {t}things ORDER BY id")


def write_things(store: ViewStore, position: int) -> None:
    with store.transaction(Tracking(store.application_name, position)) as sql:
        sql.run("INSERT INTO {t}things (id, name) VALUES (?, ?)", ("a", "alpha"))


def rebuilds(caplog: pytest.LogCaptureFixture, name: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if REBUILD in r.getMessage() and r.getMessage().startswith(f"view {name} ")
    ]


def test_a_fresh_store_records_its_fingerprint_and_keeps_its_rows_on_the_next_start(
    probes: Probes, caplog: pytest.LogCaptureFixture
) -> None:
    store = probes(THINGS)
    store.create_table()
    assert recorded(store) == store.fingerprint()
    write_things(store, 7)

    again = probes(THINGS)
    again.create_table()

    assert things(again) == [{"id": "a", "name": "alpha"}]
    assert again.position() == 7
    assert recorded(again) == store.fingerprint()
    assert rebuilds(caplog, "probe") == []


def test_a_changed_ddl_drops_every_old_table_and_index_and_resets_the_position(
    probes: Probes, caplog: pytest.LogCaptureFixture
) -> None:
    old = probes(THINGS_OLD)
    old.create_table()
    write_things(old, 7)
    with old.transaction(Tracking(old.application_name, 8)) as sql:
        sql.run("INSERT INTO {t}legacy (x) VALUES (?)", ("kept?",))
        sql.run("INSERT INTO {t}words (word) VALUES (?)", ("kept?",))
    assert {"legacy", "words", "things_by_name"} <= objects(old)

    new = probes(THINGS_NEW)
    new.create_table()

    left = objects(new)
    assert not {name for name in left if name.startswith(("legacy", "words"))}
    assert "things_by_name" not in left
    assert {"things", "things_by_name_and_id", "schema_fingerprint"} <= left
    assert things(new) == []
    assert new.position() == 0
    assert recorded(new) == new.fingerprint() != old.fingerprint()
    [line] = rebuilds(caplog, "probe")
    assert "its DDL changed" in line
    assert "legacy" in line


def test_tables_from_before_fingerprints_are_dropped_and_rebuilt(
    probes: Probes, caplog: pytest.LogCaptureFixture
) -> None:
    store = probes(THINGS)
    store.create_table()
    write_things(store, 7)
    with store._open(commit=True) as cursor:  # as a release before fingerprints left it
        store._sql(cursor).run("DROP TABLE {t}schema_fingerprint")

    again = probes(THINGS)
    again.create_table()

    assert things(again) == []
    assert again.position() == 0
    assert recorded(again) == again.fingerprint()
    [line] = rebuilds(caplog, "probe")
    assert "no DDL fingerprint recorded" in line


def test_the_fingerprint_is_of_the_ddl_not_of_where_its_tables_are(probes: Probes) -> None:
    store = probes(THINGS)
    elsewhere = probes(THINGS, "another_name")
    other_backend = "postgres" if store.dialect == "sqlite" else "sqlite"

    assert elsewhere.fingerprint() == store.fingerprint()
    assert probes([*THINGS, f"{other_backend}: CREATE TABLE {{t}}x (y TEXT)"]).fingerprint() == (
        store.fingerprint()
    )
    assert probes([*THINGS, "CREATE TABLE {t}x (y TEXT)"]).fingerprint() != store.fingerprint()


def history(runtime: Runtime) -> None:
    alice = register(runtime, "alice@example.com")
    dataset_id = ingested(runtime, alice, "alpha")
    runtime.app.create_snapshot(alice, dataset_id, "first")
    edit(runtime, alice, dataset_id, tag_first("edited"))
    settle(runtime)


def positions(runtime: Runtime) -> dict[str, int]:
    return {name: store.position() for name, store in runtime.backend.stores.items()}


def test_a_view_whose_ddl_changed_rebuilds_to_the_same_rows_through_its_projector(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    released = MediaIndexView.ddl
    index = "CREATE INDEX IF NOT EXISTS {i}items_by_kind_%s ON {t}items (kind)"
    legacy = "CREATE TABLE IF NOT EXISTS {t}legacy (x TEXT)"
    monkeypatch.setattr(MediaIndexView, "ddl", [*released, legacy, index % "old"])
    first = build_runtime(settings)
    history(first)
    live, before = dump_all(first), positions(first)
    first.close()
    assert before["media_index"] == max(before.values()) > 0
    assert live["media_index"].pop("legacy") == []  # a table of the old DDL only

    monkeypatch.setattr(MediaIndexView, "ddl", [*released, index % "new"])  # renamed
    second = build_runtime(settings)
    try:
        view = second.backend.views["media_index"]
        left = objects(view.store)
        assert "legacy" not in left
        assert "items_by_kind_old" not in left
        assert "items_by_kind_new" in left
        assert view.store.position() == 0
        assert not any(dump(view).values())
        assert {n: p for n, p in positions(second).items() if n != "media_index"} == {
            n: p for n, p in before.items() if n != "media_index"
        }
        assert len(rebuilds(caplog, "media_index")) == 1

        second.start(projections=True, worker=False)
        assert second.positions.wait(before["media_index"], 30, ("media_index",))
        second.stop()

        assert dump_all(second) == live
        assert positions(second) == before
    finally:
        second.close()


def test_an_unchanged_ddl_keeps_every_view_its_rows_and_its_position(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    first = build_runtime(settings)
    history(first)
    live, before = dump_all(first), positions(first)
    first.close()

    second = build_runtime(settings)  # a restart, on the same release
    try:
        assert positions(second) == before
        assert dump_all(second) == live
        assert not [r for r in caplog.records if REBUILD in r.getMessage()]
    finally:
        second.close()


def waiting_for_lock(store: PostgresViewStore, count: int, timeout: float) -> bool:
    """Whether ``count`` sessions come to wait for ``store``'s view lock before ``timeout``."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(BASE_URL.split("?")[0], autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND objid::bigint = (hashtext(%s)::bigint & 4294967295)",
                (store._lock_key,),
            ).fetchone()
            if row is not None and row[0] >= count:
                return True
    return False


@pytest.mark.postgres
@pytest.mark.parametrize("backend_name", ["postgres"], indirect=True)
def test_of_two_create_tables_at_once_the_second_finds_the_new_fingerprint(
    probes: Probes, caplog: pytest.LogCaptureFixture
) -> None:
    old = probes(THINGS_OLD)
    old.create_table()
    write_things(old, 7)
    assert isinstance(old, PostgresViewStore)
    starting = [probes(THINGS_NEW) for _ in range(2)]  # two processes of the new release
    errors: list[BaseException] = []

    def start(store: ViewStore) -> None:
        try:
            store.create_table()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=start, args=(s,)) for s in starting]
    with old._open(commit=True) as cursor:  # hold the view's lock until both wait for it
        old._serialise(cursor)
        for thread in threads:
            thread.start()
        assert waiting_for_lock(old, 2, timeout=30)
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(rebuilds(caplog, "probe")) == 1
    assert recorded(old) == starting[0].fingerprint()
    assert objects(old) >= {"things", "things_by_name_and_id"}
    assert "legacy" not in objects(old)


@pytest.mark.postgres
@pytest.mark.parametrize("backend_name", ["postgres"], indirect=True)
def test_processes_starting_together_after_a_release_rebuild_the_changed_view_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    open_backend(settings).close()
    monkeypatch.setattr(MediaIndexView, "ddl", [*MediaIndexView.ddl, THINGS_NEW[0]])
    errors: list[BaseException] = []

    def start() -> None:  # what every `snapset serve` and `snapset worker` does first
        try:
            open_backend(settings).close()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(rebuilds(caplog, "media_index")) == 1
    assert len([r for r in caplog.records if REBUILD in r.getMessage()]) == 1  # no other view
