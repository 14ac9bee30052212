"""Label propagation and metadata import through the real worker on SQLite and PostgreSQL:
the result is published with one event, the report is stored with the task, and the
dataset returns to READY.

Clusters are written into the records directly (with a synchronous content edit), so label
propagation is covered here without depending on a re-index.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from adapters.runtime import Runtime
from adapters.views.task_log import TaskLogView
from application.actor import Actor
from domain.tasks import CUSTOM_METADATA, LABEL_PROPAGATION, REINDEX
from tests.integration.helpers import edit, ingested, settle

CAT = {
    "class_name": "cat",
    "bbox": [1.0, 1.0, 2.0, 2.0],
    "source": "manual",
    "source_media_id": None,
}


def items(runtime: Runtime, actor: Actor, dataset_id: UUID) -> dict[str, dict[str, Any]]:
    dataset = runtime.app.get_dataset(actor, dataset_id)
    return dict(runtime.app.tree.items(dataset.current["root"]))


def task_row(runtime: Runtime, task_id: UUID) -> dict[str, Any]:
    view = runtime.backend.views["task_log"]
    assert isinstance(view, TaskLogView)
    row = view.get(None, str(task_id))
    assert row is not None
    return row


def events_of(runtime: Runtime, dataset_id: UUID) -> list[str]:
    return [type(e).__name__ for e in runtime.app.events.get(dataset_id)]


def clustered_pets(runtime: Runtime, alice: Actor) -> tuple[UUID, list[str]]:
    """Four images: the first three in cluster c1 (the first labelled a cat), one in c2."""
    dataset_id = ingested(runtime, alice, "pets", images=4, videos=0)
    ids = sorted(items(runtime, alice, dataset_id))

    def cluster(current: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return {
            media_id: {
                **record,
                "cluster_id": "c2" if media_id == ids[3] else "c1",
                "labels": [CAT] if media_id == ids[0] else [],
            }
            for media_id, record in current.items()
        }

    edit(runtime, alice, dataset_id, cluster)
    # The clusters are the ones above: a re-index that keeps them publishes "clustered".
    app = runtime.app
    task_id, _ = app.start_operation(alice, dataset_id, REINDEX, {})
    claimed = app.claim_task(dataset_id, str(task_id), "test", 30.0)
    root = claimed.current["root"]
    app.complete_operation(
        dataset_id, str(task_id), "test", root, "READY", facets={"clustered": True}
    )
    return dataset_id, ids


def test_label_propagation_runs_on_the_worker_and_stores_its_report(
    runtime: Runtime, alice: Actor
) -> None:
    dataset_id, ids = clustered_pets(runtime, alice)
    task_id, _ = runtime.app.start_operation(
        alice, dataset_id, LABEL_PROPAGATION, {"media_ids": [ids[0], "missing"]}
    )
    settle(runtime)

    labels = {k: r["labels"] for k, r in items(runtime, alice, dataset_id).items()}
    copy = {**CAT, "source": "propagation", "source_media_id": ids[0]}
    assert labels == {ids[0]: [CAT], ids[1]: [copy], ids[2]: [copy], ids[3]: []}
    row = task_row(runtime, task_id)
    assert row["status"] == "COMPLETED"
    assert json.loads(row["report"]) == {
        "propagated_labels": 2,
        "items_changed": 2,
        "error_count": 1,
        "errors": [{"media_id": "missing", "detail": "the item is not in the dataset"}],
    }
    assert runtime.app.get_dataset(alice, dataset_id).status == "READY"

    again, _ = runtime.app.start_operation(
        alice, dataset_id, LABEL_PROPAGATION, {"media_ids": [ids[0]]}
    )
    settle(runtime)
    assert {k: r["labels"] for k, r in items(runtime, alice, dataset_id).items()} == labels
    assert json.loads(task_row(runtime, again)["report"])["propagated_labels"] == 0


def test_a_metadata_import_publishes_rows_and_schema_in_one_event(
    runtime: Runtime, alice: Actor
) -> None:
    dataset_id = ingested(runtime, alice, "pets", images=2, videos=0)
    ids = sorted(items(runtime, alice, dataset_id))
    task_id, _ = runtime.app.start_operation(
        alice,
        dataset_id,
        CUSTOM_METADATA,
        {"file": "rows.json", "format": "json", "key": "media_id", "schema": {"score": "float"}},
        None,
    )
    folder = runtime.staging.folder(str(task_id))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rows.json").write_text(
        json.dumps([{"media_id": ids[0], "score": 0.5}, {"media_id": ids[1], "score": "x"}])
    )
    before = events_of(runtime, dataset_id)
    settle(runtime)

    published = [
        e
        for e in events_of(runtime, dataset_id)[len(before) :]
        if e not in ("TaskClaimed", "TaskProgressed")
    ]
    assert published == ["OperationCompleted"]
    dataset = runtime.app.get_dataset(alice, dataset_id)
    assert dataset.current["facets"]["schema"] == {"score": {"type": "float"}}
    assert {k: r["metadata"] for k, r in items(runtime, alice, dataset_id).items()} == {
        ids[0]: {"score": 0.5},
        ids[1]: {},
    }
    assert json.loads(task_row(runtime, task_id)["report"])["inserted_rows"] == 1
    assert not folder.exists()


def test_label_propagation_after_a_real_reindex_reaches_the_near_duplicates(
    runtime: Runtime, alice: Actor
) -> None:
    dataset_id = ingested(runtime, alice, "flat", images=3, videos=0)
    runtime.app.start_operation(alice, dataset_id, REINDEX, {})
    settle(runtime)
    dataset = runtime.app.get_dataset(alice, dataset_id)
    assert dataset.clustered
    records = items(runtime, alice, dataset_id)
    clusters: dict[str, list[str]] = {}
    for media_id, record in records.items():
        if record["cluster_id"] is not None:
            clusters.setdefault(record["cluster_id"], []).append(media_id)
    members = max(clusters.values(), key=len)
    assert len(members) >= 2, "flat images are near-duplicates of each other"
    source = min(members)
    edit(runtime, alice, dataset_id, lambda current: {source: {**current[source], "labels": [CAT]}})

    runtime.app.start_operation(alice, dataset_id, LABEL_PROPAGATION, {"media_ids": [source]})
    settle(runtime)
    copy = {**CAT, "source": "propagation", "source_media_id": source}
    labels = {k: r["labels"] for k, r in items(runtime, alice, dataset_id).items()}
    assert {k: v for k, v in labels.items() if k in members} == {
        m: [CAT] if m == source else [copy] for m in members
    }
    assert all(v == [] for k, v in labels.items() if k not in members)
