"""The content tree on an in-memory node store: canonical, shared, cheap to diff, safe to sweep."""

from __future__ import annotations

import gc
import math
import random
import tracemalloc
from collections.abc import Mapping
from typing import Any

import pytest

from domain import content_tree
from domain.content_tree import (
    EMPTY_ROOT,
    Change,
    ContentTree,
    Counts,
    NodeMissing,
    Record,
    reachable,
)
from tests.unit.fakes import DictNodeStore

KINDS = ("image", "image", "video", "other")


def key(i: int) -> str:
    return f"media-{i:05d}"


def record(i: int, version: int = 0) -> Record:
    return {"kind": KINDS[i % len(KINDS)], "file_name": f"f{i}.png", "v": version}


def content(n: int, start: int = 0) -> dict[str, Record]:
    return {key(i): record(i) for i in range(start, start + n)}


def fresh_root(items: dict[str, Record], capacity: int) -> str:
    """The root of ``items`` built in one go in a store of its own."""
    return ContentTree(DictNodeStore(), leaf_capacity=capacity).build(items.items())


def random_history(
    rng: random.Random, final: dict[str, Record], extra: int, *, grow_first: bool
) -> list[tuple[str, Record | None]]:
    """A random sequence of sets and removes whose net effect is ``final``.

    Each final key may first get a stale value; ``extra`` other keys are added and later
    removed. ``grow_first`` adds everything before removing anything (splits, then collapses).
    """
    per_key: dict[str, list[tuple[str, Record | None]]] = {}
    for k, rec in final.items():
        stale = [(k, {**rec, "v": -1})] if rng.random() < 0.5 else []
        per_key[k] = [*stale, (k, rec)]
    for i in range(extra):
        k = f"extra-{i:04d}"
        per_key[k] = [(k, record(i, 7)), (k, None)]
    if grow_first:
        firsts = [ops[0] for ops in per_key.values()]
        rests = [op for ops in per_key.values() for op in ops[1:]]
        rng.shuffle(firsts)
        rng.shuffle(rests)
        return firsts + rests
    history: list[tuple[str, Record | None]] = []
    queues = {k: list(ops) for k, ops in per_key.items()}
    while queues:
        k = rng.choice(sorted(queues))
        history.append(queues[k].pop(0))
        if not queues[k]:
            del queues[k]
    return history


def apply_in_batches(
    tree: ContentTree, history: list[tuple[str, Record | None]], rng: random.Random, max_batch: int
) -> str:
    root = EMPTY_ROOT
    position = 0
    while position < len(history):
        size = rng.randint(1, max_batch)
        batch: dict[str, Record | None] = {}
        for k, rec in history[position : position + size]:
            batch[k] = rec  # a later change to a key in the same batch wins, as in the history
        root = tree.update(root, batch)
        position += size
    return root


# Canonical roots.


@pytest.mark.parametrize("capacity", [4, 64])
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("grow_first", [False, True])
def test_same_content_gives_the_same_root_whatever_the_order_batching_and_deletes(
    capacity: int, seed: int, *, grow_first: bool
) -> None:
    rng = random.Random(seed)
    final = content(300)
    expected = fresh_root(final, capacity)
    history = random_history(rng, final, extra=200, grow_first=grow_first)
    for max_batch in (1, 17, len(history)):
        tree = ContentTree(DictNodeStore(), leaf_capacity=capacity)
        root = apply_in_batches(tree, history, rng, max_batch)
        assert root == expected
        assert dict(tree.items(root)) == final


@pytest.mark.parametrize("capacity", [4, 64])
def test_one_by_one_inserts_in_shuffled_orders_give_the_root_of_a_single_build(
    capacity: int,
) -> None:
    final = content(300)
    expected = fresh_root(final, capacity)
    for seed in (10, 11):
        keys = list(final)
        random.Random(seed).shuffle(keys)
        tree = ContentTree(DictNodeStore(), leaf_capacity=capacity)
        root = EMPTY_ROOT
        for k in keys:
            root = tree.update(root, {k: final[k]})
        assert root == expected


def test_different_content_gives_a_different_root() -> None:
    base = content(300)
    changed = {**base, key(5): record(5, version=1)}
    assert fresh_root(base, 4) != fresh_root(changed, 4)
    assert fresh_root(base, 4) != fresh_root(content(299), 4)


def test_removing_an_absent_key_or_changing_nothing_keeps_the_root() -> None:
    tree = ContentTree(DictNodeStore(), leaf_capacity=4)
    root = tree.build(content(300).items())
    assert tree.update(root, {}) == root
    assert tree.update(root, {"no-such-key": None}) == root
    assert tree.update(root, {key(3): record(3)}) == root


