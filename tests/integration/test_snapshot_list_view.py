"""The snapshot list read model, fed by the real projection from application commands."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from adapters.runtime import Runtime
from adapters.views.snapshot_list import SnapshotListView
from application.actor import Actor
from tests.integration.helpers import edit, ingested, settle, tag_first


def snapshots(runtime: Runtime, dataset_id: UUID) -> list[dict[str, Any]]:
    runtime.catch_up()
    view = runtime.backend.views["snapshot_list"]
    assert isinstance(view, SnapshotListView)
    return view.list(str(dataset_id))


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["snapshot_id"] for r in rows]


def current(rows: list[dict[str, Any]]) -> list[str]:
    return [r["snapshot_id"] for r in rows if r["is_current"]]


def restoring(rows: list[dict[str, Any]]) -> list[str]:
    return [r["snapshot_id"] for r in rows if r["is_restoring"]]


def test_the_creation_snapshot_is_listed_with_its_counts_and_default_name(
    runtime: Runtime, alice: Actor
) -> None:
    dataset_id = ingested(runtime, alice, "alpha", images=3, videos=1)
    dataset = runtime.app.get_dataset(alice, dataset_id)

    [row] = snapshots(runtime, dataset_id)

    assert row["snapshot_id"] == dataset.current_checkpoint
    assert row["snapshot_name"] == f"alpha_snapshot_{row['snapshot_id'].replace('-', '')[:8]}"
    assert row["source_dataset_name"] == "alpha"
    assert (row["reason"], row["created_by"], row["description"]) == ("creation", alice.email, "")
    assert (row["n_images"], row["n_videos"]) == (3, 1)
    assert row["root"] == dataset.current["root"]
    assert (row["is_current"], row["is_restoring"]) == (1, 0)


def test_snapshots_are_listed_newest_first_and_only_the_newest_is_current(
    runtime: Runtime, alice: Actor
) -> None:
    dataset_id = ingested(runtime, alice, "alpha")
    creation = runtime.app.get_dataset(alice, dataset_id).current_checkpoint
    first = runtime.app.create_snapshot(alice, dataset_id, "first", "one").result.snapshot_id
    edit(runtime, alice, dataset_id, tag_first("x"))
    second = runtime.app.create_snapshot(alice, dataset_id, "second").result.snapshot_id

    rows = snapshots(runtime, dataset_id)

    assert ids(rows) == [str(second), str(first), creation]
    assert [r["created_at"] for r in rows] == sorted((r["created_at"] for r in rows), reverse=True)
    assert current(rows) == [str(second)]
    assert [(r["snapshot_name"], r["reason"], r["created_by"]) for r in rows[:2]] == [
        ("second", "manual", alice.email),
        ("first", "manual", alice.email),
    ]
    assert {r["source_dataset_name"] for r in rows} == {"alpha"}


def test_a_rename_and_a_new_description_are_reflected(runtime: Runtime, alice: Actor) -> None:
    dataset_id = ingested(runtime, alice, "alpha")
    snapshot_id = runtime.app.create_snapshot(
        alice, dataset_id, "before", "old text"
    ).result.snapshot_id

    runtime.app.update_snapshot(alice, dataset_id, snapshot_id, "after", None)
    [renamed] = [r for r in snapshots(runtime, dataset_id) if r["snapshot_id"] == str(snapshot_id)]
    runtime.app.update_snapshot(alice, dataset_id, snapshot_id, None, "new text")
    [described] = [
        r for r in snapshots(runtime, dataset_id) if r["snapshot_id"] == str(snapshot_id)
    ]

    assert (renamed["snapshot_name"], renamed["description"]) == ("after", "old text")
    assert (described["snapshot_name"], described["description"]) == ("after", "new text")


def test_a_soft_deleted_snapshot_is_hidden_and_the_others_stay(
    runtime: Runtime, alice: Actor
) -> None:
    dataset_id = ingested(runtime, alice, "alpha")
    creation = runtime.app.get_dataset(alice, dataset_id).current_checkpoint
    doomed = runtime.app.create_snapshot(alice, dataset_id, "doomed").result.snapshot_id
    kept = runtime.app.create_snapshot(alice, dataset_id, "kept").result.snapshot_id

    runtime.app.delete_snapshot(alice, dataset_id, doomed)

    rows = snapshots(runtime, dataset_id)
    assert ids(rows) == [str(kept), creation]
    assert current(rows) == [str(kept)]


def test_a_restore_marks_its_snapshot_restoring_then_current(
    runtime: Runtime, alice: Actor
) -> None:
    dataset_id = ingested(runtime, alice, "alpha")
    creation = runtime.app.get_dataset(alice, dataset_id).current_checkpoint
    assert creation is not None
    later = runtime.app.create_snapshot(alice, dataset_id, "later").result.snapshot_id

    runtime.app.restore_snapshot(alice, dataset_id, creation)
    during = snapshots(runtime, dataset_id)
    settle(runtime)
    after = snapshots(runtime, dataset_id)

    assert restoring(during) == [creation]
    assert current(during) == [str(later)]
    assert restoring(after) == []
    assert current(after) == [creation]
    assert ids(after) == [str(later), creation]


def test_a_restore_of_edited_content_lists_the_automatic_snapshot(
    runtime: Runtime, alice: Actor
) -> None:
    dataset_id = ingested(runtime, alice, "alpha")
    creation = runtime.app.get_dataset(alice, dataset_id).current_checkpoint
    assert creation is not None
    edit(runtime, alice, dataset_id, tag_first("unsaved"))

    runtime.app.restore_snapshot(alice, dataset_id, creation)
    settle(runtime)

    rows = snapshots(runtime, dataset_id)
    assert [r["reason"] for r in rows] == ["auto", "creation"]
    assert rows[0]["root"] != rows[1]["root"]
    assert current(rows) == [creation]


def test_a_clone_lists_its_first_snapshot_under_the_clone_only(
    runtime: Runtime, alice: Actor, bob: Actor
) -> None:
    dataset_id = ingested(runtime, alice, "alpha")
    snapshot_id = runtime.app.create_snapshot(
        alice, dataset_id, "to clone", "cloned text"
    ).result.snapshot_id
    runtime.app.share_dataset(alice, dataset_id, bob.email, "editor")

    _, clone_id, _ = runtime.app.clone_snapshot(bob, dataset_id, snapshot_id)
    settle(runtime)

    [row] = snapshots(runtime, clone_id)
    assert (row["reason"], row["created_by"], row["source_dataset_name"]) == (
        "clone",
        bob.email,
        "alpha (cloned)",
    )
    assert row["description"] == "cloned text"
    assert row["is_current"] == 1
    source_rows = snapshots(runtime, dataset_id)
    assert str(snapshot_id) in ids(source_rows)
    assert row["snapshot_id"] not in ids(source_rows)
