"""Dropping every read model and rebuilding it from event 0 gives the live rows, row for row.

A realistic history is written through the application, with the read models kept live the
way ``snapset serve`` keeps them (the ``ProjectorThread``, woken by each save; on PostgreSQL
it writes every view's part of a batch in one shared transaction) and every task run by the
real worker: users, datasets ingested from folders of images and videos, shares, snapshots
created, renamed and removed, enrichment, re-index, tag and label edits, a metadata import,
label propagation, media addition, restores, clones, exports, a failed creation retried, aborted
tasks, failed restore/clone/export tasks, a dataset without snapshots, an empty draft, and one
long-lived dataset past the library's aggregate-snapshot interval (100 events).

Then every view's tables are dropped (SQLite: the view files are deleted; PostgreSQL: every
``snapset_<view>_*`` table, tracking tables included), ``snapset rebuild`` recreates and refills
them from event 0, and each table must equal the live one row for row. A second path rebuilds
from emptied views with the server's own ``ProjectorThread``, as a fresh ``snapset project``
would. ``tests/integration/test_rebuild.py`` covers small batches, tampered rows and garbage
collection; this module covers the whole-system workload and physically dropped tables.

``realistic_workload`` is also what ``make_event_fixtures.py`` runs to capture one stored event
of every type; the ``live`` fixture checks that it still writes every event type the code has
(``test_event_fixtures.stored_event_types``), so the rebuild replays every kind of event.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest

from adapters import cli
from adapters.read_models import VIEW_NAMES
from adapters.runtime import Runtime, build_runtime
from adapters.settings import Settings
from application.actor import Actor
from domain.dataset import Dataset
from domain.tasks import (
    CUSTOM_METADATA,
    ENRICHMENT,
    LABEL_PROPAGATION,
    MEDIA_ADDITION,
    REINDEX,
)
from tests.conftest import BASE_URL
from tests.integration.helpers import Dump, add_media, dump, dump_all, edit, tag_first
from tests.reliability.test_event_fixtures import stored_event_types
from tests.support.media import folder_of_media, image, photo

pytestmark = pytest.mark.reliability

Settle = Callable[[Runtime], None]
MODELS = {
    "IMAGE_PROPERTIES": "image-properties-v1",
    "PERCEPTUAL_HASH": "phash-64-v1",
    "IMAGE_QUALITY": "laplacian-quality-v1",
    "VIDEO_PROPERTIES": "video-properties-v1",
}
CAT = {
    "class_name": "cat",
    "bbox": [1.0, 1.0, 4.0, 4.0],
    "source": "manual",
    "source_media_id": None,
}
LONG_LIVED_EDITS = 105  # past Datasets.snapshotting_intervals[Dataset] (100)
FAULTY_WORKER = "reliability-faulty-worker"


def realistic_workload(
    runtime: Runtime, alice: Actor, bob: Actor, settle: Settle
) -> dict[str, UUID]:
    """A history with every dataset event type; ``settle`` makes views and tasks catch up.
    Returns some of the datasets it made, by name."""
    app = runtime.app
    import_root = runtime.backend.settings.import_root
    assert import_root is not None

    def ingest(actor: Actor, name: str, images: int = 3, videos: int = 1, **options: Any) -> UUID:
        folder = folder_of_media(import_root / name, images=images, videos=videos)
        dataset_id, _ = app.create_dataset(
            actor,
            name,
            f"{name}, from a folder",
            source={"source": "path", "path": str(folder)},
            **options,
        )
        settle(runtime)
        return UUID(str(dataset_id))

    def run(actor: Actor, dataset_id: UUID, task_type: str, params: dict[str, Any]) -> UUID:
        task_id, _ = app.start_operation(actor, dataset_id, task_type, params)
        settle(runtime)
        return UUID(str(task_id))

    # A photo dataset, shared, enriched, re-indexed, annotated.
    pets = ingest(alice, "pets", images=0, videos=1)
    for seed in range(3):
        photo(import_root / "pets-photos" / f"pet{seed}.png", seed)
    photo(import_root / "pets-photos" / "pet0-small.png", 0, width=64, height=64)
    task, _ = app.start_operation(
        alice, pets, MEDIA_ADDITION, {"source": "path", "path": str(import_root / "pets-photos")}
    )
    settle(runtime)
    app.share_dataset(alice, pets, bob.email, "editor")
    before = app.create_snapshot(alice, pets, "before enrichment", "as ingested").result.snapshot_id
    run(bob, pets, ENRICHMENT, {"models": MODELS})
    run(alice, pets, REINDEX, {})
    edit(runtime, bob, pets, tag_first("good boy"))
    ids = [media_id for media_id, _ in app.tree.items(app.get_dataset(alice, pets).current["root"])]
    edit(
        runtime,
        alice,
        pets,
        lambda items: {
            ids[0]: {**items[ids[0]], "labels": [CAT], "cluster_id": "c1"},
            ids[1]: {**items[ids[1]], "cluster_id": "c1"},
        },
    )
    run(alice, pets, LABEL_PROPAGATION, {"media_ids": [ids[0]]})
    task, _ = app.start_operation(
        alice,
        pets,
        CUSTOM_METADATA,
        {
            "file": "rows.json",
            "format": "json",
            "key": "media_id",
            "schema": {"score": "float", "note": "string"},
        },
    )
    folder = runtime.staging.folder(str(task))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rows.json").write_text(
        json.dumps(
            [
                {"media_id": ids[0], "score": 0.5, "note": "sharp"},
                {"media_id": ids[1], "score": "not a number"},
            ]
        )
    )
    settle(runtime)
    enriched = app.create_snapshot(
        bob, pets, "enriched", "models, clusters, labels"
    ).result.snapshot_id
    app.update_snapshot(alice, pets, enriched, "enriched and annotated", None)
    app.update_snapshot(alice, pets, enriched, None, "models, clusters, labels, metadata")
    app.share_dataset(alice, pets, bob.email, "viewer")

    # Restores: one that completes (after an automatic checkpoint), one that fails.
    app.restore_snapshot(alice, pets, str(before))
    settle(runtime)
    app.restore_snapshot(alice, pets, str(enriched))
    settle(runtime)
    task, _ = app.restore_snapshot(alice, pets, str(before))
    fail(runtime, pets, task, "The snapshot's content is missing from the content store.")

    # Clones: one that completes, one that fails; then the source snapshot is removed.
    app.share_dataset(alice, pets, bob.email, "editor")
    app.clone_snapshot(bob, pets, enriched)
    settle(runtime)
    task, clone_id, _ = app.clone_snapshot(alice, pets, before)
    fail(runtime, clone_id, task, "The snapshot's content is missing from the content store.")
    app.delete_snapshot(alice, pets, before)

    # Exports: one completes, one fails, one is aborted.
    app.start_export(bob, pets, str(enriched), include_media=False)
    settle(runtime)
    task, _ = app.start_export(alice, pets, str(enriched), include_media=True)
    fail(runtime, pets, task, "The disk is full.")
    task, _ = app.start_export(alice, pets, str(enriched), include_media=False)
    app.abort_task(alice, pets, task)

    # Aborted operations: a re-index before it ran; a media addition after its claim.
    task, _ = app.start_operation(alice, pets, REINDEX, {"threshold": 4})
    app.abort_task(alice, pets, task)
    task = add_media(runtime, alice, pets, "pets-more")
    app.claim_task(pets, str(task), FAULTY_WORKER, 30.0)
    app.abort_task(alice, pets, task)

    # A creation that fails (no media in the folder), is fixed and retried.
    junk = import_root / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("not media")
    broken, _ = app.create_dataset(bob, "junk", source={"source": "path", "path": str(junk)})
    settle(runtime)
    image(junk / "found.png", 24, 24, (10, 10, 240))
    app.retry_task(bob, broken, creation_task(app.get_dataset(bob, broken)))
    settle(runtime)
    app.share_dataset(bob, broken, alice.email, "viewer")

    # A dataset without snapshots, an empty draft, a creation aborted before it ran.
    ingest(bob, "no-snapshots", images=2, videos=0, snapshot_support=False)
    app.create_dataset(alice, "draft", "nothing in it yet")
    folder_of_media(import_root / "never", images=1, videos=0)
    never, _ = app.create_dataset(
        alice, "never", source={"source": "path", "path": str(import_root / "never")}
    )
    app.abort_task(alice, never, creation_task(app.get_dataset(alice, never)))

    # A long-lived dataset: past the aggregate-snapshot interval, with content edits.
    busy = ingest(alice, "busy", images=2, videos=0)
    for i in range(LONG_LIVED_EDITS):
        edit(runtime, alice, busy, tag_first(f"edit-{i % 3}"))
    app.create_snapshot(alice, busy, "after many edits")
    settle(runtime)
    return {"pets": pets, "busy": busy, "junk": UUID(str(broken))}


def fail(runtime: Runtime, dataset_id: UUID, task_id: UUID, error: str) -> None:
    """Claim a task, report progress and fail it, as the worker does when its work raises
    (it reports at most once a second, so the short tasks here would report none)."""
    runtime.app.claim_task(dataset_id, str(task_id), FAULTY_WORKER, 30.0)
    runtime.app.report_progress(dataset_id, str(task_id), FAULTY_WORKER, 40, "40% done", 30.0)
    runtime.app.fail_task(dataset_id, str(task_id), FAULTY_WORKER, error)


def creation_task(dataset: Dataset) -> UUID:
    task = dataset.failed_task or dataset.active_task
    assert task is not None
    return UUID(task["task_id"])


def settle_with_threads(runtime: Runtime) -> None:
    """The projector thread (started) catches up; the worker runs what is claimable; repeat."""
    while True:
        assert runtime.positions.wait(runtime.app.position(), timeout=60)
        if not runtime.worker.run_once():
            break
    assert runtime.positions.wait(runtime.app.position(), timeout=60)


@pytest.fixture
def live(runtime: Runtime, alice: Actor, bob: Actor) -> dict[str, Dump]:
    """The workload run with live projections; every view's rows at the end."""
    runtime.start(projections=True, worker=False)
    try:
        datasets = realistic_workload(runtime, alice, bob, settle_with_threads)
    finally:
        runtime.stop()
    check_every_event_type_was_written(runtime, datasets["busy"])
    for name in VIEW_NAMES:
        assert runtime.backend.views[name].store.position() == runtime.app.position(), name
    return dump_all(runtime)


