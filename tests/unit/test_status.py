"""The status machine over its full matrix, against a table written out from API.md."""

from __future__ import annotations

import itertools

import pytest

from domain.status import Operation, Status, may_start, task_status_name

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
