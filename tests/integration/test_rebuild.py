"""Rebuilding read models from the event log gives exactly the rows the live views hold."""

from __future__ import annotations

from typing import Any

import pytest

from adapters import cli
from adapters.projector import Projector
from adapters.read_models import VIEW_NAMES
from adapters.runtime import Runtime
from adapters.settings import Settings
from adapters.views.media_index import MediaIndexView
from application.actor import Actor
from tests.integration.helpers import (
    Dump,
    add_media,
    canonical,
    dump,
    dump_all,
    edit,
    ingested,
    settle,
    tag_first,
)


def rich_history(runtime: Runtime, alice: Actor, bob: Actor) -> None:
    """Datasets with ingest, snapshots, edits, restore, clone, delete, share and a failure."""
    app = runtime.app
    alpha = ingested(runtime, alice, "alpha", images=3, videos=1)
    creation = app.get_dataset(alice, alpha).current_checkpoint
    assert creation is not None
    app.share_dataset(alice, alpha, bob.email, "editor")
    first = app.create_snapshot(alice, alpha, "first", "the first one").result.snapshot_id
    edit(runtime, bob, alpha, tag_first("edited"))
    second = app.create_snapshot(bob, alpha, "second").result.snapshot_id
    app.update_snapshot(alice, alpha, second, "second, renamed", "now described")
    edit(runtime, alice, alpha, lambda items: {min(items): None})
    app.restore_snapshot(alice, alpha, creation)
    settle(runtime)
    app.delete_snapshot(alice, alpha, first)
    app.clone_snapshot(bob, alpha, second)
    add_media(runtime, alice, alpha, "alpha-more")
    settle(runtime)
    bravo = ingested(runtime, bob, "bravo", images=2, videos=0)
    app.share_dataset(bob, bravo, alice.email, "viewer")
    import_root = runtime.backend.settings.import_root
    assert import_root is not None
    (import_root / "junk").mkdir()
    (import_root / "junk" / "junk.txt").write_text("not media")
    app.create_dataset(alice, "junk", source={"source": "path", "path": str(import_root / "junk")})
    settle(runtime)
    ingested(runtime, alice, "pending", run=False)
    app.create_dataset(bob, "draft")
    runtime.catch_up()


def test_every_view_rebuilt_in_small_batches_equals_the_live_view(
    runtime: Runtime, alice: Actor, bob: Actor
) -> None:
    rich_history(runtime, alice, bob)
    live = dump_all(runtime)
    assert all(any(tables.values()) for tables in live.values())

    for name in VIEW_NAMES:
        live_projector = runtime.projectors[name]
        view = live_projector.view
        view.store.clear()
        assert view.store.position() == 0
        assert not any(dump(view).values())
        rebuilt = Projector(runtime.app, live_projector.projection, view, batch_size=7)
        consumed = rebuilt.catch_up()

        assert consumed == runtime.app.position(), name
        assert view.store.position() == runtime.app.position(), name
        assert dump(view) == live[name], name


