"""The media index: any version's items, and O(1) index work for checkpoints, restores, clones."""

from __future__ import annotations

import operator
import random
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from adapters.projector import Projector
from adapters.runtime import Runtime, build_runtime
from adapters.settings import Settings
from adapters.views import media_index_writer
from adapters.views.media_index import MediaIndexView
from adapters.views.media_search import SearchLimits
from application.actor import Actor
from application.garbage import collect_garbage
from domain.content_tree import LEAF_CAPACITY, ContentTree
from projections.media_cursor import SearchCursor
from projections.media_index import (
    SORT_KEYS,
    FieldFilter,
    MediaFilter,
    MediaIndexProjection,
    MediaOrder,
)
from tests.integration.helpers import (
    dump,
    edit,
    ingested,
    row_counts,
    settle,
    synthetic_records,
    tag_first,
)

CONTENT_TABLES = (
    "roots",
    "item_names",  # SQLite only
    "root_leaves",
    "leaves",
    "items",
    "records",
    "item_tags",
    "item_labels",
    "item_metadata",
)


def view_of(runtime: Runtime) -> MediaIndexView:
    view = runtime.backend.views["media_index"]
    assert isinstance(view, MediaIndexView)
    return view


def indexed(
    runtime: Runtime, dataset_id: UUID, version: str, kind: str | None = None
) -> dict[str, dict[str, Any]]:
    runtime.catch_up()
    rows, total = view_of(runtime).items(str(dataset_id), version, 1, 10_000, kind)
    assert total == len(rows)
    return {r.pop("media_id"): r for r in rows}


def in_tree(runtime: Runtime, root: str) -> dict[str, dict[str, Any]]:
    return {
        key: {k: v for k, v in record.items() if k != "media_id"}
        for key, record in runtime.app.tree.items(root)
    }


def counts(runtime: Runtime) -> dict[str, int]:
    runtime.catch_up()
    return row_counts(view_of(runtime))


