"""Enrichment and re-index over HTTP on each backend: the model list, enrichment tasks whose
outputs match what Pillow, imagehash and the files' construction say, re-index turning
PARTIAL INDEX into READY with near-duplicates clustered, bad files as item errors in the
task's report, and bad requests as 4xx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import imagehash
from PIL import Image

from tests.e2e import helpers
from tests.e2e.conftest import add_user
from tests.e2e.helpers import Deployment, finish, problem
from tests.support.client import SnapsetClient
from tests.support.media import photo, png_bomb, video
from tests.support.server import ServerProcess

no_server_errors = helpers.no_server_errors
deployment = helpers.deployment

MODELS = {
    "IMAGE_PROPERTIES": "image-properties-v1",
    "PERCEPTUAL_HASH": "phash-64-v1",
    "IMAGE_QUALITY": "laplacian-quality-v1",
    "VIDEO_PROPERTIES": "video-properties-v1",
}
IMAGE_MODELS = {k: v for k, v in MODELS.items() if k != "VIDEO_PROPERTIES"}
MODEL_FIELDS = {"type", "model_id", "name", "description", "media_kinds", "applied"}


def jpeg_taken_at(path: Path, when: str, offset: str) -> Path:
    exif = Image.Exif()
    exif.get_ifd(0x8769).update({0x9003: when, 0x9011: offset})
    photo(path, seed=11, width=80, height=60, fmt="JPEG", exif=exif, quality=90)
    return path


def truncated(path: Path) -> Path:
    photo(path, seed=12, width=256, height=256, fmt="JPEG", quality=95)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def dataset_of(client: SnapsetClient, files: list[Path], name: str = "shapes") -> str:
    dataset_id = client.create_dataset(name, files=files)
    client.wait_status(dataset_id, "READY")
    return dataset_id


def enrich(client: SnapsetClient, dataset_id: str, models: dict[str, str]) -> dict[str, Any]:
    response = client.request(
        "POST", f"/dataset/{dataset_id}/enrich_dataset", json={"enrichment_models": models}
    )
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/api/v1/tasks/{response.json()['task_id']}"
    body: dict[str, Any] = response.json()
    assert body["dataset_id"] == dataset_id
    return body


def reindex(client: SnapsetClient, dataset_id: str, **body: Any) -> dict[str, Any]:
    response = client.request("POST", f"/dataset/{dataset_id}/reindex", json=body)
    assert response.status_code == 202, response.text
    result: dict[str, Any] = response.json()
    return result


def report(client: SnapsetClient, task_id: str) -> dict[str, Any]:
    result: dict[str, Any] = client.ok("GET", f"/tasks/{task_id}/report")["report"]
    return result


def by_name(client: SnapsetClient, dataset_id: str) -> dict[str, dict[str, Any]]:
    return {m["file_name"]: m for m in client.media(dataset_id)}


def applied(client: SnapsetClient, dataset_id: str) -> dict[str, str]:
    models = client.ok("GET", f"/enrichment/{dataset_id}/list_models")["models"]
    return {m["type"]: m["model_id"] for m in models if m["applied"]}


def test_list_models_describes_every_model_and_none_is_applied_on_a_new_dataset(
    client: SnapsetClient, tmp_path: Path
) -> None:
    dataset_id = dataset_of(client, [photo(tmp_path / "a.png", seed=1)])
    body = client.ok("GET", f"/enrichment/{dataset_id}/list_models")
    assert set(body) == {"models"}
    assert {(m["type"], m["model_id"]) for m in body["models"]} == set(MODELS.items())
    for model in body["models"]:
        assert set(model) == MODEL_FIELDS
        assert model["applied"] is False
        assert model["name"]
        assert model["description"]
    kinds = {m["type"]: m["media_kinds"] for m in body["models"]}
    assert kinds == {
        "IMAGE_PROPERTIES": ["image"],
        "PERCEPTUAL_HASH": ["image"],
        "IMAGE_QUALITY": ["image"],
        "VIDEO_PROPERTIES": ["video"],
    }


def test_enrichment_completes_and_every_item_carries_its_models_outputs(
    client: SnapsetClient, tmp_path: Path
) -> None:
    folder = tmp_path / "media"
    files = [
        jpeg_taken_at(folder / "taken.jpg", "2024:07:01 09:30:00", "+02:00"),
        photo(folder / "plain.png", seed=2, width=64, height=48),
        video(folder / "clip.mp4", b"clip", frames=5, rate=10, size=(48, 32)),
    ]
    dataset_id = dataset_of(client, files)
    started = enrich(client, dataset_id, MODELS)
    task = finish(client, started)
    assert task["task_type"] == "ENRICHMENT"
    assert client.dataset(dataset_id)["status"] == "READY"
    assert applied(client, dataset_id) == MODELS

    media = by_name(client, dataset_id)
    for name in ("taken.jpg", "plain.png"):
        enrichment = media[name]["enrichment"]
        assert set(enrichment) == set(IMAGE_MODELS)
        with Image.open(folder / name) as source:
            assert enrichment["IMAGE_PROPERTIES"] == {
                "model_id": "image-properties-v1",
                "format": source.format,
                "width": source.width,
                "height": source.height,
                "mode": source.mode,
                "file_size": (folder / name).stat().st_size,
                "captured_at": "2024-07-01T07:30:00Z" if name == "taken.jpg" else None,
            }
            assert enrichment["PERCEPTUAL_HASH"] == {
                "model_id": "phash-64-v1",
                "phash": str(imagehash.phash(source)),
            }
        quality = enrichment["IMAGE_QUALITY"]
        assert quality["model_id"] == "laplacian-quality-v1"
        assert 0 <= quality["brightness"] <= 255
        assert quality["blurry"] == (quality["blur_score"] < 100)
    clip = media["clip.mp4"]
    assert (clip["width"], clip["height"]) == (48, 32)
    assert clip["enrichment"] == {
        "VIDEO_PROPERTIES": {
            "model_id": "video-properties-v1",
            "duration": 0.5,
            "width": 48,
            "height": 32,
            "fps": 10.0,
            "codec": "mpeg4",
        }
    }
    assert report(client, started["task_id"]) == {
        "models": MODELS,
        "items": 3,
        "processed": 3,
        "reused": 0,
        "error_count": 0,
        "errors": [],
    }


def test_bad_files_are_item_errors_in_the_report_while_the_others_are_enriched(
    client: SnapsetClient, tmp_path: Path
) -> None:
    folder = tmp_path / "media"
    good = photo(folder / "good.png", seed=3)
    cut = truncated(folder / "cut.jpg")  # its header is whole: ingest accepts it
    bomb = png_bomb(folder / "bomb.png", 9000, 8000)  # under ingest's limit, over the models'
    huge = png_bomb(folder / "huge.png", 10_000, 10_000)  # over Pillow's limit
    junk = folder / "junk.jpg"
    junk.write_bytes(b"this is not a jpeg")
    dataset_id = dataset_of(client, [good, cut, bomb, huge, junk])
    [creation] = client.tasks(dataset_id=dataset_id)["tasks"]
    assert "huge.png: a decompression bomb" in creation["status_message"]
    assert "junk.jpg: not a readable image" in creation["status_message"]
    assert client.dataset(dataset_id)["n_images"] == 3

    started = enrich(client, dataset_id, IMAGE_MODELS)
    finish(client, started)
    assert client.dataset(dataset_id)["status"] == "READY"
    media = by_name(client, dataset_id)
    assert set(media["good.png"]["enrichment"]) == set(IMAGE_MODELS)
    assert set(media["cut.jpg"]["enrichment"]) == {"IMAGE_PROPERTIES"}
    assert media["bomb.png"]["enrichment"] == {}
    found = report(client, started["task_id"])
    assert (found["items"], found["processed"], found["error_count"]) == (3, 1, 5)
    errors = {(e["file_name"], e["model"]): e for e in found["errors"]}
    assert set(errors) == {
        ("cut.jpg", "PERCEPTUAL_HASH"),
        ("cut.jpg", "IMAGE_QUALITY"),
        ("bomb.png", "IMAGE_PROPERTIES"),
        ("bomb.png", "PERCEPTUAL_HASH"),
        ("bomb.png", "IMAGE_QUALITY"),
    }
    assert "truncated" in errors[("cut.jpg", "IMAGE_QUALITY")]["detail"]
    assert "decompression bomb" in errors[("bomb.png", "IMAGE_QUALITY")]["detail"]
    assert errors[("bomb.png", "IMAGE_QUALITY")]["media_id"] == media["bomb.png"]["media_id"]


def test_a_task_where_every_item_fails_ends_failed_and_a_later_one_makes_it_ready(
    client: SnapsetClient, tmp_path: Path
) -> None:
    dataset_id = dataset_of(client, [png_bomb(tmp_path / "bomb.png", 9000, 8000)])
    task = client.wait_task(
        enrich(client, dataset_id, {"IMAGE_QUALITY": "laplacian-quality-v1"})["task_id"]
    )
    assert task["status"] == "FAILED"
    assert "No item could be enriched" in task["error_message"]
    dataset = client.dataset(dataset_id)
    assert dataset["status"] == "ERROR"
    assert "decompression bomb" in dataset["fatal_error_msg"]
    # Nothing wrong with the content: an enrichment that completes makes it READY again.
    done = finish(client, enrich(client, dataset_id, {"VIDEO_PROPERTIES": "video-properties-v1"}))
    assert done["status_message"].startswith("No media of the kinds")
    assert client.dataset(dataset_id)["status"] == "READY"


def test_reindex_clusters_near_duplicates_and_turns_partial_index_into_ready(
    client: SnapsetClient, tmp_path: Path
) -> None:
    folder = tmp_path / "media"
    originals = [photo(folder / f"photo{seed}.png", seed) for seed in range(3)]
    dataset_id = dataset_of(client, originals)
    first = finish(client, reindex(client, dataset_id))
    assert first["task_type"] == "REINDEX"
    assert client.dataset(dataset_id)["status"] == "READY"
    assert {m["cluster_id"] for m in client.media(dataset_id)} == {None}

    more = tmp_path / "more"
    more.mkdir()
    with Image.open(originals[1]) as source:
        source.resize((240, 240), Image.Resampling.LANCZOS).save(more / "bigger.jpg", quality=90)
    photo(more / "new.png", seed=9)
    files = [("files", (p.name, p.read_bytes())) for p in sorted(more.iterdir())]
    finish(client, client.ok("POST", f"/dataset/{dataset_id}/media", expect=202, files=files))
    assert client.dataset(dataset_id)["status"] == "PARTIAL INDEX"

    started = reindex(client, dataset_id, threshold=6.0)  # JSON's 6.0 is the integer 6
    finish(client, started)
    assert client.dataset(dataset_id)["status"] == "READY"
    clusters = {name: m["cluster_id"] for name, m in by_name(client, dataset_id).items()}
    assert clusters["bigger.jpg"] is not None
    assert clusters["bigger.jpg"] == clusters["photo1.png"]
    assert [clusters[n] for n in ("photo0.png", "photo2.png", "new.png")] == [None] * 3
    found = report(client, started["task_id"])
    assert (found["threshold"], found["clusters"], found["clustered_items"]) == (6, 1, 2)
    assert (found["reused"], found["hashed"]) == (3, 2)


def test_bad_requests_get_a_4xx_naming_the_problem(
    client: SnapsetClient, server: ServerProcess, tmp_path: Path
) -> None:
    dataset_id = dataset_of(client, [photo(tmp_path / "a.png", seed=1)])
    enrich_path = f"/dataset/{dataset_id}/enrich_dataset"
    detail = problem(
        client.request("POST", enrich_path, json={"enrichment_models": {"FACES": "x"}}), 422
    )
    assert "FACES" in detail
    detail = problem(
        client.request(
            "POST",
            enrich_path,
            json={"enrichment_models": {"IMAGE_QUALITY": "laplacian-quality-v9"}},
        ),
        422,
    )
    assert "laplacian-quality-v9" in detail
    assert "laplacian-quality-v1" in detail
    assert "at least one" in problem(
        client.request("POST", enrich_path, json={"enrichment_models": {}}), 422
    )
    bodies: list[dict[str, Any]] = [
        {},
        {"enrichment_models": ["IMAGE_QUALITY"]},
        {"enrichment_models": {"IMAGE_QUALITY": 1}},
        {"enrichment_models": MODELS, "extra": 1},
    ]
    for body in bodies:
        problem(client.request("POST", enrich_path, json=body), 422)
    reindex_path = f"/dataset/{dataset_id}/reindex"
    thresholds: list[Any] = [33, -1, "8", 2.5, None, True, 33.0]
    for threshold in thresholds:
        assert "threshold" in problem(
            client.request("POST", reindex_path, json={"threshold": threshold}), 422
        )
    assert "extra" in problem(
        client.request("POST", reindex_path, json={"threshold": 8, "extra": 1}), 422
    )
    missing = "00000000-0000-4000-8000-000000000000"
    problem(client.request("GET", f"/enrichment/{missing}/list_models"), 404)
    problem(
        client.request(
            "POST", f"/dataset/{missing}/enrich_dataset", json={"enrichment_models": MODELS}
        ),
        404,
    )
    problem(client.request("POST", f"/dataset/{missing}/reindex"), 404)
    assert client.tasks(dataset_id=dataset_id)["total"] == 1  # only the creation

    viewer = add_user(server, "viewer@example.com")
    stranger = add_user(server, "stranger@example.com")
    try:
        client.ok(
            "POST",
            f"/dataset/{dataset_id}/share",
            json={"user_email": "viewer@example.com", "role": "viewer"},
        )
        assert viewer.ok("GET", f"/enrichment/{dataset_id}/list_models")["models"]
        problem(viewer.request("POST", enrich_path, json={"enrichment_models": MODELS}), 403)
        problem(
            viewer.request("POST", enrich_path, json={"enrichment_models": {"FACES": "x"}}), 403
        )
        problem(viewer.request("POST", reindex_path), 403)
        problem(stranger.request("GET", f"/enrichment/{dataset_id}/list_models"), 404)
        problem(stranger.request("POST", enrich_path, json={"enrichment_models": MODELS}), 404)
        problem(stranger.request("POST", reindex_path), 404)
    finally:
        viewer.close()
        stranger.close()
    assert client.tasks(dataset_id=dataset_id)["total"] == 1


def test_a_busy_dataset_refuses_enrichment_and_reindex_with_409_until_its_task_ends(
    deployment: Deployment, tmp_path: Path
) -> None:
    server = deployment.server
    client = SnapsetClient(server.base_url, server.api_key, server.api_secret)
    try:
        deployment.start("worker")
        dataset_id = dataset_of(client, [photo(tmp_path / "a.png", seed=1)])
        deployment.stop("worker")
        started = enrich(client, dataset_id, {"PERCEPTUAL_HASH": "phash-64-v1"})
        assert client.dataset(dataset_id)["status"] == "READ ONLY"
        problem(
            client.request(
                "POST", f"/dataset/{dataset_id}/enrich_dataset", json={"enrichment_models": MODELS}
            ),
            409,
        )
        problem(client.request("POST", f"/dataset/{dataset_id}/reindex"), 409)
        assert applied(client, dataset_id) == {}  # reads still work, showing the data before
        deployment.start("worker")
        finish(client, started)
        assert client.dataset(dataset_id)["status"] == "READY"
        assert applied(client, dataset_id) == {"PERCEPTUAL_HASH": "phash-64-v1"}
        finish(client, reindex(client, dataset_id))
    finally:
        client.close()
