"""The round trip that snapshots exist for: snapshot, run every operation, restore, and every
part of every item (media, metadata, enrichment, clusters, tags, labels) is back, along with
the dataset-level state (applied models, metadata schema, clusters). Undo and clone too."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from PIL import Image

from tests.e2e import helpers
from tests.support.client import SnapsetClient
from tests.support.media import video

no_server_errors = helpers.no_server_errors


def patterned(path: Path, seed: int, size: tuple[int, int] = (96, 72)) -> Path:
    """An image with its own blocky pattern, so perceptual hashes tell them apart."""
    rng = random.Random(seed)
    small = Image.new("L", (8, 6))
    small.putdata([rng.randrange(256) for _ in range(48)])
    small.resize(size, Image.Resampling.NEAREST).convert("RGB").save(path)
    return path


def make_media(folder: Path) -> list[Path]:
    folder.mkdir()
    files = [patterned(folder / f"img{i}.png", seed=i) for i in range(4)]
    original = Image.open(files[0])
    near = folder / "img0-small.jpg"
    original.resize((48, 36)).save(near, quality=95)  # a near-duplicate of img0
    return [*files, near, video(folder / "clip.mp4", b"clip-0")]


def state(client: SnapsetClient, dataset_id: str) -> dict[str, Any]:
    """Everything a restore must bring back, as the API shows it."""
    items = sorted(client.media(dataset_id), key=lambda m: m["media_id"])
    models = client.ok("GET", f"/enrichment/{dataset_id}/list_models")["models"]
    schema = client.ok("GET", f"/dataset/{dataset_id}/custom_metadata/schema")["schema"]
    dataset = client.dataset(dataset_id)
    return {
        "items": items,
        "applied": sorted((m["type"], m["model_id"]) for m in models if m["applied"]),
        "schema": schema,
        "counts": (dataset["n_images"], dataset["n_videos"], dataset["n_objects"]),
    }


def started(client: SnapsetClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.request("POST", path, json=body)
    assert response.status_code == 202, response.text
    return helpers.finish(client, response.json())


def run_every_operation(client: SnapsetClient, dataset_id: str) -> None:
    base = f"/dataset/{dataset_id}"
    models = client.ok("GET", f"/enrichment/{dataset_id}/list_models")["models"]
    started(
        client,
        f"{base}/enrich_dataset",
        {"enrichment_models": {m["type"]: m["model_id"] for m in models}},
    )
    started(client, f"{base}/reindex", {})
    items = client.media(dataset_id, kind="image")
    clustered = [m for m in items if m["cluster_id"]]
    assert len(clustered) >= 2, "the near-duplicate pair should share a cluster"
    source = clustered[0]
    client.ok(
        "POST",
        f"{base}/media/labels",
        json={
            "media_ids": [source["media_id"]],
            "mode": "set",
            "labels": [{"class_name": "cat", "bbox": [1, 2, 30, 20]}],
        },
    )
    started(client, f"{base}/propagate_labels", {"media_ids": [source["media_id"]]})
    client.ok(
        "POST",
        f"{base}/media/tags",
        json={"media_ids": [m["media_id"] for m in items[:3]], "add": ["reviewed", "batch-1"]},
    )
    started(
        client,
        f"{base}/custom_metadata",
        {
            "schema": {
                "score": {"type": "float"},
                "split": {"type": "enum", "options": ["train", "test"]},
            },
            "key": "media_id",
            "rows": [
                {"media_id": m["media_id"], "score": i / 2, "split": "train"}
                for i, m in enumerate(items)
            ],
        },
    )


def test_restore_brings_back_every_part_of_every_item_and_undo_and_clone_work(
    client: SnapsetClient, tmp_path: Path
) -> None:
    files = make_media(tmp_path / "media")
    dataset_id = client.create_dataset("round-trip", files=files)
    client.wait_status(dataset_id, "READY")
    base = f"/dataset/{dataset_id}"
    creation = client.snapshots(dataset_id)[0]["snapshot_id"]
    before = state(client, dataset_id)
    assert before["applied"] == []
    assert all(not m["enrichment"] and m["cluster_id"] is None for m in before["items"])

    run_every_operation(client, dataset_id)
    after = state(client, dataset_id)
    changed = [m for m in after["items"] if m["enrichment"]]
    assert len(changed) == len(after["items"]), "every item was enriched"
    assert any(label.get("source_media_id") for m in after["items"] for label in m["labels"])
    assert any(m["metadata"] for m in after["items"])
    assert any("reviewed" in m["tags"] for m in after["items"])
    assert after["applied"]
    assert after["schema"]
    operations = client.ok("POST", f"{base}/snapshot", json={"name": "after operations"})

    more = patterned(tmp_path / "late.png", seed=99)
    response = client.request(
        "POST", f"{base}/media", files=[("files", (more.name, more.read_bytes()))]
    )
    assert response.status_code == 202, response.text
    helpers.finish(client, response.json())
    assert client.dataset(dataset_id)["status"] == "PARTIAL INDEX"
    latest = state(client, dataset_id)
    assert len(latest["items"]) == len(after["items"]) + 1

    helpers.finish(client, client.restore(dataset_id, creation))
    assert state(client, dataset_id) == before
    assert client.dataset(dataset_id)["status"] == "READY"
    autos = [s for s in client.snapshots(dataset_id) if s["reason"] == "auto"]
    undo = max(autos, key=lambda s: s["created_at"])  # taken by the restore, of `latest`

    helpers.finish(client, client.restore(dataset_id, operations["snapshot_id"]))
    assert state(client, dataset_id) == after

    helpers.finish(client, client.restore(dataset_id, undo["snapshot_id"]))
    assert state(client, dataset_id) == latest
    assert client.dataset(dataset_id)["status"] == "PARTIAL INDEX"

    clone = client.clone(dataset_id, operations["snapshot_id"])
    helpers.finish(client, clone)
    assert state(client, clone["dataset_id"]) == after
