"""The REINDEX operation with a hash model whose hash is the file's text: near-duplicate images
share a cluster id, identical videos too, stored hashes are reused, the dataset ends READY."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid5

import pytest

from application.operations.base import OperationFailed
from application.operations.enrichment import ModelRegistry
from application.operations.reindex import Reindex
from domain.ids import NAMESPACE
from domain.tasks import REINDEX
from tests.unit.media_operations import ByteCount, Dataset, HexHash

BASE = 0x0123_4567_89AB_CDEF


def hex_of(value: int) -> bytes:
    return f"{value:016x}".encode()


def cluster(smallest: str) -> str:
    return str(uuid5(NAMESPACE, f"cluster:{smallest}"))


@pytest.fixture
def dataset(tmp_path: Path) -> Dataset:
    return Dataset(tmp_path)


def reindex(dataset: Dataset, *hashers: HexHash, threads: int = 1) -> Reindex:
    return Reindex(dataset.blobs, ModelRegistry(hashers or (HexHash(),)), threads=threads)


def clusters_of(dataset: Dataset, root: str) -> dict[str, str | None]:
    return {k: r["cluster_id"] for k, r in dataset.records(root).items()}


def test_near_duplicate_images_share_a_cluster_and_the_rest_have_none(dataset: Dataset) -> None:
    dataset.add("a", hex_of(BASE))
    dataset.add("b", hex_of(BASE ^ 0b1011))  # 3 bits from a
    dataset.add("c", hex_of(BASE ^ (0xFF << 8)))  # 8 bits from a: still near
    dataset.add("far", hex_of(~BASE & (1 << 64) - 1))  # 64 bits from a
    dataset.add("x", hex_of(0xAAAA_AAAA_0000_0000))
    dataset.add("y", hex_of(0xAAAA_AAAA_0000_0000))  # an exact copy of x
    outcome = reindex(dataset).run(dataset.context(REINDEX, {}, status="PARTIAL INDEX"))
    assert clusters_of(dataset, outcome.root) == {
        "a": cluster("a"),
        "b": cluster("a"),
        "c": cluster("a"),
        "far": None,
        "x": cluster("x"),
        "y": cluster("x"),
    }
    assert outcome.status == "READY"
    assert outcome.facets == {"clustered": True, "models": {"PERCEPTUAL_HASH": "hex-v1"}}
    assert outcome.report is not None
    assert {
        k: outcome.report[k]
        for k in (
            "threshold",
            "images",
            "hashed",
            "reused",
            "clusters",
            "clustered_items",
            "error_count",
        )
    } == {
        "threshold": 8,
        "images": 6,
        "hashed": 6,
        "reused": 0,
        "clusters": 2,
        "clustered_items": 5,
        "error_count": 0,
    }


@pytest.mark.parametrize(("threshold", "together"), [(0, False), (4, False), (5, True), (32, True)])
def test_the_threshold_param_decides_how_far_apart_near_duplicates_may_be(
    dataset: Dataset, threshold: int, together: bool
) -> None:
    dataset.add("a", hex_of(BASE))
    dataset.add("b", hex_of(BASE ^ 0b11111))  # 5 bits apart
    outcome = reindex(dataset).run(dataset.context(REINDEX, {"threshold": threshold}))
    expected = cluster("a") if together else None
    assert clusters_of(dataset, outcome.root) == {"a": expected, "b": expected}


def test_stored_hashes_of_the_same_model_are_reused_and_computed_ones_are_stored(
    dataset: Dataset,
) -> None:
    stored = {"PERCEPTUAL_HASH": {"model_id": "hex-v1", "phash": f"{BASE:016x}"}}
    dataset.add("a", b"bad: would fail if read", enrichment=stored)
    dataset.add("b", hex_of(BASE ^ 1))
    hasher = HexHash()
    outcome = reindex(dataset, hasher).run(dataset.context(REINDEX, {}))
    records = dataset.records(outcome.root)
    assert hasher.runs == ["b"]
    assert records["b"]["enrichment"] == {
        "PERCEPTUAL_HASH": {"model_id": "hex-v1", "phash": f"{BASE ^ 1:016x}"}
    }
    assert records["a"]["cluster_id"] == records["b"]["cluster_id"] == cluster("a")
    assert outcome.report is not None
    assert (outcome.report["hashed"], outcome.report["reused"]) == (1, 1)


def test_the_dataset_applied_hash_model_is_used_while_the_registry_has_it(
    dataset: Dataset,
) -> None:
    dataset.add("a", hex_of(BASE))
    default, applied = HexHash("hex-v2"), HexHash("hex-v1")
    outcome = reindex(dataset, default, applied).run(
        dataset.context(
            REINDEX, {}, facets={"clustered": False, "models": {"PERCEPTUAL_HASH": "hex-v1"}}
        )
    )
    assert (applied.runs, default.runs) == (["a"], [])
    gone = reindex(dataset, default).run(
        dataset.context(
            REINDEX, {}, facets={"clustered": False, "models": {"PERCEPTUAL_HASH": "hex-v0"}}
        )
    )
    assert default.runs == ["a"]
    assert gone.facets == {"clustered": True, "models": {"PERCEPTUAL_HASH": "hex-v2"}}
    assert outcome.report is not None
    assert outcome.report["model_id"] == "hex-v1"


def test_videos_cluster_only_with_identical_videos(dataset: Dataset) -> None:
    dataset.add("v1", b"same bytes", kind="video")
    dataset.add("v2", b"same bytes", kind="video")
    dataset.add("v3", b"other bytes", kind="video")
    outcome = reindex(dataset).run(dataset.context(REINDEX, {}))
    assert clusters_of(dataset, outcome.root) == {
        "v1": cluster("v1"),
        "v2": cluster("v1"),
        "v3": None,
    }


def test_an_unreadable_image_is_a_reported_error_without_a_cluster(dataset: Dataset) -> None:
    dataset.add("a", hex_of(BASE))
    dataset.add("b", hex_of(BASE))
    dataset.add("bad", b"bad bytes", cluster_id="stale")
    outcome = reindex(dataset).run(dataset.context(REINDEX, {}))
    assert clusters_of(dataset, outcome.root) == {"a": cluster("a"), "b": cluster("a"), "bad": None}
    assert outcome.report is not None
    assert outcome.report["errors"] == [
        {
            "media_id": "bad",
            "file_name": "bad.bin",
            "model": "PERCEPTUAL_HASH",
            "detail": "not a readable image (bad bytes)",
        }
    ]
    assert outcome.message.endswith("1 images could not be hashed; see the task's report.")


def test_the_task_fails_when_no_image_can_be_hashed_and_there_are_no_videos(
    dataset: Dataset,
) -> None:
    dataset.add("bad", b"bad bytes")
    with pytest.raises(OperationFailed, match="No image could be hashed"):
        reindex(dataset).run(dataset.context(REINDEX, {}))


def test_a_cluster_whose_partner_is_gone_dissolves(dataset: Dataset) -> None:
    dataset.add("a", hex_of(BASE))
    dataset.add("b", hex_of(BASE))
    first = reindex(dataset).run(dataset.context(REINDEX, {}))
    without_b = dataset.tree.update(first.root, {"b": None})
    second = reindex(dataset).run(dataset.context(REINDEX, {}, root=without_b))
    assert clusters_of(dataset, second.root) == {"a": None}


def test_a_second_reindex_of_the_same_content_changes_nothing(dataset: Dataset) -> None:
    for number in range(30):
        dataset.add(f"m{number:02d}", hex_of(BASE ^ (1 << (number % 12)) ^ (number // 12)))
    first = reindex(dataset).run(dataset.context(REINDEX, {}))
    again = reindex(dataset).run(dataset.context(REINDEX, {}, root=first.root))
    pooled = reindex(dataset, threads=2).run(dataset.context(REINDEX, {}))
    assert again.root == first.root
    assert pooled.root == first.root


@pytest.mark.parametrize("threshold", [-1, 33, "8", 2.5, None])
def test_a_bad_threshold_fails_the_task(dataset: Dataset, threshold: object) -> None:
    dataset.add("a", hex_of(BASE))
    with pytest.raises(OperationFailed, match="threshold"):
        reindex(dataset).run(dataset.context(REINDEX, {"threshold": threshold}))


def test_a_registry_without_a_hash_model_fails_the_task(dataset: Dataset) -> None:
    dataset.add("a", hex_of(BASE))
    operation = Reindex(dataset.blobs, ModelRegistry([ByteCount()]))
    with pytest.raises(OperationFailed, match="needs a PERCEPTUAL_HASH model"):
        operation.run(dataset.context(REINDEX, {}))