# Emptiness.


def test_the_empty_tree_is_empty_root_and_is_never_stored() -> None:
    store = DictNodeStore()
    tree = ContentTree(store)
    assert tree.build([]) == EMPTY_ROOT
    assert list(tree.items(EMPTY_ROOT)) == []
    assert tree.counts(EMPTY_ROOT) == Counts(0, 0, 0)
    assert tree.get(EMPTY_ROOT, key(1)) is None
    assert list(tree.leaves(EMPTY_ROOT)) == []
    assert store.nodes == {}


@pytest.mark.parametrize("batches", [1, 7, 300])
def test_removing_every_item_collapses_back_to_empty_root(batches: int) -> None:
    tree = ContentTree(DictNodeStore(), leaf_capacity=4)
    items = content(300)
    root = tree.build(items.items())
    assert root != EMPTY_ROOT
    keys = list(items)
    random.Random(batches).shuffle(keys)
    size = math.ceil(len(keys) / batches)
    for start in range(0, len(keys), size):
        root = tree.update(root, dict.fromkeys(keys[start : start + size]))
    assert root == EMPTY_ROOT


def test_removing_down_to_a_few_items_collapses_interior_nodes_into_one_leaf() -> None:
    store = DictNodeStore()
    tree = ContentTree(store, leaf_capacity=4)
    root = tree.build(content(300).items())
    assert len(set(tree.nodes(root))) > 1
    root = tree.update(root, {key(i): None for i in range(3, 300)})
    assert list(tree.nodes(root)) == [root]
    assert root == fresh_root(content(3), 4)


# Reads: get and counts.


def test_get_returns_each_record_and_none_for_an_absent_key() -> None:
    tree = ContentTree(DictNodeStore(), leaf_capacity=4)
    items = content(300)
    root = tree.build(items.items())
    for k in (key(0), key(150), key(299)):
        assert tree.get(root, k) == items[k]
    assert tree.get(root, "absent") is None
    assert ContentTree(DictNodeStore()).get(EMPTY_ROOT, key(0)) is None


def test_get_sees_the_new_record_only_under_the_new_root() -> None:
    tree = ContentTree(DictNodeStore(), leaf_capacity=4)
    old = tree.build(content(50).items())
    new = tree.update(old, {key(7): record(7, version=2), key(8): None})
    assert tree.get(new, key(7)) == record(7, version=2)
    assert tree.get(new, key(8)) is None
    assert tree.get(old, key(7)) == record(7)
    assert tree.get(old, key(8)) == record(8)


@pytest.mark.parametrize(("n", "capacity"), [(12, 64), (300, 4), (1000, 64)])
def test_counts_give_items_images_and_videos(n: int, capacity: int) -> None:
    tree = ContentTree(DictNodeStore(), leaf_capacity=capacity)
    items = content(n)
    root = tree.build(items.items())
    images = sum(r["kind"] == "image" for r in items.values())
    videos = sum(r["kind"] == "video" for r in items.values())
    assert tree.counts(root) == Counts(n, images, videos)
    assert images > 0
    assert videos > 0
    assert images + videos < n
    smaller = tree.update(root, {key(0): None, key(2): None})  # an image and a video
    assert tree.counts(smaller) == Counts(n - 2, images - 1, videos - 1)


# Structural sharing.


def path_length(store: DictNodeStore, root: str, k: str) -> int:
    """How many nodes lie on the path from ``root`` to ``k``'s leaf (depth + 1)."""
    before = store.reads
    ContentTree(store).get(root, k)
    return store.reads - before


