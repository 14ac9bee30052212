"""The status machine over its full matrix, against a table written out from API.md."""

from __future__ import annotations

import itertools

import pytest

from domain.status import (
    GATES,
    MAX_RUNNING_EXPORTS,
    Operation,
    Status,
    may_start,
    task_status_name,
)

# Columns, in this order. "Y": the operation may start; ".": it is refused.
COLUMNS = (
    Status.DRAFT,
    Status.INDEXING,
    Status.READ_ONLY,
    Status.PARTIAL_INDEX,
    Status.READY,
    Status.ERROR,
)

#                                     DRAFT INDEXING READ_ONLY PARTIAL READY ERROR
EXPECTED: dict[tuple[Operation, bool], str] = {
    (Operation.CREATE_SNAPSHOT, False): "....Y.",
    (Operation.CREATE_SNAPSHOT, True): "......",
    (Operation.RESTORE, False): "...YYY",
    (Operation.RESTORE, True): "......",
    (Operation.CLONE, False): "...YYY",
    (Operation.CLONE, True): "...YYY",
    (Operation.EDIT_SNAPSHOT, False): "YYYYYY",
    (Operation.EDIT_SNAPSHOT, True): "YYYYYY",
    (Operation.DELETE_SNAPSHOT, False): "YYYYYY",
    (Operation.DELETE_SNAPSHOT, True): "YYYYYY",
    (Operation.INGEST, False): "Y.....",
    (Operation.INGEST, True): "......",
    (Operation.MODIFY, False): "...YYY",
    (Operation.MODIFY, True): "......",
    (Operation.EDIT_ITEMS, False): "...YYY",
    (Operation.EDIT_ITEMS, True): "......",
    (Operation.PROPAGATE_LABELS, False): "...YYY",
    (Operation.PROPAGATE_LABELS, True): "......",
    (Operation.READ_SNAPSHOTS, False): "YYYYYY",
    (Operation.READ_SNAPSHOTS, True): "YYYYYY",
    (Operation.EXPORT, False): "YYYYYY",
    (Operation.EXPORT, True): "YYYYYY",
    (Operation.RETRY, False): "YYYYYY",
    (Operation.RETRY, True): "......",
}

# What else each gate asks, beside status: snapshot support on (S), no clone from the
# dataset running (C), fewer than MAX_RUNNING_EXPORTS of it running (N), clusters made (K).
OTHER_CONDITIONS: dict[Operation, str] = {
    Operation.CREATE_SNAPSHOT: "S",
    Operation.RESTORE: "SC",
    Operation.CLONE: "S",
    Operation.EDIT_SNAPSHOT: "S",
    Operation.DELETE_SNAPSHOT: "S",
    Operation.READ_SNAPSHOTS: "S",
    Operation.INGEST: "",
    Operation.MODIFY: "",
    Operation.PROPAGATE_LABELS: "K",
    Operation.EDIT_ITEMS: "",
    Operation.EXPORT: "N",
    Operation.RETRY: "",
}

MATRIX = [
    pytest.param(operation, status, busy, id=f"{operation.value}-{status.value}-busy={busy}")
    for operation, status, busy in itertools.product(Operation, Status, (False, True))
]


def test_expected_table_covers_every_operation_status_and_busy_flag() -> None:
    assert set(COLUMNS) == set(Status)
    assert len(COLUMNS) == len(Status)
    assert set(EXPECTED) == set(itertools.product(Operation, (False, True)))
    assert all(len(row) == len(COLUMNS) and set(row) <= {"Y", "."} for row in EXPECTED.values())


@pytest.mark.parametrize(("operation", "status", "busy"), MATRIX)
def test_may_start_matches_the_expected_table(
    operation: Operation, status: Status, *, busy: bool
) -> None:
    expected = EXPECTED[operation, busy][COLUMNS.index(status)] == "Y"
    assert may_start(operation, status, busy=busy) is expected


@pytest.mark.parametrize("operation", list(Operation))
def test_each_gate_asks_exactly_the_other_conditions_api_md_names(operation: Operation) -> None:
    gate = GATES[operation]
    asked = {
        "S": gate.snapshots,
        "C": gate.not_while_cloned,
        "N": gate.most_at_once == MAX_RUNNING_EXPORTS,
        "K": gate.clustered,
    }
    assert {flag for flag, on in asked.items() if on} == set(OTHER_CONDITIONS[operation])
    assert gate.most_at_once in (None, MAX_RUNNING_EXPORTS)


# The status a dataset takes when each starts (API.md's Dataset status; None: it keeps its own).
ENTERS: dict[Operation, Status | None] = {
    Operation.INGEST: Status.INDEXING,
    Operation.MODIFY: Status.READ_ONLY,
    Operation.PROPAGATE_LABELS: Status.READ_ONLY,
    Operation.RESTORE: Status.READ_ONLY,
    Operation.RETRY: Status.INDEXING,
}


@pytest.mark.parametrize("operation", list(Operation))
def test_each_gate_names_the_status_its_operation_puts_the_dataset_in(
    operation: Operation,
) -> None:
    assert GATES[operation].enters == ENTERS.get(operation)


def test_status_values_are_spelled_as_the_api_spells_them() -> None:
    assert [s.value for s in COLUMNS] == [
        "DRAFT",
        "INDEXING",
        "READ ONLY",
        "PARTIAL INDEX",
        "READY",
        "ERROR",
    ]


def test_task_status_names_use_underscores() -> None:
    assert [task_status_name(s) for s in COLUMNS] == [
        "DRAFT",
        "INDEXING",
        "READ_ONLY",
        "PARTIAL_INDEX",
        "READY",
        "ERROR",
    ]