def content_rows(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """How many rows each content table gained."""
    return {table: after.get(table, 0) - before.get(table, 0) for table in CONTENT_TABLES}


NO_CONTENT_ROWS = dict.fromkeys(CONTENT_TABLES, 0)


def test_the_current_version_lists_the_datasets_items(runtime: Runtime, alice: Actor) -> None:
    dataset_id = ingested(runtime, alice, "alpha", images=3, videos=2)
    dataset = runtime.app.get_dataset(alice, dataset_id)

    current = indexed(runtime, dataset_id, "current")

    assert current == in_tree(runtime, dataset.current["root"])
    assert len(current) == 5
    assert {r["file_name"] for r in current.values()} == {
        "img000.png",
        "img001.png",
        "img002.png",
        "clip000.mp4",
        "clip001.mp4",
    }
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
    tagged = runtime.app.create_snapshot(alice, dataset_id, "tagged").result.snapshot_id
    edit(runtime, alice, dataset_id, lambda items: {min(items): None})

    dataset = runtime.app.get_dataset(alice, dataset_id)
    for version in (creation, str(tagged)):
        root = dataset.checkpoints[version]["version"]["root"]
        assert indexed(runtime, dataset_id, version) == in_tree(runtime, root)
    assert indexed(runtime, dataset_id, "current") == in_tree(runtime, dataset.current["root"])
    assert len(indexed(runtime, dataset_id, creation)) == 4
    assert len(indexed(runtime, dataset_id, "current")) == 3
    assert [r["tags"] for r in indexed(runtime, dataset_id, str(tagged)).values() if r["tags"]] == [
        ["edited"]
    ]
    assert not any(r["tags"] for r in indexed(runtime, dataset_id, creation).values())


def test_a_deleted_checkpoint_has_no_items_any_more(runtime: Runtime, alice: Actor) -> None:
    dataset_id = ingested(runtime, alice, "alpha")
    doomed = runtime.app.create_snapshot(alice, dataset_id, "doomed").result.snapshot_id
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

    snapshot_id = runtime.app.create_snapshot(alice, dataset_id, "cheap").result.snapshot_id

    after = counts(runtime)
    assert content_rows(before, after) == NO_CONTENT_ROWS
    assert after["versions"] == before["versions"] + 1
    assert indexed(runtime, dataset_id, str(snapshot_id)) == indexed(runtime, dataset_id, "current")


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
    root = runtime.app.get_dataset(alice, dataset_id).checkpoints[creation]["version"]["root"]
    assert indexed(runtime, dataset_id, "current") == in_tree(runtime, root)


def test_a_clone_starts_with_the_checkpoints_items_and_no_content_rows(
    runtime: Runtime, alice: Actor, bob: Actor
) -> None:
    dataset_id = ingested(runtime, alice, "alpha")
    edit(runtime, alice, dataset_id, tag_first("edited"))
    snapshot_id = runtime.app.create_snapshot(alice, dataset_id, "to clone").result.snapshot_id
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

    current = runtime.app.get_dataset(alice, dataset_id).current["root"]
    assert indexed(runtime, dataset_id, "current") == in_tree(runtime, current)
    assert len(indexed(runtime, dataset_id, "current")) == 103


# Filters, sorting and paging over any version. Expectations come from the content tree's
# records through a plain-Python reading of the documented semantics, never from the SQL.

TAGS = ("cat", "dog", "night", "outdoor")
CLASSES = ("car", "person", "tree")
CAMERAS = ("alpha", "beta", "gamma")
CLUSTERS = (None, "c1", "c2", "c2", "c3", "c3", "c3")


def rich_records(count: int = 150, seed: int = 7) -> dict[str, dict[str, Any]]:
    """Records with every searchable field, spread over several leaves, with ties and gaps."""
    rng = random.Random(seed)
    records: dict[str, dict[str, Any]] = {}
    for i in range(count):
        media_id = str(UUID(int=rng.getrandbits(128)))
        video = i % 5 == 0
        metadata: dict[str, Any] = {
            "camera": rng.choice(CAMERAS),
            "taken_at": f"2024-0{rng.randint(1, 9)}-1{i % 10}T08:00:00",
            "people": rng.sample(("ann", "bob", "cyd"), rng.randint(0, 2)),
            "code": rng.choice(("42", "x7", "042")),
            "reviewed": i % 4 == 0,
        }
        if i % 6:
            metadata["score"] = rng.choice((0.5, 1, 1.0, 1.5, 2, 3, -1))
        classes = rng.sample(CLASSES, rng.randint(0, 2))
        records[media_id] = {
            "media_id": media_id,
            "kind": "video" if video else "image",
            "file_name": f"set{i % 3}/item{rng.randint(0, 99):03d}.{'mp4' if video else 'png'}",
            "blob": "0" * 64,
            "size": rng.choice((100, 200, 300, 400)),
            "width": None if video else rng.choice((10, 20, 30)),
            "height": None if video else rng.choice((5, 15)),
            "metadata": metadata,
            "tags": sorted(rng.sample(TAGS, rng.randint(0, 3))),
            "labels": [
                {"class_name": c, "bbox": None, "source": "manual", "source_media_id": None}
                for c in classes + classes[:1]
            ],
            "enrichment": {},
            "cluster_id": rng.choice(CLUSTERS),
        }
    return records


def replace_all(new: dict[str, dict[str, Any]]) -> Any:
    """A change that removes every item and adds ``new``."""
    return lambda items: {**dict.fromkeys(items), **new}


def rich_dataset(runtime: Runtime, actor: Actor) -> tuple[UUID, str]:
    dataset_id = ingested(runtime, actor, "rich", images=1, videos=0)
    edit(runtime, actor, dataset_id, replace_all(rich_records()))
    runtime.catch_up()
    return dataset_id, runtime.app.get_dataset(actor, dataset_id).current["root"]


def number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def meets(value: Any, condition: FieldFilter) -> bool:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    text = (
        ("true" if value else "false")
        if isinstance(value, bool)
        else value
        if isinstance(value, str)
        else None
    )
    if condition.equals is not None:
        wanted = number(condition.equals)
        if not (
            text == condition.equals
            or (is_number and wanted is not None and float(value) == wanted)
        ):
            return False
    for bound, holds in ((condition.gte, operator.ge), (condition.lte, operator.le)):
        if isinstance(bound, float) and not (is_number and holds(float(value), bound)):
            return False
        if isinstance(bound, str) and not (text is not None and holds(text, bound)):
            return False
    return True


def matches(record: dict[str, Any], where: MediaFilter) -> bool:
    def values(field: str) -> list[Any]:
        value = record["metadata"].get(field)
        return [v for v in (value if isinstance(value, list) else [value]) if v is not None]

    classes = {label["class_name"] for label in record["labels"]}
    return (
        (where.kind is None or record["kind"] == where.kind)
        and set(where.tags) <= set(record["tags"])
        and (where.label is None or where.label in classes)
        and (where.cluster_id is None or record["cluster_id"] == where.cluster_id)
        and (
            where.name_contains is None
            or where.name_contains.lower() in record["file_name"].lower()
        )
        and all(any(meets(v, f) for v in values(f.field)) for f in where.fields)
    )


def expected_order(records: dict[str, dict[str, Any]], order: MediaOrder) -> list[str]:
    """Media ids sorted by the key, then file name, then id; empty values last either way."""
    then = () if order.key in ("file_name", "media_id") else ("file_name",)
    keys = (order.key, *then, "media_id")
    present = [r for r in records.values() if r[order.key] is not None]
    empty = [r for r in records.values() if r[order.key] is None]
    return [
        r["media_id"]
        for group in (present, empty)
        for r in sorted(
            group, key=lambda r: [r[k] for k in keys if r[k] is not None], reverse=order.descending
        )
    ]


EVERYTHING, BY_NAME = MediaFilter(), MediaOrder()


def searched(
    runtime: Runtime, root: str, where: MediaFilter = EVERYTHING, order: MediaOrder = BY_NAME
) -> list[str]:
    found = view_of(runtime).search(root, where, order, 1, 10_000)
    assert (found.total, found.total_is_lower_bound, found.next_cursor) == (
        len(found.rows),
        False,
        None,
    )
    return [r["media_id"] for r in found.rows]


# The planner's limits, set so that 150 items take each path (see media_search): the sort
# plan (the defaults, at this size), the walk with exact and lower-bound totals, and walks
# that run out of budget and fall back to sorting.
PLANS = {
    "sort": SearchLimits(),
    "walk": SearchLimits(sort_at_most=0, walk_at_most=10_000, count_at_most=10),
    "walk, tiny budget": SearchLimits(sort_at_most=0, walk_at_most=4, count_at_most=3),
}


@pytest.fixture(params=list(PLANS))
def plan(request: pytest.FixtureRequest, runtime: Runtime) -> SearchLimits:
    limits = PLANS[request.param]
    view_of(runtime).limits = limits
    return limits


FILTERS = [
    MediaFilter(kind="video"),
    MediaFilter(tags=("cat",)),
    MediaFilter(tags=("cat", "night")),
    MediaFilter(tags=("cat", "no-such-tag")),
    MediaFilter(label="person"),
    MediaFilter(cluster_id="c3"),
    MediaFilter(name_contains="SET1/ITEM0"),
    MediaFilter(name_contains="%"),
    MediaFilter(name_contains="_"),
    MediaFilter(fields=(FieldFilter("camera", equals="beta"),)),
    MediaFilter(fields=(FieldFilter("score", equals="1"),)),
    MediaFilter(fields=(FieldFilter("code", equals="42"),)),
    MediaFilter(fields=(FieldFilter("people", equals="bob"),)),
    MediaFilter(fields=(FieldFilter("reviewed", equals="true"),)),
    MediaFilter(fields=(FieldFilter("score", gte=1.0, lte=2.0),)),
    MediaFilter(fields=(FieldFilter("score", lte=0.0),)),
    MediaFilter(fields=(FieldFilter("taken_at", gte="2024-03", lte="2024-06-30T23"),)),
    MediaFilter(fields=(FieldFilter("people", gte="b"),)),
    MediaFilter(fields=(FieldFilter("no_such_field", equals="x"),)),
    MediaFilter(
        kind="image",
        tags=("dog",),
        label="car",
        cluster_id="c3",
        fields=(FieldFilter("score", gte=1.0),),
    ),
]


def test_each_filter_selects_exactly_the_items_that_meet_it(
    runtime: Runtime, alice: Actor, plan: SearchLimits
) -> None:
    _, root = rich_dataset(runtime, alice)
    records = dict(runtime.app.tree.items(root))
    by_name = expected_order(records, BY_NAME)

    for where in FILTERS:
        expected = [key for key in by_name if matches(records[key], where)]
        assert searched(runtime, root, where) == expected, where


def test_the_filters_split_the_data_into_non_trivial_parts() -> None:
    records = rich_records()

    sizes = [sum(matches(r, where) for r in records.values()) for where in FILTERS]

    assert [i for i, size in enumerate(sizes) if size in (0, len(records))] == [3, 7, 8, 18], sizes


def test_items_sort_by_any_key_in_either_direction(
    runtime: Runtime, alice: Actor, plan: SearchLimits
) -> None:
    _, root = rich_dataset(runtime, alice)
    records = dict(runtime.app.tree.items(root))

    for key in SORT_KEYS:
        for order in (MediaOrder(key), MediaOrder(key, descending=True)):
            assert searched(runtime, root, EVERYTHING, order) == expected_order(records, order), (
                order
            )


def test_pages_of_a_filtered_sorted_search_partition_its_items(
    runtime: Runtime, alice: Actor, plan: SearchLimits
) -> None:
    _, root = rich_dataset(runtime, alice)
    where, order = MediaFilter(kind="image"), MediaOrder("size", descending=True)
    everything = searched(runtime, root, where, order)
    view = view_of(runtime)

    pages = [view.search(root, where, order, page, 7) for page in range(1, 30)]

    assert all(p.total <= len(everything) for p in pages)
    assert all(p.total == len(everything) for p in pages if not p.total_is_lower_bound)
    assert [r["media_id"] for p in pages for r in p.rows] == everything
    assert (pages[-1].rows, pages[-1].total, pages[-1].total_is_lower_bound) == (
        [],
        len(everything),
        False,
    )


def test_pages_by_name_with_a_known_total_partition_the_items(
    runtime: Runtime, alice: Actor, plan: SearchLimits
) -> None:
    _, root = rich_dataset(runtime, alice)
    records = dict(runtime.app.tree.items(root))
    view = view_of(runtime)

    for where in (EVERYTHING, MediaFilter(kind="video")):
        for order in (BY_NAME, MediaOrder("file_name", descending=True)):
            expected = [k for k in expected_order(records, order) if matches(records[k], where)]
            pages = [
                view.search(root, where, order, page, 5, total=len(expected)).rows
                for page in range(1, 32)
            ]
            assert [r["media_id"] for rows in pages for r in rows] == expected, (where, order)


CURSOR_CASES = [
    (EVERYTHING, MediaOrder("size", descending=True)),
    (EVERYTHING, MediaOrder("width")),
    (MediaFilter(tags=("cat",)), MediaOrder("height", descending=True)),
    (MediaFilter(kind="image", name_contains="item0"), MediaOrder("file_name")),
    (MediaFilter(fields=(FieldFilter("score", gte=1.0),)), MediaOrder("media_id", True)),
    (MediaFilter(label="person"), MediaOrder("cluster_id")),
    (MediaFilter(kind="video"), MediaOrder("kind", descending=True)),
]


def test_following_next_cursor_lists_the_same_items_as_pages(
    runtime: Runtime, alice: Actor, plan: SearchLimits
) -> None:
    _, root = rich_dataset(runtime, alice)
    records = dict(runtime.app.tree.items(root))
    view = view_of(runtime)

    for where, order in CURSOR_CASES:
        expected = [k for k in expected_order(records, order) if matches(records[k], where)]
        listed: list[str] = []
        found = view.search(root, where, order, 1, 6)
        while True:
            listed += [r["media_id"] for r in found.rows]
            if found.next_cursor is None:
                break
            cursor = SearchCursor.decode(found.next_cursor, order.key, order.descending)
            found = view.search(root, where, order, 1, 6, cursor=cursor)
        assert listed == expected, (where, order)


def test_a_page_number_after_a_cursor_counts_pages_after_it(
    runtime: Runtime, alice: Actor, plan: SearchLimits
) -> None:
    _, root = rich_dataset(runtime, alice)
    order = MediaOrder("size")
    view = view_of(runtime)
    everything = searched(runtime, root, EVERYTHING, order)
    first = view.search(root, EVERYTHING, order, 1, 10)
    assert first.next_cursor is not None
    cursor = SearchCursor.decode(first.next_cursor, "size", False)

    third = view.search(root, EVERYTHING, order, 3, 10, cursor=cursor)

    assert [r["media_id"] for r in third.rows] == everything[30:40]


def test_a_total_too_costly_to_count_is_a_lower_bound_until_the_last_page(
    runtime: Runtime, alice: Actor
) -> None:
    _, root = rich_dataset(runtime, alice)
    view = view_of(runtime)
    view.limits = SearchLimits(sort_at_most=0, walk_at_most=10_000, count_at_most=10)
    where = MediaFilter(kind="image", tags=("cat",))
    matching = len(searched(runtime, root, where))

    first = view.search(root, where, BY_NAME, 1, 5)
    past = view.search(root, where, BY_NAME, 100, 5)

    assert first.total_is_lower_bound
    assert 5 < first.total < matching
    assert (past.rows, past.total, past.total_is_lower_bound) == ([], matching, False)


def test_a_total_counted_over_the_roots_candidates_is_exact_whatever_other_versions_hold(
    runtime: Runtime, alice: Actor
) -> None:
    dataset_id, before = rich_dataset(runtime, alice)
    runtime.app.create_snapshot(alice, dataset_id, "before")
    # Every item rewritten: the index now holds each tag's candidates twice over.
    edit(
        runtime,
        alice,
        dataset_id,
        lambda items: {key: {**item, "size": 7} for key, item in items.items()},
    )
    runtime.catch_up()
    current = runtime.app.get_dataset(alice, dataset_id).current["root"]
    where = MediaFilter(kind="image", tags=("cat",))
    matching = len(searched(runtime, current, where))
    cats = len(searched(runtime, current, MediaFilter(tags=("cat",))))
    assert len(searched(runtime, before, where)) == matching > 5
    view = view_of(runtime)
    # Counting stops after one candidate more than the root has: exact, though the index
    # has twice as many.
    view.limits = SearchLimits(sort_at_most=0, walk_at_most=10_000, count_at_most=cats + 1)

    first = view.search(current, where, BY_NAME, 1, 5)

    assert (first.total, first.total_is_lower_bound) == (matching, False)


def test_a_known_total_is_trusted_instead_of_counted(runtime: Runtime, alice: Actor) -> None:
    _, root = rich_dataset(runtime, alice)
    counts = runtime.app.tree.counts(root)
    view = view_of(runtime)

    everything = view.search(root, MediaFilter(), MediaOrder(), 1, 20, total=counts.items)
    videos = view.search(root, MediaFilter(kind="video"), MediaOrder(), 1, 100)

    assert (len(everything.rows), everything.total) == (20, 150)
    assert videos.total == counts.videos == len(videos.rows) == 30


def test_a_snapshot_is_searched_as_it_was_after_the_data_changed(
    runtime: Runtime, alice: Actor
) -> None:
    dataset_id, before = rich_dataset(runtime, alice)
    snapshot_id = runtime.app.create_snapshot(alice, dataset_id, "before").result.snapshot_id
    tagged = MediaFilter(tags=("cat",))
    cats = searched(runtime, before, tagged)
    edit(
        runtime,
        alice,
        dataset_id,
        lambda items: {
            key: {**items[key], "tags": [], "metadata": {**items[key]["metadata"], "score": 99}}
            for key in cats[:5]
        },
    )
    runtime.catch_up()
    dataset = runtime.app.get_dataset(alice, dataset_id)
    snapshot_root = dataset.checkpoints[str(snapshot_id)]["version"]["root"]
    high = MediaFilter(fields=(FieldFilter("score", gte=50.0),))

    assert snapshot_root == before != dataset.current["root"]
    assert searched(runtime, snapshot_root, tagged) == cats
    assert searched(runtime, dataset.current["root"], tagged) == cats[5:]
    assert searched(runtime, snapshot_root, high) == []
    assert sorted(searched(runtime, dataset.current["root"], high)) == sorted(cats[:5])


def test_numeric_fields_are_those_holding_a_number_in_the_version(
    runtime: Runtime, alice: Actor
) -> None:
    dataset_id, root = rich_dataset(runtime, alice)
    edit(
        runtime,
        alice,
        dataset_id,
        lambda items: {
            key: {**r, "metadata": {**r["metadata"], "taken_at": 2024}}
            for key, r in list(items.items())[:1]
        },
    )
    runtime.catch_up()
    edited = runtime.app.get_dataset(alice, dataset_id).current["root"]
    fields = {"score", "camera", "taken_at", "reviewed", "people", "absent"}

    assert view_of(runtime).numeric_fields(root, fields) == {"score"}
    assert view_of(runtime).numeric_fields(edited, fields) == {"score", "taken_at"}


def test_clusters_come_largest_first_with_samples_by_file_name(
    runtime: Runtime, alice: Actor
) -> None:
    _, root = rich_dataset(runtime, alice)
    records = dict(runtime.app.tree.items(root))
    members: dict[str, list[str]] = {}
    for key in expected_order(records, MediaOrder()):
        if records[key]["cluster_id"] is not None:
            members.setdefault(records[key]["cluster_id"], []).append(key)
    expected = sorted(members.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    view = view_of(runtime)

    first, total = view.clusters(root, 1, 2)
    rest, _ = view.clusters(root, 2, 2)

    assert total == len(members) == 3
    assert [(c, size) for c, size, _ in first + rest] == [(c, len(m)) for c, m in expected]
    assert [[r["media_id"] for r in samples] for _, _, samples in first + rest] == [
        m[:4] for _, m in expected
    ]
    assert view.clusters(root, 3, 2) == ([], 3)


def test_long_tags_and_values_are_indexed_and_found(runtime: Runtime, alice: Actor) -> None:
    dataset_id = ingested(runtime, alice, "long", images=2, videos=0)
    long_text = "\N{GRINNING FACE}" * 3000  # four bytes each in UTF-8
    edit(
        runtime,
        alice,
        dataset_id,
        lambda items: {
            min(items): {
                **items[min(items)],
                "tags": [long_text],
                "metadata": {long_text: long_text},
                "labels": [{"class_name": long_text}],
            }
        },
    )
    runtime.catch_up()
    root = runtime.app.get_dataset(alice, dataset_id).current["root"]
    where = MediaFilter(
        tags=(long_text,), label=long_text, fields=(FieldFilter(long_text, equals=long_text),)
    )

    [found] = view_of(runtime).search(root, where, MediaOrder(), 1, 10).rows

    assert found["tags"] == [long_text]
    assert found["media_id"] == min(dict(runtime.app.tree.items(root)))


def test_a_rebuild_gives_the_same_search_rows_as_the_live_index(
    runtime: Runtime, alice: Actor
) -> None:
    dataset_id, _ = rich_dataset(runtime, alice)
    runtime.app.create_snapshot(alice, dataset_id, "rich")
    edit(
        runtime,
        alice,
        dataset_id,
        lambda items: {
            key: {**r, "cluster_id": "moved", "tags": ["re-tagged"]}
            for key, r in sorted(items.items())[:70]
        },
    )
    runtime.catch_up()
    view = view_of(runtime)
    live = dump(view)
    assert all(live[table] for table in ("item_tags", "item_labels", "item_metadata"))

    view.store.clear()
    Projector(
        runtime.app, MediaIndexProjection(ContentTree(runtime.backend.nodes)), view, batch_size=3
    ).catch_up()

    assert dump(view) == live


def test_indexing_in_bulk_gives_the_same_rows_and_indexes(
    runtime: Runtime, alice: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset_id, _ = rich_dataset(runtime, alice)
    edit(runtime, alice, dataset_id, replace_all(rich_records(seed=8)))  # every leaf new
    runtime.catch_up()
    view = view_of(runtime)
    live, live_indexes = dump(view), index_names(view)

    # A threshold of one item: every root indexed in full, and every edit's new leaves, go
    # in with the secondary indexes put off to the end of the block (on SQLite).
    monkeypatch.setattr(media_index_writer, "_BULK_ITEMS", 1)
    view.store.clear()
    Projector(
        runtime.app, MediaIndexProjection(ContentTree(runtime.backend.nodes)), view, batch_size=3
    ).catch_up()

    assert dump(view) == live
    assert index_names(view) == live_indexes
    assert {"items_by_name", "tags_by_tag", "metadata_by_number"} <= live_indexes
    root = runtime.app.get_dataset(alice, dataset_id).current["root"]
    where = MediaFilter(tags=("cat",), fields=(FieldFilter("score", gte=1.0),))
    expected = rich_records(seed=8)
    order = MediaOrder("size", descending=True)
    found = searched(runtime, root, where, order)
    assert found == expected_order({k: r for k, r in expected.items() if matches(r, where)}, order)
    assert found


def index_names(view: MediaIndexView) -> set[str]:
    """The names of the media index's indexes, as its backend's catalogue lists them."""
    with view.store.reading() as sql:
        if sql.dialect == "sqlite":
            return {
                row["name"]
                for row in sql.all("SELECT name FROM sqlite_master WHERE type = 'index'")
            }
        rows = sql.all(
            "SELECT indexname AS name FROM pg_indexes WHERE schemaname = ?",
            (view.store.datastore.schema,),
        )
    prefix = "snapset_media_index_"
    return {row["name"].removeprefix(prefix) for row in rows if row["name"].startswith(prefix)}


def test_metadata_names_cut_to_the_same_text_are_both_indexed(
    runtime: Runtime, alice: Actor
) -> None:
    dataset_id = ingested(runtime, alice, "names", images=1, videos=0)
    stem = "f" * 200
    edit(
        runtime,
        alice,
        dataset_id,
        lambda items: {
            min(items): {**items[min(items)], "metadata": {stem + "a": [1, 2], stem + "b": 3}}
        },
    )
    runtime.catch_up()
    root = runtime.app.get_dataset(alice, dataset_id).current["root"]

    for value in (1, 2, 3):
        where = MediaFilter(fields=(FieldFilter(stem + "a", equals=str(value)),))
        assert len(view_of(runtime).search(root, where, MediaOrder(), 1, 10).rows) == 1


def test_postgresql_reads_run_without_jit(postgres_url: str, tmp_path: Path) -> None:
    """Explore's queries are short: JIT compiling, which PostgreSQL starts from a plan's
    estimated cost, took about 20 ms of a 50 ms query."""
    built = build_runtime(Settings(data_dir=tmp_path / "data", database_url=postgres_url))
    try:
        with built.backend.views["media_index"].store.reading() as sql:
            assert sql.value("SHOW jit") == "off"
    finally:
        built.close()
