"""The CUSTOM_METADATA operation on fakes: good rows applied in one tree, bad rows reported with
their row numbers and never coerced, the schema merged into the facets, the status kept."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from application.operations import metadata_import
from application.operations.base import OperationFailed, Outcome, TaskContext
from application.operations.item_edits import SAMPLE_ERRORS
from application.operations.metadata_import import MetadataImport
from application.operations.sorted_spill import SortedSpill
from domain.content_tree import EMPTY_ROOT, ContentTree, Record
from domain.status import Status
from domain.tasks import CUSTOM_METADATA, TaskState
from tests.unit.fakes import DictNodeStore, FakeStaging

SCORE = {"score": {"type": "float"}}


class CountingTree(ContentTree):
    """A content tree that counts the new trees built through ``update``."""

    def __init__(self) -> None:
        super().__init__(DictNodeStore())
        self.updates = 0

    def update(self, root: str, changes: Mapping[str, Record | None]) -> str:
        self.updates += 1
        return super().update(root, changes)


def item(media_id: str, file_name: str, **extra: Any) -> Record:
    return {
        "media_id": media_id,
        "kind": "image",
        "file_name": file_name,
        "blob": "0" * 64,
        "size": 1,
        "width": 1,
        "height": 1,
        "metadata": {},
        "tags": [],
        "labels": [],
        "enrichment": {},
        "cluster_id": None,
        **extra,
    }


class Setup:
    def __init__(self, tmp_path: Path) -> None:
        self.tree = CountingTree()
        self.staging = FakeStaging(tmp_path / "staging")
        self.items = {
            "m1": item("m1", "cats/a.png"),
            "m2": item("m2", "cats/b.png", metadata={"kept": "yes"}),
            "m3": item("m3", "dogs/c.png"),
            "m4": item("m4", "dup.png"),
            "m5": item("m5", "dup.png"),
        }
        self.root = self.tree.build(self.items.items())
        self.tree.updates = 0
        self.ticks: list[tuple[int, int]] = []

    def stage(self, name: str, data: str | bytes, task_id: str = "task-1") -> str:
        path = self.staging.folder(task_id) / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return name

    def context(
        self,
        params: dict[str, Any],
        *,
        status_before: str = "READY",
        current: dict[str, Any] | None = None,
    ) -> TaskContext:
        task: TaskState = {
            "task_id": "task-1",
            "task_type": CUSTOM_METADATA,
            "created_by": "a@example.com",
            "params": params,
            "status": "RUNNING",
            "status_before": status_before,
            "start_time": datetime(2026, 1, 1, tzinfo=UTC),
            "claimed_by": "w1",
            "lease_until": None,
            "progress": None,
        }
        facets = {"clustered": False, "models": {}, "schema": current or {}}
        return TaskContext(
            dataset_id="d1",
            dataset_name="pets",
            content_root=self.root,
            facets=facets,
            task=task,
            tree=self.tree,
            progress=lambda p, m: None,
            observe=lambda done, total: self.ticks.append((done, total)),
        )

    def run_json(
        self, rows: list[Any], schema: dict[str, Any], key: str = "media_id", **context: Any
    ) -> Outcome:
        self.stage("rows.json", json.dumps(rows))
        params = {"file": "rows.json", "format": "json", "key": key, "schema": schema}
        return MetadataImport(self.staging).run(self.context(params, **context))

    def run_csv(
        self, lines: list[list[str]], schema: dict[str, Any], key: str = "media_id", **context: Any
    ) -> Outcome:
        path = self.staging.folder("task-1") / "rows.csv"
        with path.open("w", newline="", encoding="utf-8") as out:
            csv.writer(out).writerows(lines)
        params = {"file": "rows.csv", "format": "csv", "key": key, "schema": schema}
        return MetadataImport(self.staging).run(self.context(params, **context))

    def metadata(self, outcome: Outcome) -> dict[str, dict[str, Any]]:
        return {k: r["metadata"] for k, r in self.tree.items(outcome.root)}


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path)


def errors(outcome: Outcome) -> list[tuple[int, str | None, str]]:
    assert outcome.report is not None
    return [(e["row"], e["field"], e["detail"]) for e in outcome.report["errors"]]


def test_json_rows_keyed_by_media_id_merge_into_metadata_in_one_new_tree(setup: Setup) -> None:
    schema = {"score": "float", "animal": {"type": "enum", "options": ["cat", "dog"]}}
    outcome = setup.run_json(
        [{"media_id": "m1", "score": 1.5, "animal": "cat"}, {"media_id": "m2", "score": 2}], schema
    )
    assert setup.tree.updates == 1
    metadata = setup.metadata(outcome)
    assert metadata["m1"] == {"score": 1.5, "animal": "cat"}
    assert metadata["m2"] == {"kept": "yes", "score": 2.0}
    assert {k: metadata[k] for k in ("m3", "m4", "m5")} == {"m3": {}, "m4": {}, "m5": {}}
    assert {c.key for c in setup.tree.diff(setup.root, outcome.root)} == {"m1", "m2"}
    assert outcome.report == {
        "inserted_rows": 2,
        "rejected_rows": 0,
        "error_count": 0,
        "errors": [],
    }
    assert outcome.facets == {
        "schema": {
            "score": {"type": "float"},
            "animal": {"type": "enum", "options": ["cat", "dog"]},
        }
    }
    assert outcome.status == Status.READY
    assert outcome.message == "Imported custom metadata from 2 rows."


def test_csv_rows_keyed_by_file_name_read_their_values_from_text(setup: Setup) -> None:
    schema = {
        "score": "float",
        "taken": "datetime",
        "colors": {"type": "multi_enum", "options": ["red", "green", "blue"]},
        "page": "link",
        "note": "string",
    }
    outcome = setup.run_csv(
        [
            ["file_name", "score", "taken", "colors", "page", "note"],
            [
                "cats/a.png",
                "1.25",
                "2026-01-02T03:04:05+01:00",
                "blue;red",
                "https://a.example/x",
                "a, quoted note",
            ],
            ["dogs/c.png", " -4e1 ", "2026-01-02T00:00:00Z", "green", "http://b.example", "x"],
        ],
        schema,
        key="file_name",
    )
    metadata = setup.metadata(outcome)
    assert metadata["m1"] == {
        "score": 1.25,
        "taken": "2026-01-02T02:04:05.000000Z",
        "colors": ["red", "blue"],
        "page": "https://a.example/x",
        "note": "a, quoted note",
    }
    assert metadata["m3"] == {
        "score": -40.0,
        "taken": "2026-01-02T00:00:00.000000Z",
        "colors": ["green"],
        "page": "http://b.example",
        "note": "x",
    }
    assert outcome.report is not None
    assert outcome.report["inserted_rows"] == 2


def test_bad_values_reject_their_row_with_errors_and_the_good_rows_still_apply(
    setup: Setup,
) -> None:
    schema = {
        "score": "float",
        "animal": {"type": "enum", "options": ["cat", "dog"]},
        "note": "string",
    }
    outcome = setup.run_json(
        [
            {"media_id": "m1", "score": "1.5"},
            {"media_id": "m2", "animal": "maybe", "note": 12},
            {"media_id": "m3", "score": 3.0, "animal": "dog", "note": "fine"},
        ],
        schema,
    )
    assert errors(outcome) == [
        (1, "score", "expected a number, got text"),
        (2, "animal", "'maybe' is not one of the options ('cat', 'dog')"),
        (2, "note", "expected text, got a number"),
    ]
    assert outcome.report is not None
    assert (
        outcome.report["inserted_rows"],
        outcome.report["rejected_rows"],
        outcome.report["error_count"],
    ) == (1, 2, 3)
    metadata = setup.metadata(outcome)
    assert metadata["m1"] == {}, "a rejected row changes nothing, not even its good fields"
    assert metadata["m2"] == {"kept": "yes"}
    assert metadata["m3"] == {"score": 3.0, "animal": "dog", "note": "fine"}
    assert "Rejected 2 rows (3 errors)" in outcome.message


def test_csv_row_numbers_count_data_rows_from_one_without_the_header(setup: Setup) -> None:
    outcome = setup.run_csv(
        [["media_id", "score"], ["m1", "1"], ["m2", "12abc"], ["m3", "nan"], ["m4", "4"]], SCORE
    )
    assert errors(outcome) == [
        (2, "score", "'12abc' is not a decimal number"),
        (3, "score", "'nan' is not a decimal number"),
    ]
    assert setup.metadata(outcome)["m4"] == {"score": 4.0}


@pytest.mark.parametrize(
    ("row", "field", "detail"),
    [
        (
            {"media_id": "nope", "score": 1},
            "media_id",
            "no item of the dataset has media_id 'nope'",
        ),
        ({"score": 1}, "media_id", "the row has no media_id"),
        ({"media_id": "", "score": 1}, "media_id", "the row has no media_id"),
        ({"media_id": 7, "score": 1}, "media_id", "the media_id must be text"),
        ({"media_id": "m1", "color": "red"}, "color", "the field is not in the schema"),
    ],
)
def test_a_row_naming_no_item_or_an_unknown_field_is_rejected(
    setup: Setup, row: dict[str, Any], field: str, detail: str
) -> None:
    outcome = setup.run_json([row, {"media_id": "m3", "score": 3}], SCORE)
    assert errors(outcome) == [(1, field, detail)]
    assert setup.metadata(outcome)["m3"] == {"score": 3.0}


def test_a_file_name_must_name_exactly_one_item(setup: Setup) -> None:
    outcome = setup.run_json(
        [
            {"file_name": "dup.png", "score": 1},
            {"file_name": "missing.png", "score": 1},
            {"file_name": "cats/b.png", "score": 2},
        ],
        SCORE,
        key="file_name",
    )
    assert errors(outcome) == [
        (1, "file_name", "2 items have file_name 'dup.png'; use media_id"),
        (2, "file_name", "no item of the dataset has file_name 'missing.png'"),
    ]
    assert setup.metadata(outcome)["m2"] == {"kept": "yes", "score": 2.0}


def test_a_row_that_is_not_an_object_or_has_the_wrong_cells_is_reported_without_a_field(
    setup: Setup,
) -> None:
    json_outcome = setup.run_json([5, {"media_id": "m1", "score": 1}], SCORE)
    assert errors(json_outcome) == [(1, None, "the row is not a JSON object")]
    csv_outcome = setup.run_csv([["media_id", "score"], ["m1"], ["m2", "2"]], SCORE)
    assert errors(csv_outcome) == [(1, None, "the row has 1 cells; the header has 2")]
    assert setup.metadata(csv_outcome)["m2"]["score"] == 2.0


def test_later_rows_win_field_by_field_null_removes_and_an_empty_cell_keeps(setup: Setup) -> None:
    schema = {"score": "float", "note": "string"}
    outcome = setup.run_json(
        [
            {"media_id": "m2", "score": 1, "note": "first"},
            {"media_id": "m2", "score": 2},
            {"media_id": "m2", "kept": None},
        ],
        {**schema, "kept": "string"},
    )
    assert setup.metadata(outcome)["m2"] == {"score": 2.0, "note": "first"}
    csv_outcome = setup.run_csv(
        [["media_id", "kept", "note"], ["m2", "", "new"]], {**schema, "kept": "string"}
    )
    assert setup.metadata(csv_outcome)["m2"] == {"kept": "yes", "note": "new"}


def test_the_other_identifying_column_is_ignored(setup: Setup) -> None:
    outcome = setup.run_csv([["media_id", "file_name", "score"], ["m1", "whatever", "1"]], SCORE)
    assert errors(outcome) == []
    assert setup.metadata(outcome)["m1"] == {"score": 1.0}
    assert setup.tree.get(outcome.root, "m1")["file_name"] == "cats/a.png"  # type: ignore[index]


def test_the_error_sample_is_bounded_but_every_error_is_counted(setup: Setup) -> None:
    rows = [{"media_id": "m1", "score": "bad"} for _ in range(SAMPLE_ERRORS + 5)]
    outcome = setup.run_json(rows, SCORE)
    assert outcome.report is not None
    assert outcome.report["error_count"] == SAMPLE_ERRORS + 5
    assert [e["row"] for e in outcome.report["errors"]] == list(range(1, SAMPLE_ERRORS + 1))


def test_the_schema_merges_with_the_datasets_and_rows_may_use_either(setup: Setup) -> None:
    current = {"animal": {"type": "enum", "options": ["cat"]}}
    outcome = setup.run_json(
        [{"media_id": "m1", "animal": "cat", "score": 1}, {"media_id": "m3", "animal": "dog"}],
        {"animal": {"type": "enum", "options": ["dog"]}, "score": "float"},
        current=current,
    )
    assert outcome.facets == {
        "schema": {
            "animal": {"type": "enum", "options": ["cat", "dog"]},
            "score": {"type": "float"},
        }
    }
    assert errors(outcome) == []
    assert setup.metadata(outcome)["m3"] == {"animal": "dog"}


def test_a_schema_that_conflicts_with_the_datasets_fails_the_task(setup: Setup) -> None:
    with pytest.raises(OperationFailed, match="already has type string"):
        setup.run_json(
            [{"media_id": "m1", "score": 1}], SCORE, current={"score": {"type": "string"}}
        )


@pytest.mark.parametrize(
    ("before", "after"),
    [("READY", "READY"), ("PARTIAL INDEX", "PARTIAL INDEX"), ("ERROR", "READY")],
)
def test_the_dataset_returns_to_its_status_before_and_error_becomes_ready(
    setup: Setup, before: str, after: str
) -> None:
    outcome = setup.run_json([{"media_id": "m1", "score": 1}], SCORE, status_before=before)
    assert outcome.status == after


def test_the_staged_file_is_removed_only_by_the_cleanup(setup: Setup) -> None:
    outcome = setup.run_json([{"media_id": "m1", "score": 1}], SCORE)
    assert setup.staging.removed == []
    for cleanup in outcome.cleanup:
        cleanup()
    assert setup.staging.removed == ["task-1"]


def test_a_file_that_cannot_be_read_fails_the_task(setup: Setup) -> None:
    setup.stage("rows.json", "[{")
    with pytest.raises(OperationFailed, match="not valid JSON"):
        MetadataImport(setup.staging).run(
            setup.context(
                {"file": "rows.json", "format": "json", "key": "media_id", "schema": SCORE}
            )
        )
    with pytest.raises(OperationFailed, match="no 'media_id' column"):
        setup.run_csv([["file_name", "score"], ["cats/a.png", "1"]], SCORE)
    with pytest.raises(OperationFailed, match="'color' is not a field"):
        setup.run_csv([["media_id", "color"], ["m1", "red"]], SCORE)
    with pytest.raises(OperationFailed, match="no longer staged"):
        MetadataImport(setup.staging).run(
            setup.context({"file": "gone.csv", "format": "csv", "key": "media_id", "schema": SCORE})
        )


def test_importing_into_an_empty_dataset_only_reports_unknown_items(setup: Setup) -> None:
    setup.root = EMPTY_ROOT
    outcome = setup.run_json([{"media_id": "m1", "score": 1}], SCORE)
    assert outcome.root == EMPTY_ROOT
    assert errors(outcome) == [(1, "media_id", "no item of the dataset has media_id 'm1'")]


def test_a_large_generated_csv_applies_every_row_and_reports_progress(setup: Setup) -> None:
    count = 20_000
    lines = [["media_id", "score"]] + [[f"m{1 + i % 5}", str(i)] for i in range(count)]
    outcome = setup.run_csv(lines, SCORE)
    assert outcome.report is not None
    assert outcome.report["inserted_rows"] == count
    last_for = {f"m{1 + i % 5}": float(i) for i in range(count)}  # later rows win
    assert {k: v["score"] for k, v in setup.metadata(outcome).items()} == last_for
    reading, applying = setup.ticks[:count], setup.ticks[count:]
    assert reading == sorted(reading), "every row read counts towards progress"
    assert reading[-1] == (1000, 1000)
    assert [done for done, _ in applying] == [1, *range(4001, count, 4000)], "each item applied"
    assert {total for _, total in applying} == {count}
    assert setup.tree.updates == 1


def test_errors_are_sampled_by_row_whatever_order_they_are_found_in(setup: Setup) -> None:
    # Unknown media ids are found when the rows are applied, in the tree's order; bad values
    # as they are read. The sample is still the first errors by row.
    rows: list[Any] = []
    for i in range(SAMPLE_ERRORS):
        rows.append({"media_id": f"ghost-{i}", "score": 1})
        rows.append({"media_id": "m1", "score": "bad"})
    rows.insert(0, {"media_id": "ghost-x", "score": "bad"})
    outcome = setup.run_json(rows, SCORE)

    assert outcome.report is not None
    assert outcome.report["error_count"] == 2 * SAMPLE_ERRORS + 2
    assert outcome.report["rejected_rows"] == 2 * SAMPLE_ERRORS + 1
    found = errors(outcome)
    assert [row for row, _, _ in found] == [1, 1, *range(2, SAMPLE_ERRORS)]
    assert found[:3] == [
        (1, "media_id", "no item of the dataset has media_id 'ghost-x'"),
        (1, "score", "expected a number, got text"),
        (2, "media_id", "no item of the dataset has media_id 'ghost-0'"),
    ]


def test_rows_spilled_to_disk_apply_as_rows_held_in_memory(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [["file_name", "score"]] + [
        [name, str(i)] for i, name in enumerate(["cats/a.png", "dogs/c.png", "dup.png"] * 300)
    ]
    in_memory = setup.metadata(setup.run_csv(lines, SCORE, key="file_name"))
    # Runs of a few hundred bytes: the rows, and the items by file name, spill to many files.
    monkeypatch.setattr(metadata_import, "SortedSpill", partial(SortedSpill, run_bytes=512))
    spilled = setup.run_csv(lines, SCORE, key="file_name")

    assert setup.metadata(spilled) == in_memory
    assert in_memory["m1"] == {"score": 897.0}
    assert in_memory["m3"] == {"score": 898.0}
    assert errors(spilled)[0] == (3, "file_name", "2 items have file_name 'dup.png'; use media_id")


def test_a_file_name_of_three_items_says_three(setup: Setup) -> None:
    setup.root = setup.tree.update(setup.root, {"m6": item("m6", "dup.png")})
    outcome = setup.run_json([{"file_name": "dup.png", "score": 1}], SCORE, key="file_name")
    assert errors(outcome) == [(1, "file_name", "3 items have file_name 'dup.png'; use media_id")]
