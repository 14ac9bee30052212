"""The LABEL_PROPAGATION operation on fakes: labels reach the rest of the source's cluster
marked with their source, nothing else changes, and running it again changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from application.operations.base import Outcome, TaskContext
from application.operations.label_propagation import LabelPropagation
from domain.content_tree import ContentTree, Record
from domain.tasks import LABEL_PROPAGATION, TaskState
from tests.unit.fakes import DictNodeStore

CAT = {"class_name": "cat", "bbox": [1.0, 2.0, 3.0, 4.0], "source": "manual"}
DOG = {"class_name": "dog", "bbox": None, "source": "manual"}


def item(media_id: str, cluster: str | None, labels: list[dict[str, Any]] | None = None) -> Record:
    return {
        "media_id": media_id,
        "kind": "image",
        "file_name": f"{media_id}.png",
        "metadata": {},
        "tags": [],
        "labels": labels or [],
        "enrichment": {},
        "cluster_id": cluster,
    }


def copy_of(label: dict[str, Any], source: str) -> dict[str, Any]:
    return {
        "class_name": label["class_name"],
        "bbox": label["bbox"],
        "source": "propagation",
        "source_media_id": source,
    }


class Setup:
    def __init__(self) -> None:
        self.tree = ContentTree(DictNodeStore(), leaf_capacity=2)
        self.root = self.tree.build(
            {
                "a1": item("a1", "A", [CAT, DOG]),
                "a2": item("a2", "A"),
                "a3": item("a3", "A", [DOG]),
                "b1": item("b1", "B", [CAT]),
                "b2": item("b2", "B"),
                "lone": item("lone", None, [CAT]),
            }.items()
        )

    def run(
        self,
        media_ids: list[str],
        class_names: list[str] | None = None,
        root: str | None = None,
        status_before: str = "READY",
    ) -> Outcome:
        task: TaskState = {
            "task_id": "task-1",
            "task_type": LABEL_PROPAGATION,
            "created_by": "a@example.com",
            "params": {"media_ids": media_ids, "class_names": class_names},
            "status": "RUNNING",
            "status_before": status_before,
            "start_time": datetime(2026, 1, 1, tzinfo=UTC),
            "claimed_by": "w1",
            "lease_until": None,
            "progress": None,
        }
        context = TaskContext(
            dataset_id="d1",
            dataset_name="pets",
            content_root=root or self.root,
            facets={"clustered": True, "models": {}, "schema": {}},
            task=task,
            tree=self.tree,
            progress=lambda p, m: None,
        )
        return LabelPropagation().run(context)

    def labels(self, outcome: Outcome) -> dict[str, list[dict[str, Any]]]:
        return {k: r["labels"] for k, r in self.tree.items(outcome.root)}


@pytest.fixture
def setup() -> Setup:
    return Setup()


def test_a_sources_labels_are_copied_to_every_other_member_of_its_cluster(setup: Setup) -> None:
    outcome = setup.run(["a1"])
    labels = setup.labels(outcome)
    assert labels["a2"] == [copy_of(CAT, "a1"), copy_of(DOG, "a1")]
    assert labels["a3"] == [DOG, copy_of(CAT, "a1"), copy_of(DOG, "a1")]
    assert labels["a1"] == [CAT, DOG]
    assert {c.key for c in setup.tree.diff(setup.root, outcome.root)} == {"a2", "a3"}
    assert outcome.report == {
        "propagated_labels": 4,
        "items_changed": 2,
        "error_count": 0,
        "errors": [],
    }
    assert outcome.status == "READY"
    assert outcome.facets is None


def test_running_the_same_propagation_again_changes_nothing(setup: Setup) -> None:
    first = setup.run(["a1", "b1"])
    second = setup.run(["a1", "b1"], root=first.root)
    assert second.root == first.root
    assert second.report is not None
    assert (second.report["propagated_labels"], second.report["items_changed"]) == (0, 0)


def test_class_names_limit_which_labels_are_copied(setup: Setup) -> None:
    labels = setup.labels(setup.run(["a1"], class_names=["dog"]))
    assert labels["a2"] == [copy_of(DOG, "a1")]


def test_propagated_labels_are_not_propagated_again(setup: Setup) -> None:
    first = setup.run(["a1"])
    second = setup.run(["a2"], root=first.root)
    assert second.root == first.root, "a2 has only copies, so it has nothing of its own to give"


def test_two_sources_in_one_cluster_exchange_their_own_labels_whatever_their_order(
    setup: Setup,
) -> None:
    one = setup.run(["a1", "a3"])
    other = setup.run(["a3", "a1"])
    assert one.root == other.root
    labels = setup.labels(one)
    assert labels["a1"] == [CAT, DOG, copy_of(DOG, "a3")]
    assert labels["a2"] == [copy_of(CAT, "a1"), copy_of(DOG, "a1"), copy_of(DOG, "a3")]


def test_unknown_and_unclustered_sources_are_reported_and_the_others_still_propagate(
    setup: Setup,
) -> None:
    outcome = setup.run(["missing", "lone", "b1", "b1"])
    assert outcome.report is not None
    assert outcome.report["errors"] == [
        {"media_id": "missing", "detail": "the item is not in the dataset"},
        {
            "media_id": "lone",
            "detail": "the item has no cluster; re-index the dataset to cluster new media",
        },
    ]
    assert outcome.report["error_count"] == 2
    assert setup.labels(outcome)["b2"] == [copy_of(CAT, "b1")]
    assert outcome.report["propagated_labels"] == 1


def test_a_source_without_labels_changes_nothing(setup: Setup) -> None:
    outcome = setup.run(["b2"])
    assert outcome.root == setup.root
    assert outcome.report is not None
    assert outcome.report["error_count"] == 0


def test_a_partially_indexed_dataset_stays_partially_indexed(setup: Setup) -> None:
    assert setup.run(["a1"], status_before="PARTIAL INDEX").status == "PARTIAL INDEX"
    assert setup.run(["a1"], status_before="ERROR").status == "READY"
