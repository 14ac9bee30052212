"""The task log read model: search, filters, sorting, paging, access and the workers' queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from adapters.runtime import Runtime
from adapters.views.task_log import SORT_COLUMNS, TaskFilter, TaskLogView
from application.actor import Actor
from domain.tasks import CLONE, CREATION, MEDIA_ADDITION, RESTORE
from tests.integration.helpers import add_media, ingested, settle

ALL = 50


@dataclass
class History:
    alpha: UUID
    empty: UUID
    pending: UUID
    bravo: UUID
    clone: UUID
    tasks: dict[str, str]  # what -> task id


def view_of(runtime: Runtime) -> TaskLogView:
    view = runtime.backend.views["task_log"]
    assert isinstance(view, TaskLogView)
    return view


def search(
    runtime: Runtime,
    user: Actor | None = None,
    flt: TaskFilter | None = None,
    sort_by: str = "start_time",
    descending: bool = True,
    page: int = 1,
    page_size: int = ALL,
) -> tuple[list[dict[str, Any]], int]:
    runtime.catch_up()
    return view_of(runtime).search(
        None if user is None else user.user_id,
        flt or TaskFilter(),
        sort_by,
        descending,
        page,
        page_size,
    )


def task_ids(rows: list[dict[str, Any]]) -> set[str]:
    return {r["task_id"] for r in rows}


def only_finished_task(runtime: Runtime, actor: Actor, dataset_id: UUID) -> str:
    [task_id] = runtime.app.get_dataset(actor, dataset_id).finished_tasks
    return str(task_id)


@pytest.fixture
def history(runtime: Runtime, alice: Actor, bob: Actor) -> History:
    app = runtime.app
    tasks: dict[str, str] = {}
    alpha = ingested(runtime, alice, "alpha")
    tasks["alpha creation"] = only_finished_task(runtime, alice, alpha)
    tasks["alpha addition"] = str(add_media(runtime, alice, alpha, "alpha-more"))
    settle(runtime)
    creation_checkpoint = next(iter(app.get_dataset(alice, alpha).checkpoints))
    restore, _ = app.restore_snapshot(alice, alpha, creation_checkpoint)
    tasks["alpha restore"] = str(restore)
    import_root = runtime.backend.settings.import_root
    assert import_root is not None
    (import_root / "empty").mkdir()
    (import_root / "empty" / "notes.txt").write_text("not media")
    empty, _ = app.create_dataset(
        alice, "empty", source={"source": "path", "path": str(import_root / "empty")}
    )
    bravo = ingested(runtime, bob, "bravo")
    tasks["bravo creation"] = only_finished_task(runtime, bob, bravo)
    bravo_snapshot = app.get_dataset(bob, bravo).current_checkpoint
    clone_task, clone, _ = app.clone_snapshot(bob, bravo, UUID(bravo_snapshot))
    tasks["bravo clone"] = str(clone_task)
    settle(runtime)
    tasks["empty creation"] = only_finished_task(runtime, alice, empty)
    pending = ingested(runtime, alice, "pending", run=False)
    runtime.catch_up()
    tasks["pending creation"] = app.get_dataset(alice, pending).active_task["task_id"]
    return History(alpha, empty, pending, bravo, clone, tasks)


def test_each_task_is_one_row_with_its_outcome(runtime: Runtime, history: History) -> None:
    rows, total = search(runtime)
    by_id = {r["task_id"]: r for r in rows}

    assert total == len(rows) == len(history.tasks) == 7
    assert set(by_id) == set(history.tasks.values())
    done = by_id[history.tasks["alpha creation"]]
    assert (done["status"], done["progress"], done["error_message"]) == ("COMPLETED", 100, None)
    assert (done["task_type"], done["dataset_name"], done["created_by"]) == (
        CREATION,
        "alpha",
        "alice@example.com",
    )
    assert done["end_time"] >= done["start_time"]
    assert done["lease_until"] is None
    failed = by_id[history.tasks["empty creation"]]
    assert failed["status"] == "FAILED"
    assert "No supported images or videos" in failed["error_message"]
    assert failed["dataset_status"] == "ERROR"
    pending = by_id[history.tasks["pending creation"]]
    assert (pending["status"], pending["end_time"], pending["dataset_status"]) == (
        "INITIALIZING",
        None,
        "INDEXING",
    )
    assert by_id[history.tasks["bravo clone"]]["dataset_id"] == str(history.clone)
    assert by_id[history.tasks["bravo clone"]]["dataset_name"] == "bravo (cloned)"
    assert by_id[history.tasks["alpha restore"]]["task_type"] == RESTORE
    assert by_id[history.tasks["alpha addition"]]["task_type"] == MEDIA_ADDITION


def test_a_user_sees_only_tasks_of_datasets_they_have_a_role_on(
    runtime: Runtime, history: History, alice: Actor, bob: Actor
) -> None:
    alice_rows, alice_total = search(runtime, alice)
    bob_rows, bob_total = search(runtime, bob)

    t = history.tasks
    assert task_ids(alice_rows) == {
        t["alpha creation"],
        t["alpha addition"],
        t["alpha restore"],
        t["empty creation"],
        t["pending creation"],
    }
    assert alice_total == 5
    assert task_ids(bob_rows) == {t["bravo creation"], t["bravo clone"]}
    assert bob_total == 2
    assert view_of(runtime).get(alice.user_id, t["bravo creation"]) is None
    assert view_of(runtime).get(bob.user_id, t["bravo creation"]) is not None
    assert view_of(runtime).get(None, t["bravo creation"]) is not None


def test_sharing_a_dataset_shows_its_tasks_to_the_new_member(
    runtime: Runtime, history: History, alice: Actor, bob: Actor
) -> None:
    runtime.app.share_dataset(bob, history.bravo, alice.email, "viewer")

    rows, _ = search(runtime, alice)

    assert history.tasks["bravo creation"] in task_ids(rows)
    assert history.tasks["bravo clone"] not in task_ids(rows)


FILTER_CASES: list[tuple[str, str, set[str]]] = [
    ("dataset_id", "alpha", {"alpha creation", "alpha addition", "alpha restore"}),
    ("dataset_name", "alpha", {"alpha creation", "alpha addition", "alpha restore"}),
    ("dataset_name", "bravo (cloned)", {"bravo clone"}),
    (
        "task_type",
        CREATION,
        {"alpha creation", "empty creation", "bravo creation", "pending creation"},
    ),
    ("task_type", CLONE, {"bravo clone"}),
    ("task_status", "FAILED", {"empty creation"}),
    ("task_status", "INITIALIZING", {"pending creation"}),
    (
        "task_status",
        "COMPLETED",
        {"alpha creation", "alpha addition", "alpha restore", "bravo creation", "bravo clone"},
    ),
    ("created_by", "bob@example.com", {"bravo creation", "bravo clone"}),
    ("dataset_name", "nothing by this name", set()),
]


def test_each_filter_selects_exactly_its_tasks(runtime: Runtime, history: History) -> None:
    for field, value, expected in FILTER_CASES:
        wanted = str(getattr(history, value)) if field == "dataset_id" else value

        rows, total = search(runtime, flt=TaskFilter(**{field: wanted}))

        assert task_ids(rows) == {history.tasks[what] for what in expected}, (field, value)
        assert total == len(expected), (field, value)


def test_filters_combine_with_access(runtime: Runtime, history: History, alice: Actor) -> None:
    rows, total = search(runtime, alice, TaskFilter(created_by="bob@example.com"))
    mine, _ = search(runtime, alice, TaskFilter(task_type=CREATION, task_status="COMPLETED"))

    assert (rows, total) == ([], 0)
    assert task_ids(mine) == {history.tasks["alpha creation"]}


def test_start_time_bounds_are_inclusive(runtime: Runtime, history: History) -> None:
    rows, _ = search(runtime, sort_by="start_time", descending=False)
    times = [r["start_time"] for r in rows]
    middle = times[3]

    since, _ = search(runtime, flt=TaskFilter(start_time_from=middle))
    until, _ = search(runtime, flt=TaskFilter(start_time_to=middle))
    exactly, _ = search(runtime, flt=TaskFilter(start_time_from=middle, start_time_to=middle))

    assert task_ids(since) == {r["task_id"] for r in rows[3:]}
    assert task_ids(until) == {r["task_id"] for r in rows[:4]}
    assert task_ids(exactly) == {rows[3]["task_id"]}


def test_every_sort_column_orders_both_ways_with_task_id_breaking_ties(
    runtime: Runtime, history: History
) -> None:
    for column in SORT_COLUMNS:
        for descending in (False, True):
            rows, _ = search(runtime, sort_by=column, descending=descending)
            expected = sorted(
                sorted(rows, key=lambda r: r["task_id"]),
                key=lambda r, c=column: r[c],
                reverse=descending,
            )
            assert [r["task_id"] for r in rows] == [r["task_id"] for r in expected], (
                column,
                descending,
            )
            assert len({r[column] for r in rows}) > 1, column


def test_pages_partition_the_result_and_report_the_full_total(
    runtime: Runtime, history: History
) -> None:
    everything, _ = search(runtime, sort_by="created_by", descending=False)

    pages = [
        search(runtime, sort_by="created_by", descending=False, page=n, page_size=2)
        for n in (1, 2, 3, 4, 5)
    ]

    assert [total for _, total in pages] == [7] * 5
    assert [len(rows) for rows, _ in pages] == [2, 2, 2, 1, 0]
    assert [r["task_id"] for rows, _ in pages for r in rows] == [r["task_id"] for r in everything]


def test_filter_values_are_those_of_the_visible_tasks(
    runtime: Runtime, history: History, alice: Actor
) -> None:
    runtime.catch_up()
    view = view_of(runtime)

    mine = view.filters(alice.user_id)
    everyone = view.filters(None)

    assert mine == {
        "dataset_names": ["alpha", "empty", "pending"],
        "dataset_ids": sorted(str(d) for d in (history.alpha, history.empty, history.pending)),
        "task_types": sorted([CREATION, MEDIA_ADDITION, RESTORE]),
        "created_by": ["alice@example.com"],
    }
    assert everyone["dataset_names"] == sorted(
        ["alpha", "empty", "pending", "bravo", "bravo (cloned)"]
    )
    assert everyone["created_by"] == ["alice@example.com", "bob@example.com"]
    assert everyone["task_types"] == sorted([CREATION, MEDIA_ADDITION, RESTORE, CLONE])


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def test_the_queue_lists_open_tasks_without_a_live_lease_only(
    runtime: Runtime, history: History
) -> None:
    view = view_of(runtime)
    newest_start = search(runtime, sort_by="start_time", descending=True)[0][0]["start_time"]
    now = datetime.fromisoformat(newest_start) + timedelta(seconds=1)
    pending = (str(history.pending), history.tasks["pending creation"])

    before_claim = view.claimable(iso(now), 10)
    runtime.app.claim_task(history.pending, pending[1], "worker-test", 60)
    runtime.catch_up()
    [claimed] = [r for r in search(runtime)[0] if r["task_id"] == pending[1]]
    lease = datetime.fromisoformat(claimed["lease_until"])

    assert before_claim == [pending]
    assert claimed["status"] == "RUNNING"
    assert view.claimable(iso(lease - timedelta(seconds=1)), 10) == []
    assert view.claimable(iso(lease + timedelta(seconds=1)), 10) == [pending]


def test_an_aborted_task_is_final_and_a_retry_reopens_it(
    runtime: Runtime, history: History, alice: Actor
) -> None:
    task_id = history.tasks["pending creation"]
    view = view_of(runtime)

    runtime.app.abort_task(alice, history.pending, UUID(task_id))
    runtime.catch_up()
    aborted = view.get(alice.user_id, task_id)
    runtime.app.retry_task(alice, history.pending, UUID(task_id))
    runtime.catch_up()
    retried = view.get(alice.user_id, task_id)

    assert aborted is not None
    assert retried is not None
    assert (aborted["status"], aborted["dataset_status"]) == ("ABORTED", "ERROR")
    assert aborted["end_time"] is not None
    assert (retried["status"], retried["end_time"], retried["dataset_status"]) == (
        "INITIALIZING",
        None,
        "INDEXING",
    )
    assert retried["start_time"] > aborted["start_time"]
    far_future = iso(datetime.fromisoformat(retried["start_time"]) + timedelta(days=1))
    assert (str(history.pending), task_id) in view.claimable(far_future, 10)
    settle(runtime)
    done = view.get(alice.user_id, task_id)
    assert done is not None
    assert (done["status"], done["dataset_status"]) == ("COMPLETED", "READY")
