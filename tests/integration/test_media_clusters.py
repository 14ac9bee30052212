"""Clusters of any version, from summaries shared across edits: always what the records say.

Expectations come from the content tree's records through plain Python (clusters largest
first, then by id; samples by file name, then media id), never from the SQL.
"""

from __future__ import annotations

import random
from typing import Any
from uuid import UUID

import pytest

from adapters.projector import Projector
from adapters.runtime import Runtime
from adapters.views import media_clusters
from adapters.views.media_clusters import MediaClusters
from adapters.views.media_index import MediaIndexView
from application.actor import Actor
from application.datasets import creation_task_id
from application.garbage import collect_garbage
from domain.content_tree import ContentTree
from projections.media_index import MediaIndexProjection
from tests.integration.helpers import edit, row_counts

Records = dict[str, dict[str, Any]]
Page = list[tuple[str, int, list[str]]]
SIZES = (9, 7, 7, 5, 5, 5, 3, 3, 2, 2, 2, 1, 1)  # ties, so the cluster id breaks them


def view_of(runtime: Runtime) -> MediaIndexView:
    view = runtime.backend.views["media_index"]
    assert isinstance(view, MediaIndexView)
    return view


def clustered_records(seed: int = 3) -> Records:
    """Records in clusters of ``SIZES`` members plus unclustered ones, with file names
    shared inside a cluster (the media id orders those) and spread over many leaves."""
    rng = random.Random(seed)
    clusters = [f"k{n:02d}" for n in range(len(SIZES))]
    rng.shuffle(clusters)
    labels = [c for c, size in zip(clusters, SIZES, strict=True) for _ in range(size)]
    labels += [None] * 40
    records: Records = {}
    for cluster in labels:
        media_id = str(UUID(int=rng.getrandbits(128)))
        records[media_id] = {
            "media_id": media_id,
            "kind": "image",
            "file_name": f"dir{rng.randint(0, 2)}/img{rng.randint(0, 5)}.png",
            "blob": "0" * 64,
            "size": 1,
            "width": 1,
            "height": 1,
            "metadata": {},
            "tags": [],
            "labels": [],
            "enrichment": {},
            "cluster_id": cluster,
        }
    return records


def published(runtime: Runtime, actor: Actor, records: Records) -> tuple[UUID, str]:
    """A dataset whose first version holds ``records``, so the index sees its root whole."""
    app = runtime.app
    root = app.tree.build(records.items())
    dataset_id, _ = app.create_dataset(actor, "clustered", source={"source": "test"})
    task = str(creation_task_id(UUID(str(dataset_id))))
    app.claim_task(UUID(str(dataset_id)), task, "test", 60)
    app.complete_operation(UUID(str(dataset_id)), task, "test", root, "READY")
    runtime.catch_up()
    return UUID(str(dataset_id)), root


def current_root(runtime: Runtime, actor: Actor, dataset_id: UUID) -> str:
    runtime.catch_up()
    root: str = runtime.app.get_dataset(actor, dataset_id).current["root"]
    return root