def test_the_rebuild_command_replaces_tampered_rows_with_the_true_ones(
    runtime: Runtime,
    settings: Settings,
    alice: Actor,
    bob: Actor,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rich_history(runtime, alice, bob)
    live = dump_all(runtime)
    store = runtime.backend.views["snapshot_list"].store
    with store._open(commit=True) as cursor:  # damage the view's rows on purpose
        store._sql(cursor).run("UPDATE {t}snapshots SET snapshot_name = 'tampered'")
    assert dump_all(runtime) != live
    monkeypatch.setenv("SNAPSET_DATABASE_URL", settings.database_url)

    status = cli.main(["rebuild", "--data-dir", str(settings.data_dir)])

    assert status == 0
    assert dump_all(runtime) == live
    output = capsys.readouterr().out
    for name in VIEW_NAMES:
        assert f"{name}: {runtime.app.position()} events" in output


def test_the_rebuild_command_can_run_again_and_again(
    runtime: Runtime,
    settings: Settings,
    alice: Actor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dataset_id = ingested(runtime, alice, "alpha")
    live = dump_all(runtime)
    monkeypatch.setenv("SNAPSET_DATABASE_URL", settings.database_url)

    statuses = [
        cli.main(["rebuild", "--data-dir", str(settings.data_dir), "snapshot_list"])
        for _ in range(3)
    ]
    runtime.app.create_snapshot(alice, dataset_id, "after")
    runtime.catch_up()

    assert statuses == [0, 0, 0]
    assert dump_all(runtime)["task_log"] == live["task_log"]
    assert len(dump(runtime.backend.views["snapshot_list"])["snapshots"]) == 2


def test_the_rebuild_command_rejects_an_unknown_view(
    settings: Settings,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SNAPSET_DATABASE_URL", settings.database_url)

    status = cli.main(["rebuild", "--data-dir", str(settings.data_dir), "no_such_view"])

    assert status == 2
    assert "Unknown view 'no_such_view'" in capsys.readouterr().err


def version_items(runtime: Runtime) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Every indexed version's items, as the media index serves them."""
    view = runtime.backend.views["media_index"]
    assert isinstance(view, MediaIndexView)
    with view.store.reading() as sql:
        versions = sql.all("SELECT dataset_id, version FROM {t}versions")
    return {
        (v["dataset_id"], v["version"]): canonical(
            view.items(v["dataset_id"], v["version"], 1, 10_000)[0]
        )
        for v in versions
    }


def by_leaf_hash(index: Dump) -> Dump:
    """The media index's rows with each leaf number replaced by the leaf's hash."""
    hashes = {row["id"]: row["leaf"] for row in index["leaves"]}
    return {
        table: [
            {**row, "leaf": hashes[row["leaf"]]} if "leaf" in row and table != "leaves" else row
            for row in rows
        ]
        for table, rows in index.items()
    } | {"leaves": [{"leaf": row["leaf"]} for row in index["leaves"]]}


def test_a_rebuild_after_garbage_collection_serves_every_live_version_unchanged(
    runtime: Runtime,
    settings: Settings,
    alice: Actor,
    bob: Actor,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rich_history(runtime, alice, bob)
    alpha = ingested(runtime, alice, "gc-alpha")
    doomed = runtime.app.create_snapshot(alice, alpha, "doomed").result.snapshot_id
    edit(runtime, alice, alpha, tag_first("one"))
    edit(runtime, alice, alpha, tag_first("two"))
    runtime.app.create_snapshot(alice, alpha, "kept")
    runtime.app.delete_snapshot(alice, alpha, doomed)
    edit(runtime, alice, alpha, tag_first("three"))
    runtime.catch_up()
    live, live_versions = dump_all(runtime), version_items(runtime)
    monkeypatch.setenv("SNAPSET_DATABASE_URL", settings.database_url)
    assert cli.main(["gc", "--data-dir", str(settings.data_dir), "--grace-seconds", "0"]) == 0
    assert "Removed 0 " not in capsys.readouterr().out

    status = cli.main(["rebuild", "--data-dir", str(settings.data_dir)])

    assert status == 0
    rebuilt = dump_all(runtime)
    for name in VIEW_NAMES:
        if name != "media_index":
            assert rebuilt[name] == live[name], name
    assert rebuilt["media_index"]["versions"] == live["media_index"]["versions"]
    assert version_items(runtime) == live_versions
    # Leaves are numbered as they are indexed, so a rebuild that skips collected roots
    # numbers them differently: compare the rows by leaf hash.
    rebuilt_index = by_leaf_hash(rebuilt["media_index"])
    live_index = by_leaf_hash(live["media_index"])
    for table in ("roots", "root_leaves", "leaves", "items"):
        rows, live_rows = rebuilt_index[table], live_index[table]
        assert rows, table
        assert all(row in live_rows for row in rows), table
    assert len(rebuilt["media_index"]["roots"]) < len(live["media_index"]["roots"])
