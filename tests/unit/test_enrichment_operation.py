"""The ENRICHMENT operation on hand-written models: outputs land in the records, per-item
failures land in the report, the task fails only when nothing could be enriched."""

from __future__ import annotations

from pathlib import Path

import pytest

from application.operations.base import OperationFailed
from application.operations.enrichment import MAX_SAMPLE_ERRORS, Enrichment, ModelRegistry
from domain.errors import Invalid
from domain.tasks import ENRICHMENT
from tests.unit.media_operations import ByteCount, Dataset, FirstByte

BYTES = {"models": {"BYTES": "bytes-v1"}}


@pytest.fixture
def dataset(tmp_path: Path) -> Dataset:
    return Dataset(tmp_path)


def enrichment(dataset: Dataset, *models: ByteCount | FirstByte, threads: int = 1) -> Enrichment:
    return Enrichment(dataset.blobs, ModelRegistry(models), threads=threads)


def test_each_model_enriches_the_items_of_its_kinds_with_its_id_and_outputs(
    dataset: Dataset,
) -> None:
    dataset.add("i1", b"12345")
    dataset.add("i2", b"123")
    dataset.add("v1", b"\x07video", kind="video")
    outcome = enrichment(dataset, ByteCount(), FirstByte()).run(
        dataset.context(
            ENRICHMENT, {"models": {"BYTES": "bytes-v1", "FIRST_BYTE": "first-byte-v1"}}
        )
    )
    records = dataset.records(outcome.root)
    assert records["i1"]["enrichment"] == {"BYTES": {"model_id": "bytes-v1", "bytes": 5}}
    assert records["i2"]["enrichment"] == {"BYTES": {"model_id": "bytes-v1", "bytes": 3}}
    assert records["v1"]["enrichment"] == {"FIRST_BYTE": {"model_id": "first-byte-v1", "first": 7}}
    assert outcome.report == {
        "models": {"BYTES": "bytes-v1", "FIRST_BYTE": "first-byte-v1"},
        "items": 3,
        "processed": 3,
        "reused": 0,
        "error_count": 0,
        "errors": [],
    }
    assert (
        outcome.message == "Enriched 3 of 3 items with BYTES (bytes-v1), "
        "FIRST_BYTE (first-byte-v1)."
    )


def test_the_rest_of_each_record_is_kept(dataset: Dataset) -> None:
    before = dataset.add(
        "i1",
        b"12",
        tags=["cat"],
        metadata={"k": 1},
        cluster_id="c1",
        enrichment={"OTHER": {"model_id": "o-v1", "x": 1}},
    )
    outcome = enrichment(dataset, ByteCount()).run(dataset.context(ENRICHMENT, BYTES))
    after = dataset.records(outcome.root)["i1"]
    assert after == {
        **before,
        "enrichment": {
            "OTHER": {"model_id": "o-v1", "x": 1},
            "BYTES": {"model_id": "bytes-v1", "bytes": 2},
        },
    }


def test_items_already_enriched_by_the_same_model_id_are_not_run_again(
    dataset: Dataset,
) -> None:
    dataset.add("i1", b"12345")
    model = ByteCount()
    first = enrichment(dataset, model).run(dataset.context(ENRICHMENT, BYTES))
    dataset.add("i2", b"123")
    root = dataset.tree.update(first.root, {"i2": dataset.records(dataset.root)["i2"]})
    second = enrichment(dataset, model).run(dataset.context(ENRICHMENT, BYTES, root=root))
    assert model.runs == ["i1", "i2"]
    assert second.report is not None
    assert (second.report["reused"], second.report["processed"]) == (1, 2)
    newer = ByteCount("bytes-v2")
    third = enrichment(dataset, model, newer).run(
        dataset.context(ENRICHMENT, {"models": {"BYTES": "bytes-v2"}}, root=second.root)
    )
    assert sorted(newer.runs) == ["i1", "i2"]
    assert dataset.records(third.root)["i1"]["enrichment"]["BYTES"]["model_id"] == "bytes-v2"


def test_an_unreadable_item_is_a_reported_error_and_loses_its_stale_output(
    dataset: Dataset,
) -> None:
    dataset.add("good", b"fine")
    dataset.add("bad", b"bad bytes", enrichment={"BYTES": {"model_id": "old", "bytes": 1}})
    outcome = enrichment(dataset, ByteCount()).run(dataset.context(ENRICHMENT, BYTES))
    records = dataset.records(outcome.root)
    assert records["good"]["enrichment"]["BYTES"]["bytes"] == 4
    assert records["bad"]["enrichment"] == {}
    assert outcome.report == {
        "models": {"BYTES": "bytes-v1"},
        "items": 2,
        "processed": 1,
        "reused": 0,
        "error_count": 1,
        "errors": [
            {
                "media_id": "bad",
                "file_name": "bad.bin",
                "model": "BYTES",
                "detail": "not a readable image (bad bytes)",
            }
        ],
    }
    assert (
        outcome.message == "Enriched 1 of 2 items with BYTES (bytes-v1). "
        "1 model runs failed; see the task's report."
    )


def test_an_item_whose_file_is_missing_is_a_reported_error(dataset: Dataset) -> None:
    dataset.add("good", b"fine")
    gone = dataset.add("gone", b"will vanish")
    dataset.blobs.path(gone["blob"]).unlink()
    outcome = enrichment(dataset, ByteCount()).run(dataset.context(ENRICHMENT, BYTES))
    assert outcome.report is not None
    [error] = outcome.report["errors"]
    assert (error["media_id"], error["detail"]) == (
        "gone",
        "the item's media file is missing from the blob store",
    )