def check_every_event_type_was_written(runtime: Runtime, long_lived: UUID) -> None:
    """So that the rebuild replays every kind of event (and make_event_fixtures.py finds
    one of each): the log holds every event type, the snapshot store an aggregate snapshot."""
    topics = {n.topic for n in runtime.app.recorder.select_notifications(None, 1_000_000)}
    snapshots = runtime.app.snapshots
    assert snapshots is not None
    topics |= {e.topic for e in snapshots.recorder.select_events(long_lived)}
    missing = {kind.topic for kind in stored_event_types()} - topics
    assert not missing, f"the workload wrote no {sorted(missing)}"


def view_storage(settings: Settings) -> list[str]:
    """Where every view lives: SQLite files, or PostgreSQL ``snapset_<view>_*`` tables."""
    if not settings.uses_postgres:
        return sorted(str(p) for p in (settings.data_dir / "views").iterdir())
    schema = settings.postgres()["schema"]
    with psycopg.connect(BASE_URL.split("?")[0]) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
    return sorted(
        r[0] for r in rows if any(r[0].startswith(f"snapset_{name}_") for name in VIEW_NAMES)
    )


def drop_every_view(settings: Settings) -> None:
    where = view_storage(settings)
    assert where, "no view storage found to drop"
    if not settings.uses_postgres:
        for path in where:
            Path(path).unlink()
    else:
        schema = settings.postgres()["schema"]
        with psycopg.connect(BASE_URL.split("?")[0], autocommit=True) as conn:
            for table in where:
                conn.execute(f'DROP TABLE "{schema}"."{table}"')
    assert view_storage(settings) == []


