"""Dataset facets (clusters, applied models, metadata schema) travel with snapshots; exports
run beside other tasks and never change the dataset."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.dataset import Dataset
from domain.errors import BadRequest, Conflict
from domain.ids import checkpoint_id_for_task
from domain.status import MAX_RUNNING_EXPORTS, Status
from domain.tasks import ENRICHMENT, EXPORT, REINDEX
from domain.version import default_facets, version_of
from tests.unit.test_dataset import (
    OWNER_EMAIL,
    ROOT_A,
    ROOT_B,
    ROOT_C,
    later,
    ready_dataset,
    restore,
)

ENRICHED = {"models": {"PERCEPTUAL_HASH": "phash-v1"}}


def run_operation(
    dataset: Dataset,
    task_id: str,
    task_type: str,
    root: str,
    facets: dict[str, object] | None,
    status: str = "READY",
) -> None:
    assert dataset.start_operation(task_id, task_type, OWNER_EMAIL, {}, later(10))
    dataset.claim_task(task_id, "w1", later(60), later(10))
    result = version_of(root, 3, 1, status, dict(facets or {}))
    dataset.complete_operation(
        task_id, "w1", result, OWNER_EMAIL, later(11), report={"processed": 4}
    )


def test_a_new_dataset_has_no_clusters_models_or_schema() -> None:
    dataset = ready_dataset()
    assert dataset.current["facets"] == default_facets()
    assert not dataset.clustered


def test_an_operation_replaces_only_the_facet_keys_it_names() -> None:
    dataset = ready_dataset()
    run_operation(dataset, "t-enrich", ENRICHMENT, ROOT_B, ENRICHED)
    run_operation(dataset, "t-index", REINDEX, ROOT_C, {"clustered": True})
    assert dataset.current["facets"] == {
        "clustered": True,
        "models": {"PERCEPTUAL_HASH": "phash-v1"},
        "schema": {},
    }
    assert dataset.clustered


def test_a_restore_brings_back_the_facets_of_its_snapshot() -> None:
    dataset = ready_dataset()
    dataset.create_checkpoint("before", "before", "", OWNER_EMAIL, later(5))
    run_operation(dataset, "t-enrich", ENRICHMENT, ROOT_B, ENRICHED)
    run_operation(dataset, "t-index", REINDEX, ROOT_C, {"clustered": True})
    restore(dataset, "t-restore", "before")
    assert (dataset.current["root"], dataset.current["facets"]) == (ROOT_A, default_facets())
    dataset.create_checkpoint("after", "after", "", OWNER_EMAIL, later(20))
    assert dataset.checkpoints["after"]["version"]["facets"] == default_facets()


def test_the_automatic_checkpoint_before_a_restore_keeps_the_facets_it_replaces() -> None:
    dataset = ready_dataset()
    dataset.create_checkpoint("before", "before", "", OWNER_EMAIL, later(5))
    run_operation(dataset, "t-index", REINDEX, ROOT_B, {"clustered": True})
    restore(dataset, "t-restore", "before")
    auto = dataset.checkpoints[str(checkpoint_id_for_task("t-restore", "auto"))]
    version = auto["version"]
    assert (version["root"], version["facets"]["clustered"]) == (ROOT_B, True)


def test_a_clone_copies_the_facets_of_the_cloned_snapshot() -> None:
    source = ready_dataset()
    run_operation(source, "t-index", REINDEX, ROOT_B, {"clustered": True, **ENRICHED})
    source.create_checkpoint("cp", "cp", "", OWNER_EMAIL, later(20))
    record = source.request_clone("t-clone", "cp", uuid4(), OWNER_EMAIL)
    clone = Dataset(
        id=uuid4(),
        name="cats (cloned)",
        description="",
        owner_id="bob",
        owner_email="bob@example.com",
        source_type="clone",
        snapshot_support=True,
        source_dataset_id=source.id,
        at=later(21),
    )
    clone.start_clone("t-clone", record, "bob@example.com", later(21))
    clone.claim_task("t-clone", "w1", later(60), later(21))
    clone.complete_clone("t-clone", "w1", "bob@example.com", later(22))
    assert clone.current["facets"] == source.current["facets"]
    assert clone.clustered


# Exports: side tasks.


def start_export(dataset: Dataset, task_id: str = "t-export") -> None:
    assert dataset.start_export(task_id, OWNER_EMAIL, {"root": dataset.current["root"]}, later(30))


def test_an_export_changes_neither_status_nor_content_and_blocks_nothing() -> None:
    dataset = ready_dataset()
    start_export(dataset)
    assert (dataset.status, dataset.busy) == (Status.READY, False)
    dataset.create_checkpoint("cp", "during export", "", OWNER_EMAIL, later(31))
    restore(dataset, "t-restore", "cp")
    assert dataset.task("t-export")["task_type"] == EXPORT
    dataset.claim_task("t-export", "w2", later(90), later(32))
    dataset.complete_export("t-export", "w2", {"download_uri": "/x.zip"}, "Exported 4 items.")
    assert dataset.finished_tasks["t-export"] == "COMPLETED"
    assert dataset.side_tasks == {}
    assert dataset.status == Status.READY


def test_an_export_can_start_while_a_restore_runs_and_in_error() -> None:
    dataset = ready_dataset()
    dataset.create_checkpoint("cp", "cp", "", OWNER_EMAIL, later(5))
    assert dataset.start_restore("t-restore", "cp", OWNER_EMAIL, later(6))
    start_export(dataset, "t-e1")
    assert dataset.status == Status.READ_ONLY
    dataset.claim_task("t-restore", "w1", later(60), later(7))
    dataset.fail_task("t-restore", "w1", "disk on fire")
    assert dataset.status == Status.ERROR
    start_export(dataset, "t-e2")
    assert set(dataset.side_tasks) == {"t-e1", "t-e2"}


def test_a_failed_export_leaves_the_dataset_as_it_was() -> None:
    dataset = ready_dataset()
    start_export(dataset)
    dataset.claim_task("t-export", "w1", later(60), later(31))
    dataset.fail_task("t-export", "w1", "no space left")
    assert (dataset.status, dataset.fatal_error_msg) == (Status.READY, None)
    assert dataset.finished_tasks["t-export"] == "FAILED"
    assert dataset.failed_task is None


def test_an_aborted_export_ends_without_touching_the_running_operation() -> None:
    dataset = ready_dataset()
    assert dataset.start_operation("t-op", ENRICHMENT, OWNER_EMAIL, {}, later(29))
    start_export(dataset)
    dataset.abort_task("t-export", OWNER_EMAIL)
    assert dataset.finished_tasks["t-export"] == "ABORTED"
    assert dataset.active_task is not None
    assert dataset.active_task["task_id"] == "t-op"
    assert dataset.status == Status.READ_ONLY
    with pytest.raises(Conflict):
        dataset.abort_task("t-export", OWNER_EMAIL)


def test_starting_an_export_twice_with_one_id_starts_one() -> None:
    dataset = ready_dataset()
    start_export(dataset)
    assert not dataset.start_export("t-export", OWNER_EMAIL, {}, later(31))
    assert len(dataset.side_tasks) == 1


def test_at_most_a_few_exports_run_at_once_per_dataset() -> None:
    dataset = ready_dataset()
    for number in range(MAX_RUNNING_EXPORTS):
        start_export(dataset, f"t-{number}")
    with pytest.raises(Conflict, match="exports running"):
        start_export(dataset, "t-one-too-many")


def test_an_export_completes_only_as_an_export_and_operations_not_as_exports() -> None:
    dataset = ready_dataset()
    start_export(dataset)
    dataset.claim_task("t-export", "w1", later(60), later(31))
    with pytest.raises(BadRequest):
        dataset.complete_operation(
            "t-export", "w1", version_of(ROOT_B, 1, 0, "READY", {}), OWNER_EMAIL, later(32)
        )
    assert dataset.start_operation("t-op", ENRICHMENT, OWNER_EMAIL, {}, later(33))
    dataset.claim_task("t-op", "w1", later(60), later(33))
    with pytest.raises(BadRequest):
        dataset.complete_export("t-op", "w1", {}, "")