def expected(records: Records, samples: int) -> Page:
    members: dict[str, list[str]] = {}
    for key, record in sorted(records.items(), key=lambda kv: (kv[1]["file_name"], kv[0])):
        if record["cluster_id"] is not None:
            members.setdefault(record["cluster_id"], []).append(key)
    ranked = sorted(members.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [(cluster, len(keys), keys[:samples]) for cluster, keys in ranked]


def assert_clusters_match_records(runtime: Runtime, root: str) -> None:
    """Every page (and the one past the end) equals the records', samples record for record."""
    records = {key: r for key, r in runtime.app.tree.items(root)}
    view = view_of(runtime)
    for page_size, samples in ((4, 4), (5, 2), (100, 1)):
        everything = expected(records, samples)
        pages = -(-len(everything) // page_size)
        for page in range(1, pages + 2):
            found, total = view.clusters(root, page, page_size, samples)
            assert total == len(everything)
            assert [(c, size, [r["media_id"] for r in rows]) for c, size, rows in found] == (
                everything[(page - 1) * page_size : page * page_size]
            ), (page_size, samples, page)
            for _, _, rows in found:
                assert all(row == records[row["media_id"]] for row in rows)


def summary_of(runtime: Runtime, root: str) -> str | None:
    with view_of(runtime).store.reading() as sql:
        return MediaClusters(sql).summary_of(root)


def test_clusters_of_a_root_indexed_whole_match_its_records(runtime: Runtime, alice: Actor) -> None:
    _, root = published(runtime, alice, clustered_records())

    assert summary_of(runtime, root) == root
    assert_clusters_match_records(runtime, root)
    assert view_of(runtime).clusters(root, 1, 3)[1] == len(SIZES)


def test_a_tag_and_rename_edit_shares_its_base_summary_and_samples_the_new_version(
    runtime: Runtime, alice: Actor
) -> None:
    records = clustered_records()
    dataset_id, base = published(runtime, alice, records)
    [(_, _, first_samples), *_] = expected(records, 4)
    before = row_counts(view_of(runtime))

    renamed = first_samples[0]  # the largest cluster's first sample sorts last now

    def retag_and_rename(items: Records) -> Records:
        changes = {key: {**items[key], "tags": ["edited"]} for key in sorted(items)[::7]}
        return changes | {renamed: {**changes.get(renamed, items[renamed]), "file_name": "z.png"}}

    edit(runtime, alice, dataset_id, retag_and_rename)
    root = current_root(runtime, alice, dataset_id)

    after = row_counts(view_of(runtime))
    assert root != base
    assert summary_of(runtime, root) == summary_of(runtime, base) == base
    assert (after["summaries"], after["summary_sizes"]) == (
        before["summaries"],
        before["summary_sizes"],
    )
    assert after["root_summaries"] == before["root_summaries"] + 1
    assert_clusters_match_records(runtime, root)
    assert_clusters_match_records(runtime, base)
    [(_, _, samples)], _ = view_of(runtime).clusters(root, 1, 1)
    assert renamed not in [r["media_id"] for r in samples]


def regroup(items: Records) -> Records:
    """An edit that changes clusters every way: members move to another cluster, leave
    every cluster, a whole cluster goes, new clusters and new clustered items appear."""
    by_cluster: dict[str, list[str]] = {}
    for key in sorted(items):
        if items[key]["cluster_id"] is not None:
            by_cluster.setdefault(items[key]["cluster_id"], []).append(key)
    largest, second, *_, smallest = sorted(by_cluster, key=lambda c: -len(by_cluster[c]))
    changes: Records = {
        key: {**items[key], "cluster_id": second} for key in by_cluster[largest][:3]
    }
    changes |= {key: {**items[key], "cluster_id": None} for key in by_cluster[second][:1]}
    changes |= dict.fromkeys(by_cluster[smallest])
    unclustered = sorted(k for k in items if items[k]["cluster_id"] is None)
    changes |= {
        key: {**items[key], "cluster_id": f"new{n // 2:02d}"}
        for n, key in enumerate(unclustered[:30])
    }
    extra = clustered_records(seed=11)
    changes |= {key: {**r, "cluster_id": largest} for key, r in list(extra.items())[:2]}
    return changes


@pytest.mark.parametrize("few_clusters", [1000, 0], ids=["applied", "regrouped"])
def test_a_cluster_changing_edit_gets_a_summary_of_its_own_and_the_snapshot_keeps_its(
    runtime: Runtime, alice: Actor, monkeypatch: pytest.MonkeyPatch, few_clusters: int
) -> None:
    # 1000: the edit's difference is applied to a copy of the base's sizes; 0: it has more
    # clusters than the base, so the new root's items are grouped afresh.
    monkeypatch.setattr(media_clusters, "_FEW_CLUSTERS", few_clusters)
    dataset_id, base = published(runtime, alice, clustered_records())
    snapshot_id = runtime.app.create_snapshot(alice, dataset_id, "before").result.snapshot_id

    edit(runtime, alice, dataset_id, regroup)
    root = current_root(runtime, alice, dataset_id)

    view = view_of(runtime)
    assert view.version_root(str(dataset_id), str(snapshot_id)) == base != root
    assert summary_of(runtime, root) == root
    assert summary_of(runtime, base) == base
    assert view.clusters(root, 1, 100)[1] == len(SIZES) - 1 + 15
    assert_clusters_match_records(runtime, root)
    assert_clusters_match_records(runtime, base)


def test_clusters_are_the_same_after_a_rebuild(runtime: Runtime, alice: Actor) -> None:
    dataset_id, base = published(runtime, alice, clustered_records())
    edit(
        runtime, alice, dataset_id, lambda items: {min(items): {**items[min(items)], "tags": ["x"]}}
    )
    edit(runtime, alice, dataset_id, regroup)
    roots = [base, current_root(runtime, alice, dataset_id)]
    view = view_of(runtime)
    live = [view.clusters(root, page, 4) for root in roots for page in (1, 2, 5)]

    view.store.clear()
    assert view.clusters(base, 1, 4) == ([], 0)
    Projector(
        runtime.app, MediaIndexProjection(ContentTree(runtime.backend.nodes)), view, batch_size=2
    ).catch_up()

    assert [view.clusters(root, page, 4) for root in roots for page in (1, 2, 5)] == live
    for root in roots:
        assert_clusters_match_records(runtime, root)


def test_a_rebuild_after_garbage_collection_summarises_the_live_roots_whole(
    runtime: Runtime, alice: Actor
) -> None:
    dataset_id, _ = published(runtime, alice, clustered_records())
    edit(runtime, alice, dataset_id, regroup)
    edit(runtime, alice, dataset_id, lambda items: {min(items): None})
    root = current_root(runtime, alice, dataset_id)
    assert collect_garbage(runtime.app, runtime.backend.nodes, grace_seconds=0) > 0
    view = view_of(runtime)
    view.store.clear()

    Projector(
        runtime.app, MediaIndexProjection(ContentTree(runtime.backend.nodes)), view
    ).catch_up()

    assert summary_of(runtime, root) == root  # its base was collected: indexed whole
    assert_clusters_match_records(runtime, root)


@pytest.mark.parametrize(
    "walk_spans", [(2, 8, 32), (1, 32), (1,)], ids=["walked", "walked-again", "from-root-items"]
)
def test_a_version_holding_few_of_its_clusters_index_entries_gets_the_same_samples(
    runtime: Runtime, alice: Actor, monkeypatch: pytest.MonkeyPatch, walk_spans: tuple[int, ...]
) -> None:
    # The edit removes each cluster's first two members by file name, which stay indexed
    # for the base: the current version's samples come after them in items_by_cluster_name,
    # beyond a walk of one entry per sample, so a longer walk (SQLite; PostgreSQL walks only
    # the last span) or a read of the version's own items must find them.
    monkeypatch.setattr(media_clusters, "_WALK_SPANS", walk_spans)
    records = clustered_records()
    dataset_id, base = published(runtime, alice, records)
    first = [key for _, _, keys in expected(records, 2) for key in keys]

    edit(runtime, alice, dataset_id, lambda items: dict.fromkeys(first))
    root = current_root(runtime, alice, dataset_id)

    assert_clusters_match_records(runtime, root)
    assert_clusters_match_records(runtime, base)


def test_an_edit_of_a_root_without_a_summary_gives_the_new_root_one_of_its_own(
    runtime: Runtime, alice: Actor
) -> None:
    # Not expected (every indexed root gets one), but an edit must not fail or share a
    # missing summary if it happens.
    dataset_id, base = published(runtime, alice, clustered_records())
    store = view_of(runtime).store
    with store._open(commit=True) as cursor:  # lose the base's summary on purpose
        store._sql(cursor).run("DELETE FROM {t}root_summaries WHERE root = ?", (base,))

    edit(
        runtime, alice, dataset_id, lambda items: {min(items): {**items[min(items)], "tags": ["x"]}}
    )
    root = current_root(runtime, alice, dataset_id)

    assert summary_of(runtime, root) == root
    assert_clusters_match_records(runtime, root)
