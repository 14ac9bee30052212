"""The content-tree node tables on SQLite and PostgreSQL, and garbage collection over them."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from adapters.runtime import Runtime
from application.actor import Actor
from application.garbage import collect_garbage
from domain.content_tree import ContentTree, reachable
from tests.integration.helpers import edit, ingested, synthetic_records, tag_first


def node(body: bytes) -> tuple[str, bytes]:
    return hashlib.sha256(body).hexdigest(), body


def clock_tick() -> float:
    """A wall-clock time strictly after every node written so far."""
    start = time.time()
    while (now := time.time()) <= start:
        pass
    return now


def test_put_many_twice_keeps_one_row_and_raises_nothing(runtime: Runtime) -> None:
    nodes = runtime.backend.nodes
    before = nodes.count()
    h, body = node(b"node one")

    nodes.put_many({h: body})
    nodes.put_many({h: body})

    assert nodes.count() == before + 1
    assert nodes.get_many([h]) == {h: body}


def test_get_many_returns_present_nodes_and_omits_absent_ones(runtime: Runtime) -> None:
    nodes = runtime.backend.nodes
    a, b, missing = node(b"a"), node(b"b"), node(b"never stored")
    nodes.put_many(dict([a, b]))

    found = nodes.get_many([a[0], missing[0], b[0]])

    assert found == dict([a, b])
    assert nodes.get_many([missing[0]]) == {}
    assert nodes.get_many([]) == {}


def test_get_many_reads_more_hashes_than_one_query_chunk(runtime: Runtime) -> None:
    nodes = runtime.backend.nodes
    stored = dict(node(f"body {i}".encode()) for i in range(1200))
    nodes.put_many(stored)

    assert nodes.get_many(list(stored)) == stored


def test_sweep_removes_only_old_nodes_not_kept(runtime: Runtime) -> None:
    nodes = runtime.backend.nodes
    old_kept, old_doomed, old_doomed_too = node(b"kept"), node(b"doomed"), node(b"doomed too")
    nodes.put_many(dict([old_kept, old_doomed, old_doomed_too]))
    cutoff = clock_tick()
    young = node(b"written after the cutoff")
    nodes.put_many(dict([young]))

    removed = nodes.sweep({old_kept[0]}, cutoff)

    assert removed == 2
    everything = [old_kept[0], old_doomed[0], old_doomed_too[0], young[0]]
    assert set(nodes.get_many(everything)) == {old_kept[0], young[0]}


def test_sweep_with_an_early_cutoff_removes_nothing(runtime: Runtime) -> None:
    nodes = runtime.backend.nodes
    nodes.put_many(dict([node(b"x"), node(b"y")]))
    count = nodes.count()

    assert nodes.sweep(set(), time.time() - 3600) == 0
    assert nodes.count() == count


def test_garbage_collection_keeps_every_live_tree_and_removes_the_rest(
    runtime: Runtime, alice: Actor
) -> None:
    app, nodes = runtime.app, runtime.backend.nodes
    dataset_id = ingested(runtime, alice, "gc")
    edit(runtime, alice, dataset_id, lambda items: synthetic_records(200))
    doomed_checkpoint = app.create_snapshot(alice, dataset_id, "doomed").result.snapshot_id
    edit(runtime, alice, dataset_id, tag_first("second"))
    app.create_snapshot(alice, dataset_id, "kept")
    edit(runtime, alice, dataset_id, tag_first("third"))
    dataset = app.get_dataset(alice, dataset_id)
    doomed_root = dataset.checkpoints[str(doomed_checkpoint)]["version"]["root"]
    app.delete_snapshot(alice, dataset_id, doomed_checkpoint)
    edit(runtime, alice, dataset_id, tag_first("fourth"))

    dataset = app.get_dataset(alice, dataset_id)
    live = {dataset.current["root"]} | {
        c["version"]["root"] for c in dataset.checkpoints.values() if not c["deleted"]
    }
    assert doomed_root not in live
    expected: dict[str, dict[str, Any]] = {root: dict(app.tree.items(root)) for root in live}
    assert max(len(items) for items in expected.values()) == 204
    keep = reachable(app.tree, live)
    before = nodes.count()

    removed = collect_garbage(app, nodes, grace_seconds=0)

    assert removed > 0
    assert nodes.count() == before - removed
    assert nodes.get_many([doomed_root]) == {}
    assert set(nodes.get_many(keep)) == keep
    fresh = ContentTree(nodes)
    for root, items in expected.items():
        assert dict(fresh.items(root)) == items


def test_garbage_collection_keeps_the_version_a_running_export_reads(
    runtime: Runtime, alice: Actor
) -> None:
    app, nodes = runtime.app, runtime.backend.nodes
    dataset_id = ingested(runtime, alice, "exported")
    roots = {}
    for name in ("exported", "doomed"):
        edit(runtime, alice, dataset_id, tag_first(name))
        checkpoint = app.create_snapshot(alice, dataset_id, name).result.snapshot_id
        roots[name] = (checkpoint, app.get_dataset(alice, dataset_id).current["root"])
    edit(runtime, alice, dataset_id, tag_first("latest"))
    app.create_snapshot(alice, dataset_id, "latest")
    app.start_export(alice, dataset_id, str(roots["exported"][0]), include_media=False)
    for checkpoint, _ in roots.values():
        app.delete_snapshot(alice, dataset_id, checkpoint)
    expected = dict(app.tree.items(roots["exported"][1]))

    assert collect_garbage(app, nodes, grace_seconds=0) > 0

    assert nodes.get_many([roots["doomed"][1]]) == {}
    assert dict(ContentTree(nodes).items(roots["exported"][1])) == expected


def test_garbage_collection_within_the_grace_period_removes_nothing(
    runtime: Runtime, alice: Actor
) -> None:
    app, nodes = runtime.app, runtime.backend.nodes
    dataset_id = ingested(runtime, alice, "grace")
    edit(runtime, alice, dataset_id, tag_first("one"))
    edit(runtime, alice, dataset_id, tag_first("two"))
    count = nodes.count()

    assert collect_garbage(app, nodes, grace_seconds=3600) == 0
    assert nodes.count() == count