def test_the_report_keeps_a_sample_of_errors_and_counts_them_all(dataset: Dataset) -> None:
    dataset.add("good", b"fine")
    for number in range(MAX_SAMPLE_ERRORS + 5):
        dataset.add(f"bad{number:02d}", b"bad %d" % number)
    outcome = enrichment(dataset, ByteCount()).run(dataset.context(ENRICHMENT, BYTES))
    assert outcome.report is not None
    assert outcome.report["error_count"] == MAX_SAMPLE_ERRORS + 5
    assert len(outcome.report["errors"]) == MAX_SAMPLE_ERRORS


def test_the_task_fails_when_every_run_fails(dataset: Dataset) -> None:
    dataset.add("bad1", b"bad one")
    dataset.add("bad2", b"bad two")
    with pytest.raises(
        OperationFailed,
        match=r"No item could be enriched \(2 errors; "
        r"bad1.bin: not a readable image",
    ):
        enrichment(dataset, ByteCount()).run(dataset.context(ENRICHMENT, BYTES))


def test_a_dataset_without_media_of_the_models_kinds_completes_unchanged(
    dataset: Dataset,
) -> None:
    dataset.add("i1", b"image")
    outcome = enrichment(dataset, FirstByte()).run(
        dataset.context(ENRICHMENT, {"models": {"FIRST_BYTE": "first-byte-v1"}})
    )
    assert outcome.root == dataset.root
    assert outcome.message.startswith("No media of the kinds")


@pytest.mark.parametrize(
    ("models", "detail"),
    [
        ({"NOPE": "x"}, "Unknown enrichment model type 'NOPE' (known: BYTES)."),
        ({"BYTES": "bytes-v9"}, "Unknown model id 'bytes-v9' for BYTES (known: bytes-v1)."),
        ({}, "Choose at least one enrichment model"),
        (None, "Choose at least one enrichment model"),
    ],
)
def test_an_unknown_or_missing_model_fails_the_task_naming_it(
    dataset: Dataset, models: object, detail: str
) -> None:
    dataset.add("i1", b"image")
    with pytest.raises(OperationFailed) as failed:
        enrichment(dataset, ByteCount()).run(dataset.context(ENRICHMENT, {"models": models}))
    assert str(failed.value).startswith(detail)


def test_the_applied_models_are_merged_into_the_facets(dataset: Dataset) -> None:
    dataset.add("i1", b"image")
    outcome = enrichment(dataset, ByteCount()).run(
        dataset.context(
            ENRICHMENT,
            BYTES,
            facets={"clustered": True, "models": {"OTHER": "o-v1", "BYTES": "bytes-v0"}},
        )
    )
    assert outcome.facets == {"models": {"OTHER": "o-v1", "BYTES": "bytes-v1"}}


@pytest.mark.parametrize(
    ("before", "clustered", "after"),
    [
        ("READY", False, "READY"),
        ("PARTIAL INDEX", True, "PARTIAL INDEX"),
        ("ERROR", False, "READY"),
        ("ERROR", True, "PARTIAL INDEX"),
    ],
)
def test_the_dataset_returns_to_its_status_before_the_task(
    dataset: Dataset, before: str, clustered: bool, after: str
) -> None:
    dataset.add("i1", b"image")
    outcome = enrichment(dataset, ByteCount()).run(
        dataset.context(
            ENRICHMENT, BYTES, status=before, facets={"clustered": clustered, "models": {}}
        )
    )
    assert outcome.status == after


def test_two_threads_build_the_same_tree_and_report_as_one(dataset: Dataset) -> None:
    for number in range(40):
        dataset.add(f"i{number:02d}", b"bad" if number % 7 == 0 else b"x" * number)
    params = BYTES
    inline = enrichment(dataset, ByteCount(), threads=1).run(dataset.context(ENRICHMENT, params))
    pooled = enrichment(dataset, ByteCount(), threads=2).run(dataset.context(ENRICHMENT, params))
    assert pooled.root == inline.root
    assert pooled.report == inline.report
    assert dataset.ticks == [(n, 40) for n in range(1, 41)] * 2


def test_the_registry_refuses_a_model_registered_twice_and_lists_by_type_and_id() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        ModelRegistry([ByteCount(), ByteCount()])
    registry = ModelRegistry([FirstByte(), ByteCount("bytes-v2"), ByteCount("bytes-v1")])
    assert [(m.model_type, m.model_id) for m in registry.models()] == [
        ("BYTES", "bytes-v1"),
        ("BYTES", "bytes-v2"),
        ("FIRST_BYTE", "first-byte-v1"),
    ]
    assert registry.default("BYTES").model_id == "bytes-v2"  # the first registered
    with pytest.raises(Invalid, match="Unknown enrichment model type 'NOPE'"):
        registry.default("NOPE")


def test_failures_beside_outputs_already_there_do_not_fail_the_task(dataset: Dataset) -> None:
    dataset.add("done", b"fine", enrichment={"BYTES": {"model_id": "bytes-v1", "bytes": 4}})
    dataset.add("bad", b"bad bytes")
    outcome = enrichment(dataset, ByteCount()).run(dataset.context(ENRICHMENT, BYTES))
    assert outcome.report is not None
    assert (outcome.report["reused"], outcome.report["error_count"]) == (1, 1)
