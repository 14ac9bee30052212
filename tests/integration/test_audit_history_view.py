"""The audit history read model: one row per dataset event, who did it, when, and filters."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from adapters.runtime import Runtime
from adapters.views.audit_history import AuditHistoryView
from application.actor import Actor
from tests.integration.helpers import edit, ingested, settle, tag_first


def view_of(runtime: Runtime) -> AuditHistoryView:
    view = runtime.backend.views["audit_history"]
    assert isinstance(view, AuditHistoryView)
    return view


def history(runtime: Runtime, dataset_id: UUID, **filters: Any) -> tuple[list[dict[str, Any]], int]:
    runtime.catch_up()
    filters.setdefault("page_size", 500)
    return view_of(runtime).page(str(dataset_id), **filters)


def dataset_notifications(runtime: Runtime, dataset_id: UUID) -> list[tuple[int, str]]:
    """(position, event name) of every event of the dataset in the event store."""
    found = runtime.app.recorder.select_notifications(start=None, limit=10_000)
    return [(n.id, n.topic.rsplit(".", 1)[-1]) for n in found if n.originator_id == dataset_id]


def busy_dataset(runtime: Runtime, alice: Actor, bob: Actor) -> UUID:
    dataset_id = ingested(runtime, alice, "alpha")
    runtime.app.share_dataset(alice, dataset_id, bob.email, "editor")
    snapshot_id = runtime.app.create_snapshot(bob, dataset_id, "bob's").result.snapshot_id
    runtime.app.update_snapshot(alice, dataset_id, snapshot_id, "renamed", None)
    edit(runtime, bob, dataset_id, tag_first("x"))
    creation = runtime.app.get_dataset(alice, dataset_id).checkpoints
    runtime.app.restore_snapshot(alice, dataset_id, next(iter(creation)))
    settle(runtime)
    runtime.app.delete_snapshot(bob, dataset_id, snapshot_id)
    return dataset_id


def test_every_dataset_event_is_one_row_in_log_order(
    runtime: Runtime, alice: Actor, bob: Actor
) -> None:
    dataset_id = busy_dataset(runtime, alice, bob)
    other = ingested(runtime, bob, "other")

    rows, total = history(runtime, dataset_id)

    expected = dataset_notifications(runtime, dataset_id)
    assert [(r["position"], r["event_type"]) for r in rows] == expected
    assert total == len(expected)
    assert [r["version"] for r in rows] == list(range(1, len(rows) + 1))
    assert {r["dataset_id"] for r in rows} == {str(dataset_id)}
    assert not {r["position"] for r in rows} & {p for p, _ in dataset_notifications(runtime, other)}
    assert [name for _, name in expected] == [
        "Created",
        "OperationStarted",
        "TaskClaimed",
        "OperationCompleted",
        "Shared",
        "SnapshotCreated",
        "SnapshotUpdated",
        "ContentEdited",
        "SnapshotCreated",
        "RestoreStarted",
        "TaskClaimed",
        "RestoreCompleted",
        "SnapshotSoftDeleted",
    ]


def test_each_row_names_the_acting_user_by_email(
    runtime: Runtime, alice: Actor, bob: Actor
) -> None:
    dataset_id = busy_dataset(runtime, alice, bob)

    rows, _ = history(runtime, dataset_id)

    actors = [(r["event_type"], r["actor"]) for r in rows]
    assert actors == [
        ("Created", alice.email),
        ("OperationStarted", alice.email),
        ("TaskClaimed", "system"),
        ("OperationCompleted", alice.email),
        ("Shared", alice.email),
        ("SnapshotCreated", bob.email),
        ("SnapshotUpdated", alice.email),
        ("ContentEdited", bob.email),
        ("SnapshotCreated", alice.email),
        ("RestoreStarted", alice.email),
        ("TaskClaimed", "system"),
        ("RestoreCompleted", alice.email),
        ("SnapshotSoftDeleted", bob.email),
    ]


def test_details_carry_the_event_payload(runtime: Runtime, alice: Actor, bob: Actor) -> None:
    dataset_id = busy_dataset(runtime, alice, bob)

    rows, _ = history(runtime, dataset_id, event_type="Shared")

    [shared] = rows
    details = json.loads(shared["details"])
    assert (details["user_id"], details["email"], details["role"]) == (
        bob.user_id,
        bob.email,
        "editor",
    )
    assert "originator_id" not in details


def test_filters_by_actor_event_type_and_time(runtime: Runtime, alice: Actor, bob: Actor) -> None:
    dataset_id = busy_dataset(runtime, alice, bob)
    everything, _ = history(runtime, dataset_id)
    middle = everything[6]["at"]

    by_bob, bob_total = history(runtime, dataset_id, actor=bob.email)
    snapshots, _ = history(runtime, dataset_id, event_type="SnapshotCreated")
    since, _ = history(runtime, dataset_id, since=middle)
    until, _ = history(runtime, dataset_id, until=middle)
    both, _ = history(runtime, dataset_id, actor=alice.email, event_type="SnapshotCreated")

    assert [r["event_type"] for r in by_bob] == [
        "SnapshotCreated",
        "ContentEdited",
        "SnapshotSoftDeleted",
    ]
    assert bob_total == 3
    assert [r["actor"] for r in snapshots] == [bob.email, alice.email]
    assert since == [r for r in everything if r["at"] >= middle]
    assert until == [r for r in everything if r["at"] <= middle]
    assert len(since) + len(until) == len(everything) + 1
    assert [r["actor"] for r in both] == [alice.email]
    assert history(runtime, dataset_id, actor="nobody@example.com") == ([], 0)


def test_pages_partition_the_history(runtime: Runtime, alice: Actor, bob: Actor) -> None:
    dataset_id = busy_dataset(runtime, alice, bob)
    everything, total = history(runtime, dataset_id)

    pages = [history(runtime, dataset_id, page=n, page_size=5) for n in (1, 2, 3, 4)]

    assert total == 13
    assert [t for _, t in pages] == [13] * 4
    assert [len(rows) for rows, _ in pages] == [5, 5, 3, 0]
    assert [r for rows, _ in pages for r in rows] == everything