def assert_same_rows(rebuilt: dict[str, Dump], live: dict[str, Dump]) -> None:
    assert sorted(rebuilt) == sorted(live) == sorted(VIEW_NAMES)
    for name in VIEW_NAMES:
        assert sorted(rebuilt[name]) == sorted(live[name]), name
        for table, rows in live[name].items():
            assert len(rebuilt[name][table]) == len(rows), f"{name}.{table}: row count"
            assert rebuilt[name][table] == rows, f"{name}.{table}"


def test_views_dropped_and_rebuilt_from_event_zero_equal_the_live_views_row_for_row(
    live: dict[str, Dump],
    runtime: Runtime,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    position = runtime.app.position()
    for name in VIEW_NAMES:
        for table, rows in live[name].items():
            if table == "parked":  # events the projection failed on: none, in a healthy run
                assert rows == [], f"{name} parked events"
            else:
                assert rows, f"the workload left {name}.{table} empty"
    runtime.close()
    drop_every_view(settings)
    monkeypatch.setenv("SNAPSET_DATABASE_URL", settings.database_url)

    status = cli.main(["rebuild", "--data-dir", str(settings.data_dir)])

    assert status == 0
    output = capsys.readouterr().out
    for name in VIEW_NAMES:
        assert f"{name}: {position} events" in output
    rebuilt = build_runtime(settings)
    try:
        assert all(rebuilt.backend.views[n].store.position() == position for n in VIEW_NAMES)
        assert_same_rows(dump_all(rebuilt), live)
        # The same views, refilled from empty by the server's projector thread (as a fresh
        # `snapset project` would): all views per batch, in one transaction on PostgreSQL.
        for view in rebuilt.backend.views.values():
            view.store.clear()
            assert not any(dump(view).values())
    finally:
        rebuilt.close()
    refilled = build_runtime(settings)
    try:
        refilled.start(projections=True, worker=False)
        try:
            assert refilled.positions.wait(position, timeout=120)
        finally:
            refilled.stop()
        assert_same_rows(dump_all(refilled), live)
    finally:
        refilled.close()
