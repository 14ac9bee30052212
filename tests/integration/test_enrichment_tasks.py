"""Enrichment and re-index as real tasks on each backend: the worker runs the real models over
ingested files, publishes records, facets, status and a report; snapshots keep all of it."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from PIL import Image

from adapters.runtime import Runtime
from adapters.views.task_log import TaskLogView
from application.actor import Actor
from domain.tasks import ENRICHMENT, MEDIA_ADDITION, REINDEX
from tests.integration.helpers import ingested, settle
from tests.support.media import photo, video

ALL_MODELS = {
    "IMAGE_PROPERTIES": "image-properties-v1",
    "PERCEPTUAL_HASH": "phash-64-v1",
    "IMAGE_QUALITY": "laplacian-quality-v1",
    "VIDEO_PROPERTIES": "video-properties-v1",
}


def run_task(
    runtime: Runtime, actor: Actor, dataset_id: UUID, task_type: str, params: dict[str, Any]
) -> dict[str, Any]:
    task_id, _ = runtime.app.start_operation(actor, dataset_id, task_type, params)
    settle(runtime)
    view = runtime.backend.views["task_log"]
    assert isinstance(view, TaskLogView)
    row = view.get(None, str(task_id))
    assert row is not None
    return {**row, "report": json.loads(row["report"]) if row.get("report") else None}


def records(runtime: Runtime, actor: Actor, dataset_id: UUID) -> dict[str, dict[str, Any]]:
    dataset = runtime.app.get_dataset(actor, dataset_id)
    return {r["file_name"]: r for _, r in runtime.app.tree.items(dataset.current["root"])}


def test_enrichment_runs_every_model_on_its_kind_and_keeps_the_dataset_ready(
    runtime: Runtime,
    alice: Actor,
) -> None:
    dataset_id = ingested(runtime, alice, "alpha", images=3, videos=1)
    task = run_task(runtime, alice, dataset_id, ENRICHMENT, {"models": ALL_MODELS})
    assert task["status"] == "COMPLETED", task
    assert task["report"] == {
        "models": ALL_MODELS,
        "items": 4,
        "processed": 4,
        "reused": 0,
        "error_count": 0,
        "errors": [],
    }
    dataset = runtime.app.get_dataset(alice, dataset_id)
    assert dataset.status == "READY"
    assert dataset.current["facets"]["models"] == ALL_MODELS
    import_root = runtime.backend.settings.import_root
    assert import_root is not None
    for name, record in records(runtime, alice, dataset_id).items():
        enrichment = record["enrichment"]
        if record["kind"] == "video":
            assert set(enrichment) == {"VIDEO_PROPERTIES"}
            assert (enrichment["VIDEO_PROPERTIES"]["width"], record["width"]) == (32, 32)
            assert enrichment["VIDEO_PROPERTIES"]["duration"] == record["duration"]
            continue
        assert set(enrichment) == {"IMAGE_PROPERTIES", "PERCEPTUAL_HASH", "IMAGE_QUALITY"}
        with Image.open(import_root / "alpha" / name) as source:
            assert (
                enrichment["IMAGE_PROPERTIES"]["width"],
                enrichment["IMAGE_PROPERTIES"]["height"],
            ) == source.size
        assert enrichment["IMAGE_QUALITY"]["model_id"] == "laplacian-quality-v1"


def test_a_restore_brings_back_the_content_and_facets_from_before_the_enrichment(
    runtime: Runtime,
    alice: Actor,
) -> None:
    dataset_id = ingested(runtime, alice, "alpha", images=2, videos=0)
    [creation] = runtime.app.get_dataset(alice, dataset_id).checkpoints
    run_task(
        runtime,
        alice,
        dataset_id,
        ENRICHMENT,
        {"models": {"IMAGE_QUALITY": "laplacian-quality-v1"}},
    )
    runtime.app.restore_snapshot(alice, dataset_id, creation)
    settle(runtime)
    dataset = runtime.app.get_dataset(alice, dataset_id)
    assert dataset.current["facets"]["models"] == {}
    assert all(r["enrichment"] == {} for r in records(runtime, alice, dataset_id).values())


def test_reindex_clusters_a_resized_copy_and_turns_partial_index_into_ready(
    runtime: Runtime,
    alice: Actor,
) -> None:
    import_root = runtime.backend.settings.import_root
    assert import_root is not None
    for seed in range(3):
        photo(import_root / "alpha" / f"photo{seed}.png", seed)
    video(import_root / "alpha" / "clip.mp4", b"clip")
    dataset_id, _ = runtime.app.create_dataset(
        alice, "alpha", source={"source": "path", "path": str(import_root / "alpha")}
    )
    settle(runtime)
    first = run_task(runtime, alice, dataset_id, REINDEX, {})
    assert first["status"] == "COMPLETED", first
    dataset = runtime.app.get_dataset(alice, dataset_id)
    assert (dataset.status, dataset.current["facets"]["clustered"]) == ("READY", True)
    assert {r["cluster_id"] for r in records(runtime, alice, dataset_id).values()} == {None}

    (import_root / "more").mkdir()
    with Image.open(import_root / "alpha" / "photo1.png") as original:
        original.resize((200, 200)).save(import_root / "more" / "bigger.png")
    photo(import_root / "more" / "new.png", seed=7)
    video(import_root / "more" / "clip-again.mp4", b"clip")
    added = run_task(
        runtime,
        alice,
        dataset_id,
        MEDIA_ADDITION,
        {"source": "path", "path": str(import_root / "more")},
    )
    assert added["status"] == "COMPLETED", added
    assert runtime.app.get_dataset(alice, dataset_id).status == "PARTIAL INDEX"

    second = run_task(runtime, alice, dataset_id, REINDEX, {"threshold": 4})
    assert second["status"] == "COMPLETED", second
    assert runtime.app.get_dataset(alice, dataset_id).status == "READY"
    clusters = {name: r["cluster_id"] for name, r in records(runtime, alice, dataset_id).items()}
    assert clusters["bigger.png"] is not None
    assert clusters["bigger.png"] == clusters["photo1.png"]
    assert clusters["clip-again.mp4"] is not None
    assert clusters["clip-again.mp4"] == clusters["clip.mp4"] != clusters["photo1.png"]
    assert [clusters[n] for n in ("photo0.png", "photo2.png", "new.png")] == [None] * 3
    assert (second["report"]["reused"], second["report"]["hashed"]) == (3, 2)