@pytest.mark.parametrize("n", [500, 5000])
def test_a_one_item_change_writes_at_most_depth_plus_one_nodes(n: int) -> None:
    store = DictNodeStore()
    tree = ContentTree(store)
    root = tree.build(content(n).items())
    old_nodes = set(tree.nodes(root))
    k = key(n // 3)
    length = path_length(store, root, k)
    assert 1 < length <= 1 + math.ceil(math.log(n, 16))  # O(log n) with fan-out 16

    for change in ({k: record(n // 3, version=1)}, {k: None}):
        store.written.clear()
        new_root = tree.update(root, change)
        assert new_root != root
        assert 0 < len(store.written) <= length
        new_nodes = set(tree.nodes(new_root))
        assert new_nodes - old_nodes <= set(store.written)
        assert len(new_nodes & old_nodes) >= len(new_nodes) - length  # the rest is shared


def test_rebuilding_the_same_content_writes_no_new_node_bodies() -> None:
    store = DictNodeStore()
    tree = ContentTree(store)
    root = tree.build(content(2000).items())
    stored = dict(store.nodes)
    assert ContentTree(store).build(content(2000).items()) == root
    assert store.nodes == stored


def test_a_stream_of_changes_in_tree_order_gives_the_root_of_one_update_and_writes_alike() -> None:
    items = content(5000)
    base_store, stream_store = DictNodeStore(), DictNodeStore()
    root = ContentTree(base_store).build(items.items())
    stream_store.nodes.update(base_store.nodes)
    tree = ContentTree(base_store)
    changes = [(k, {**r, "v": 1}) for k, r in tree.items(root) if r["kind"] == "image"]
    changes += [(key(7), None), (key(9000), record(9000))]
    base_store.written.clear()

    at_once = tree.update(root, dict(changes))
    streamed = ContentTree(stream_store).update_stream(root, iter(changes), chunk=100)

    assert streamed == at_once
    # Chunks in tree order touch few subtrees each: nodes are rewritten about once, not
    # once per chunk (which would be every leaf 25 times over).
    assert len(stream_store.written) <= 1.5 * len(base_store.written)


class BatchSizes(DictNodeStore):
    """Notes the bytes of each put_many call."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def put_many(self, nodes: Mapping[str, bytes]) -> None:
        self.batches.append(sum(len(body) for body in nodes.values()))
        super().put_many(nodes)


def test_an_update_writes_its_new_nodes_in_bounded_batches_and_gives_the_same_root(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(content_tree, "_PENDING_BYTES", 4096)
    store = BatchSizes()
    # A cache too small to hold what was written: reads of written nodes go to the store.
    tree = ContentTree(store, leaf_capacity=4, cache_bytes=1024)
    items = content(3000)
    root = tree.build(items.items())
    largest_node = max(len(body) for body in store.nodes.values())
    assert len(store.batches) > 10
    assert max(store.batches) < 4096 + largest_node
    assert root == fresh_root(items, 4)

    # Removing most items collapses interior nodes, reading children written batches ago.
    kept = {k: r for k, r in items.items() if int(k[-5:]) % 500 == 0}
    store.batches.clear()
    smaller = tree.update(root, {k: None for k in items if k not in kept})
    assert smaller == fresh_root(kept, 4)
    assert dict(tree.items(smaller)) == kept
    assert max(store.batches) < 4096 + largest_node


def test_the_node_cache_stays_within_its_bytes_whatever_is_read_or_written() -> None:
    budget = 64 << 10
    tree = ContentTree(DictNodeStore(), cache_bytes=budget)
    root = tree.build(content(20_000).items())
    assert tree.cached_bytes <= budget
    assert sum(1 for _ in tree.items(root)) == 20_000
    for i in range(0, 20_000, 97):
        assert tree.get(root, key(i)) == record(i)
    assert 0 < tree.cached_bytes <= budget


def test_the_node_cache_counts_about_the_memory_its_decoded_nodes_take() -> None:
    store = DictNodeStore()
    root = ContentTree(store).build(content(20_000).items())
    tree = ContentTree(store, cache_bytes=1 << 40)  # nothing evicted
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(0, 20_000, 50):
            tree.get(root, key(i))
        gc.collect()
        taken = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert 0.7 * taken <= tree.cached_bytes <= 1.5 * taken


def test_walking_every_item_keeps_no_leaf_in_the_cache() -> None:
    tree = ContentTree(DictNodeStore())
    root = tree.build(content(5000).items())
    hot = tree.get(root, key(1))  # a hot path, cached
    before = tree.cached_bytes
    assert dict(tree.items(root)) == content(5000)
    assert tree.cached_bytes == before
    assert hot == record(1)


# Diff.


def test_diff_returns_exactly_the_changed_items_with_old_and_new_records() -> None:
    tree = ContentTree(DictNodeStore(), leaf_capacity=4)
    old = tree.build(content(300).items())
    new = tree.update(old, {key(10): record(10, version=3), key(20): None, "media-new": record(1)})
    changes = sorted(tree.diff(old, new), key=lambda c: c.key)
    assert changes == [
        Change(key(10), record(10), record(10, version=3)),
        Change(key(20), record(20), None),
        Change("media-new", None, record(1)),
    ]
    backwards = {c.key: (c.old, c.new) for c in tree.diff(new, old)}
    assert backwards == {c.key: (c.new, c.old) for c in changes}
    assert list(tree.diff(old, old)) == []


def test_diff_against_the_empty_tree_lists_every_item() -> None:
    tree = ContentTree(DictNodeStore(), leaf_capacity=4)
    items = content(100)
    root = tree.build(items.items())
    assert {c.key: c.new for c in tree.diff(EMPTY_ROOT, root)} == items
    assert all(c.old is None for c in tree.diff(EMPTY_ROOT, root))


def test_diff_of_a_one_item_change_reads_only_the_changed_paths_from_a_cold_cache() -> None:
    store = DictNodeStore()
    old = ContentTree(store).build(content(5000).items())
    k = key(4321)
    new = ContentTree(store).update(old, {k: record(4321, version=1)})
    node_count = len(set(ContentTree(store).nodes(old)))
    length = path_length(store, old, k)

    cold = ContentTree(store)
    store.reads = 0
    changes = list(cold.diff(old, new))

    assert changes == [Change(k, record(4321), record(4321, version=1))]
    assert store.reads <= 2 * length
    assert store.reads * 20 < node_count


def test_diff_leaves_names_the_leaves_only_in_each_side() -> None:
    store = DictNodeStore()
    tree = ContentTree(store)
    old = tree.build(content(5000).items())
    new = tree.update(old, {key(99): record(99, version=1)})
    old_leaves, new_leaves = set(tree.leaves(old)), set(tree.leaves(new))

    store.reads = 0
    added, removed = ContentTree(store).diff_leaves(old, new)

    assert added == new_leaves - old_leaves
    assert removed == old_leaves - new_leaves
    assert len(added) == len(removed) == 1
    assert store.reads * 20 < len(old_leaves)
    assert ContentTree(store).diff_leaves(old, old) == (set(), set())
    added_all, removed_all = tree.diff_leaves(EMPTY_ROOT, old)
    assert (added_all, removed_all) == (old_leaves, set())


# Garbage collection: mark from live roots, sweep the rest.


def read_fully(store: DictNodeStore, root: str) -> dict[str, Any]:
    cold = ContentTree(store)
    for node_hash in cold.nodes(root):
        assert node_hash in store.nodes or node_hash == EMPTY_ROOT
    return dict(cold.items(root))


def test_reachable_covers_every_node_of_each_live_tree() -> None:
    store = DictNodeStore()
    tree = ContentTree(store, leaf_capacity=4)
    a = tree.build(content(200).items())
    b = tree.update(a, {key(i): None for i in range(0, 200, 3)})
    marked = reachable(ContentTree(store), [a, b])
    assert set(tree.nodes(a)) | set(tree.nodes(b)) == marked


def test_a_sweep_keeping_reachable_nodes_never_breaks_a_live_root() -> None:
    store = DictNodeStore()
    tree = ContentTree(store, leaf_capacity=4)
    v1_items = content(300)
    v1 = tree.build(v1_items.items())
    changes: dict[str, Record | None] = {key(i): None for i in range(0, 300, 5)}
    changes.update({key(i): record(i, version=2) for i in range(1, 300, 7)})
    changes.update(content(20, start=1000))
    v2 = tree.update(v1, changes)
    v2_items = {k: r for k, r in {**v1_items, **changes}.items() if r is not None}

    keep = reachable(ContentTree(store), [v2])  # v1 was dropped
    removed = store.sweep(keep)

    assert removed > 0
    assert read_fully(store, v2) == v2_items
    assert ContentTree(store).counts(v2).items == len(v2_items)
    with pytest.raises(NodeMissing):
        list(ContentTree(store).items(v1))


def test_a_sweep_with_every_root_live_removes_nothing() -> None:
    store = DictNodeStore()
    tree = ContentTree(store, leaf_capacity=4)
    v1 = tree.build(content(150).items())
    v2 = tree.update(v1, {key(3): None})
    assert store.sweep(reachable(ContentTree(store), [v1, v2, EMPTY_ROOT])) == 0
    assert read_fully(store, v1) == content(150)


def test_counts_include_labelled_objects_at_every_size_and_after_edits() -> None:
    tree = ContentTree(DictNodeStore(), leaf_capacity=4)
    records = {
        f"m{i}": {"kind": "image", "labels": [{"class_name": "x"}] * (i % 3)} for i in range(50)
    }
    root = tree.build(records.items())
    assert tree.counts(root).objects == sum(i % 3 for i in range(50))
    edited = tree.update(root, {"m1": {"kind": "video", "labels": []}, "m2": None})
    assert tree.counts(edited).objects == sum(i % 3 for i in range(50)) - 1 - 2
    store = DictNodeStore()
    cold = ContentTree(store, leaf_capacity=4)
    same_content = {k: v for k, v in records.items() if k != "m2"} | {
        "m1": {"kind": "video", "labels": []}
    }
    rebuilt = cold.build(same_content.items())
    assert rebuilt == edited
    assert cold.counts(rebuilt) == tree.counts(edited)
