"""The media index: any version's items, and O(1) index work for checkpoints, restores, clones."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from adapters.projector import Projector
from adapters.runtime import Runtime
from adapters.views.media_index import MediaIndexView
from application.actor import Actor
from application.garbage import collect_garbage
from domain.content_tree import LEAF_CAPACITY, ContentTree
from projections.media_index import MediaIndexProjection
from tests.integration.helpers import (
    edit,
    ingested,
    row_counts,
    settle,
    synthetic_records,
    tag_first,
)

CONTENT_TABLES = ("roots", "root_leaves", "leaves", "items")


def view_of(runtime: Runtime) -> MediaIndexView:
    view = runtime.backend.views["media_index"]
    assert isinstance(view, MediaIndexView)
    return view


def indexed(runtime: Runtime, dataset_id: UUID, version: str,
            kind: str | None = None) -> dict[str, dict[str, Any]]:
    runtime.catch_up()
    rows, total = view_of(runtime).items(str(dataset_id), version, 1, 10_000, kind)
    assert total == len(rows)
    return {r.pop("media_id"): r for r in rows}


def in_tree(runtime: Runtime, root: str) -> dict[str, dict[str, Any]]:
    return {key: {k: v for k, v in record.items() if k != "media_id"}
            for key, record in runtime.app.tree.items(root)}


def counts(runtime: Runtime) -> dict[str, int]:
    runtime.catch_up()
    return row_counts(view_of(runtime))


def content_rows(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """How many rows each content table gained."""
    return {table: after[table] - before[table] for table in CONTENT_TABLES}


NO_CONTENT_ROWS = dict.fromkeys(CONTENT_TABLES, 0)


def test_the_current_version_lists_the_datasets_items(runtime: Runtime, alice: Actor) -> None:
    dataset_id = ingested(runtime, alice, "alpha", images=3, videos=2)
    dataset = runtime.app.get_dataset(alice, dataset_id)

    current = indexed(runtime, dataset_id, "current")

    assert current == in_tree(runtime, dataset.content_root)
    assert len(current) == 5
    assert {r["file_name"] for r in current.values()} == \
        {"img000.png", "img001.png", "img002.png", "clip000.mp4", "clip001.mp4"}
    assert len(indexed(runtime, dataset_id, "current", "image")) == 3
    assert len(indexed(runtime, dataset_id, "current", "video")) == 2


def test_items_come_in_pages_with_the_full_total(runtime: Runtime, alice: Actor) -> None:
    dataset_id = ingested(runtime, alice, "alpha", images=4, videos=1)
    runtime.catch_up()
    view = view_of(runtime)

    pages = [view.items(str(dataset_id), "current", n, 2) for n in (1, 2, 3, 4)]

    assert [total for _, total in pages] == [5] * 4
    assert [len(rows) for rows, _ in pages] == [2, 2, 1, 0]
    assert len({r["media_id"] for rows, _ in pages for r in rows}) == 5


def test_every_checkpoint_keeps_its_own_items(runtime: Runtime, alice: Actor) -> None:
    dataset_id = ingested(runtime, alice, "alpha")
    creation = runtime.app.get_dataset(alice, dataset_id).current_checkpoint
    assert creation is not None
    edit(runtime, alice, dataset_id, tag_first("edited"))
    tagged, _ = runtime.app.create_snapshot(alice, dataset_id, "tagged")
    edit(runtime, alice, dataset_id, lambda items: {min(items): None})

    dataset = runtime.app.get_dataset(alice, dataset_id)
    for version in (creation, str(tagged)):
        root = dataset.checkpoints[version]["root"]
        assert indexed(runtime, dataset_id, version) == in_tree(runtime, root)
    assert indexed(runtime, dataset_id, "current") == in_tree(runtime, dataset.content_root)
    assert len(indexed(runtime, dataset_id, creation)) == 4
    assert len(indexed(runtime, dataset_id, "current")) == 3
    assert [r["tags"] for r in indexed(runtime, dataset_id, str(tagged)).values()
            if r["tags"]] == [["edited"]]
    assert not any(r["tags"] for r in indexed(runtime, dataset_id, creation).values())


def test_a_deleted_checkpoint_has_no_items_any_more(runtime: Runtime, alice: Actor) -> None:
    dataset_id = ingested(runtime, alice, "alpha")
    doomed, _ = runtime.app.create_snapshot(alice, dataset_id, "doomed")
    runtime.app.create_snapshot(alice, dataset_id, "kept")
    assert len(indexed(runtime, dataset_id, str(doomed))) == 4

    runtime.app.delete_snapshot(alice, dataset_id, doomed)

    assert indexed(runtime, dataset_id, str(doomed)) == {}
    assert len(indexed(runtime, dataset_id, "current")) == 4


def test_a_checkpoint_adds_one_version_row_and_no_content_rows(
    runtime: Runtime, alice: Actor
) -> None:
    dataset_id = ingested(runtime, alice, "alpha")
    edit(runtime, alice, dataset_id, tag_first("edited"))
    before = counts(runtime)

    snapshot_id, _ = runtime.app.create_snapshot(alice, dataset_id, "cheap")

    after = counts(runtime)
    assert content_rows(before, after) == NO_CONTENT_ROWS
    assert after["versions"] == before["versions"] + 1
    assert indexed(runtime, dataset_id, str(snapshot_id)) == \
        indexed(runtime, dataset_id, "current")


def test_a_restore_makes_current_equal_the_checkpoint_with_no_content_rows(
    runtime: Runtime, alice: Actor
) -> None:
    dataset_id = ingested(runtime, alice, "alpha")
    creation = runtime.app.get_dataset(alice, dataset_id).current_checkpoint
    assert creation is not None
    edit(runtime, alice, dataset_id, tag_first("edited"))
    edit(runtime, alice, dataset_id, lambda items: {min(items): None})
    runtime.app.create_snapshot(alice, dataset_id, "latest")
    assert indexed(runtime, dataset_id, "current") != indexed(runtime, dataset_id, creation)
    before = counts(runtime)

    runtime.app.restore_snapshot(alice, dataset_id, creation)
    settle(runtime)

    after = counts(runtime)
    assert content_rows(before, after) == NO_CONTENT_ROWS
    assert after["versions"] == before["versions"]
    assert indexed(runtime, dataset_id, "current") == indexed(runtime, dataset_id, creation)
    root = runtime.app.get_dataset(alice, dataset_id).checkpoints[creation]["root"]
    assert indexed(runtime, dataset_id, "current") == in_tree(runtime, root)


def test_a_clone_starts_with_the_checkpoints_items_and_no_content_rows(
    runtime: Runtime, alice: Actor, bob: Actor
) -> None:
    dataset_id = ingested(runtime, alice, "alpha")
    edit(runtime, alice, dataset_id, tag_first("edited"))
    snapshot_id, _ = runtime.app.create_snapshot(alice, dataset_id, "to clone")
    edit(runtime, alice, dataset_id, lambda items: {min(items): None})
    runtime.app.share_dataset(alice, dataset_id, bob.email, "editor")
    before = counts(runtime)

    _, clone_id, _ = runtime.app.clone_snapshot(bob, dataset_id, snapshot_id)
    settle(runtime)

    after = counts(runtime)
    assert content_rows(before, after) == NO_CONTENT_ROWS
    assert after["versions"] == before["versions"] + 2
    source_checkpoint = indexed(runtime, dataset_id, str(snapshot_id))
    assert indexed(runtime, clone_id, "current") == source_checkpoint
    clone_checkpoint = runtime.app.get_dataset(bob, clone_id).current_checkpoint
    assert indexed(runtime, clone_id, clone_checkpoint) == source_checkpoint
    assert len(indexed(runtime, dataset_id, "current")) == len(source_checkpoint) - 1


def test_an_edit_indexes_only_the_leaf_it_changed(runtime: Runtime, alice: Actor) -> None:
    dataset_id = ingested(runtime, alice, "alpha")
    edit(runtime, alice, dataset_id, lambda items: synthetic_records(300))
    before = counts(runtime)

    edit(runtime, alice, dataset_id, tag_first("edited"))

    gained = content_rows(before, counts(runtime))
    assert gained["roots"] == 1
    assert gained["leaves"] == 1
    assert 0 < gained["items"] <= LEAF_CAPACITY
    assert len(indexed(runtime, dataset_id, "current")) == 304


def test_a_projector_lagging_behind_garbage_collection_still_indexes_live_content(
    runtime: Runtime, alice: Actor
) -> None:
    dataset_id = ingested(runtime, alice, "alpha")
    edit(runtime, alice, dataset_id, lambda items: synthetic_records(100))
    edit(runtime, alice, dataset_id, tag_first("collected"))
    runtime.catch_up()
    edit(runtime, alice, dataset_id, tag_first("live"))
    edit(runtime, alice, dataset_id, lambda items: {min(items): None})
    assert collect_garbage(runtime.app, runtime.backend.nodes, grace_seconds=0) > 0
    cold = MediaIndexProjection(ContentTree(runtime.backend.nodes))

    Projector(runtime.app, cold, view_of(runtime)).catch_up()

    current = runtime.app.get_dataset(alice, dataset_id).content_root
    assert indexed(runtime, dataset_id, "current") == in_tree(runtime, current)
    assert len(indexed(runtime, dataset_id, "current")) == 103
