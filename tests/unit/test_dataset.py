"""The Dataset aggregate's rules, exercised directly (no application, no storage)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import project_aggregate

from application.datasets import Datasets
from domain.access import Role
from domain.checkpoints import default_name as default_checkpoint_name
from domain.content_tree import EMPTY_ROOT
from domain.dataset import Dataset
from domain.dataset_events import (
    ContentEdited,
    OperationCompleted,
    StatusChanged,
    VersionPublished,
)
from domain.errors import (
    BadRequest,
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    SnapshotNotFound,
    SnapshotsDisabled,
    StatusConflict,
    TaskNotFound,
)
from domain.ids import checkpoint_id_for_task
from domain.status import Status
from domain.tasks import CLONE, CREATION, MEDIA_ADDITION, RESTORE
from domain.version import version_of
from tests.unit.fakes import POPO, DictNodeStore

T0 = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
OWNER = "user-owner"
OWNER_EMAIL = "owner@example.com"
ROOT_A = "a" * 64
ROOT_B = "b" * 64
ROOT_C = "c" * 64
CREATION_TASK = "task-creation"


def later(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def new_dataset(*, snapshots: bool = True, name: str = "cats") -> Dataset:
    return Dataset(
        id=uuid4(),
        name=name,
        description="",
        owner_id=OWNER,
        owner_email=OWNER_EMAIL,
        source_type="path",
        snapshot_support=snapshots,
        source_dataset_id=None,
        at=T0,
    )


def finish_task(
    dataset: Dataset,
    task_id: str,
    *,
    root: str = ROOT_A,
    n_images: int = 3,
    n_videos: int = 1,
    status: str = Status.READY.value,
    worker: str = "w1",
) -> None:
    dataset.claim_task(task_id, worker, later(60), T0)
    result = version_of(root, n_images, n_videos, status, {})
    dataset.complete_operation(task_id, worker, result, OWNER_EMAIL, later(1))


def ready_dataset(*, snapshots: bool = True, name: str = "cats") -> Dataset:
    """A dataset whose creation task published ROOT_A (3 images, 1 video)."""
    dataset = new_dataset(snapshots=snapshots, name=name)
    dataset.start_operation(CREATION_TASK, CREATION, OWNER_EMAIL, {"source": "path"}, T0)
    finish_task(dataset, CREATION_TASK)
    return dataset


def restore(dataset: Dataset, task_id: str, checkpoint_id: str, worker: str = "w1") -> None:
    assert dataset.start_restore(task_id, checkpoint_id, OWNER_EMAIL, later(2))
    dataset.claim_task(task_id, worker, later(60), later(2))
    dataset.complete_restore(task_id, worker)


def start_media_addition(dataset: Dataset, task_id: str = "task-add") -> None:
    assert dataset.start_operation(task_id, MEDIA_ADDITION, OWNER_EMAIL, {}, later(3))


def event_names(dataset: Dataset) -> list[str]:
    return [type(e).__name__ for e in dataset.pending_events]


def live_ids(dataset: Dataset) -> list[str]:
    return [cid for cid, record in dataset.checkpoints.items() if not record["deleted"]]


# Checkpoint creation, names, the current checkpoint.


def test_a_checkpoint_without_a_name_gets_the_default_name() -> None:
    dataset = ready_dataset(name="cats")
    checkpoint_id = "0123abcd-ef01-4234-8567-89abcdef0123"
    assert dataset.create_checkpoint(checkpoint_id, "   ", "", "a@example.com", later(5))
    assert dataset.checkpoints[checkpoint_id]["name"] == "cats_snapshot_0123abcd"
    assert (
        default_checkpoint_name("dogs", "9f8e7d6c-0000-4000-8000-000000000000")
        == "dogs_snapshot_9f8e7d6c"
    )


def test_a_manual_checkpoint_records_the_content_and_who_took_it() -> None:
    dataset = ready_dataset()
    assert dataset.create_checkpoint("cp1", "  First  ", " notes ", "a@example.com", later(5))
    assert dataset.checkpoints["cp1"] == {
        "name": "First",
        "description": "notes",
        "reason": "manual",
        "created_by": "a@example.com",
        "created_at": later(5),
        "version": {
            "root": ROOT_A,
            "n_images": 3,
            "n_videos": 1,
            "status": "READY",
            "facets": {"clustered": False, "models": {}, "schema": {}},
        },
        "deleted": False,
    }
    assert dataset.current_checkpoint == "cp1"


def test_a_checkpoint_name_longer_than_200_characters_is_invalid() -> None:
    dataset = ready_dataset()
    with pytest.raises(Invalid):
        dataset.create_checkpoint("cp1", "x" * 201, "", OWNER_EMAIL, later(5))
    assert "cp1" not in dataset.checkpoints


def test_the_creation_task_takes_the_first_checkpoint_with_reason_creation() -> None:
    dataset = ready_dataset(name="cats")
    checkpoint_id = str(checkpoint_id_for_task(CREATION_TASK, "creation"))
    assert list(dataset.checkpoints) == [checkpoint_id]
    record = dataset.checkpoints[checkpoint_id]
    assert record["reason"] == "creation"
    assert record["name"] == f"cats_snapshot_{checkpoint_id.replace('-', '')[:8]}"
    version = record["version"]
    assert (version["root"], version["n_images"], version["n_videos"]) == (ROOT_A, 3, 1)
    assert dataset.current_checkpoint == checkpoint_id
    assert dataset.status == Status.READY


def test_the_current_checkpoint_is_the_newest_created_or_the_last_restored() -> None:
    dataset = ready_dataset()
    creation = dataset.current_checkpoint
    assert creation is not None
    dataset.create_checkpoint("cp1", "one", "", OWNER_EMAIL, later(5))
    dataset.create_checkpoint("cp2", "two", "", OWNER_EMAIL, later(6))
    assert dataset.current_checkpoint == "cp2"
    restore(dataset, "task-r1", "cp1")
    assert dataset.current_checkpoint == "cp1"
    restore(dataset, "task-r2", creation)
    assert dataset.current_checkpoint == creation
    dataset.create_checkpoint("cp3", "three", "", OWNER_EMAIL, later(7))
    assert dataset.current_checkpoint == "cp3"


def test_creating_a_checkpoint_twice_with_one_id_takes_one_checkpoint() -> None:
    dataset = ready_dataset()
    dataset.collect_events()
    assert dataset.create_checkpoint("cp1", "one", "", OWNER_EMAIL, later(5)) is True
    start_media_addition(dataset)  # now busy: a retry must still answer, not conflict
    dataset.collect_events()
    assert dataset.create_checkpoint("cp1", "one", "", OWNER_EMAIL, later(5)) is False
    assert event_names(dataset) == []


def _draft(dataset: Dataset) -> None:
    pass


def _indexing(dataset: Dataset) -> None:
    dataset.start_operation("t", CREATION, OWNER_EMAIL, {}, T0)


def _error(dataset: Dataset) -> None:
    _indexing(dataset)
    dataset.claim_task("t", "w1", later(60), T0)
    dataset.fail_task("t", "w1", "broken")


def _partial(dataset: Dataset) -> None:
    _indexing(dataset)
    finish_task(dataset, "t", status=Status.PARTIAL_INDEX.value)


def _ready_but_busy(dataset: Dataset) -> None:
    _indexing(dataset)
    finish_task(dataset, "t")
    start_media_addition(dataset)


@pytest.mark.parametrize(
    "setup",
    [_draft, _indexing, _error, _partial, _ready_but_busy],
    ids=["draft", "indexing", "error", "partial-index", "busy"],
)
def test_creating_a_checkpoint_needs_ready_and_no_running_task(
    setup: Callable[[Dataset], None],
) -> None:
    dataset = new_dataset()
    setup(dataset)
    before = dict(dataset.checkpoints)
    with pytest.raises(StatusConflict):
        dataset.create_checkpoint("cp1", "", "", OWNER_EMAIL, later(5))
    assert dataset.checkpoints == before


# Snapshots disabled.


CHECKPOINT_COMMANDS: dict[str, Callable[[Dataset], Any]] = {
    "create": lambda d: d.create_checkpoint("cp1", "", "", OWNER_EMAIL, later(5)),
    "update": lambda d: d.update_checkpoint("cp1", "new", None, OWNER_EMAIL),
    "delete": lambda d: d.delete_checkpoint("cp1", OWNER_EMAIL),
    "restore": lambda d: d.start_restore("task-r", "cp1", OWNER_EMAIL, later(5)),
    "restore-current": lambda d: d.start_restore("task-r", "current", OWNER_EMAIL, later(5)),
    "clone": lambda d: d.request_clone("task-c", "cp1", uuid4(), OWNER_EMAIL),
}


@pytest.mark.parametrize("command", CHECKPOINT_COMMANDS.values(), ids=CHECKPOINT_COMMANDS.keys())
def test_every_checkpoint_command_is_refused_when_snapshots_are_disabled(
    command: Callable[[Dataset], Any],
) -> None:
    dataset = ready_dataset(snapshots=False)
    dataset.collect_events()
    with pytest.raises(SnapshotsDisabled):
        command(dataset)
    assert event_names(dataset) == []


def test_a_dataset_without_snapshots_takes_no_creation_or_automatic_checkpoint() -> None:
    dataset = ready_dataset(snapshots=False)
    dataset.edit_content(ROOT_B, 1, 0, "edit", OWNER_EMAIL)
    start_media_addition(dataset)
    assert dataset.checkpoints == {}
    assert dataset.current_checkpoint is None


# Editing and deleting checkpoints.


def test_updating_a_checkpoint_changes_only_the_given_fields() -> None:
    dataset = ready_dataset()
    dataset.create_checkpoint("cp1", "one", "first", OWNER_EMAIL, later(5))
    dataset.update_checkpoint("cp1", None, "changed", OWNER_EMAIL)
    assert (dataset.checkpoints["cp1"]["name"], dataset.checkpoints["cp1"]["description"]) == (
        "one",
        "changed",
    )
    dataset.update_checkpoint("cp1", "renamed", None, OWNER_EMAIL)
    assert dataset.checkpoints["cp1"]["name"] == "renamed"
    with pytest.raises(Invalid):
        dataset.update_checkpoint("cp1", None, None, OWNER_EMAIL)
    with pytest.raises(Invalid):
        dataset.update_checkpoint("cp1", "  ", None, OWNER_EMAIL)


def test_deleting_the_current_checkpoint_is_a_conflict() -> None:
    dataset = ready_dataset()
    current = dataset.current_checkpoint
    assert current is not None
    with pytest.raises(Conflict):
        dataset.delete_checkpoint(current, OWNER_EMAIL)
    assert dataset.checkpoints[current]["deleted"] is False


def test_deleting_the_checkpoint_being_restored_is_a_conflict() -> None:
    dataset = ready_dataset()
    creation = dataset.current_checkpoint
    assert creation is not None
    dataset.create_checkpoint("cp1", "", "", OWNER_EMAIL, later(5))
    assert dataset.start_restore("task-r", creation, OWNER_EMAIL, later(6))
    assert dataset.restoring == creation
    with pytest.raises(Conflict, match="being restored"):
        dataset.delete_checkpoint(creation, OWNER_EMAIL)
    assert dataset.checkpoints[creation]["deleted"] is False


def test_deleting_an_older_checkpoint_soft_deletes_it_and_keeps_the_content() -> None:
    dataset = ready_dataset()
    creation = dataset.current_checkpoint
    assert creation is not None
    dataset.create_checkpoint("cp1", "", "", OWNER_EMAIL, later(5))
    dataset.delete_checkpoint(creation, OWNER_EMAIL)
    assert dataset.checkpoints[creation]["deleted"] is True
    assert live_ids(dataset) == ["cp1"]
    assert (dataset.current["root"], dataset.current["n_images"], dataset.current_checkpoint) == (
        ROOT_A,
        3,
        "cp1",
    )


def test_deleting_an_unknown_or_deleted_checkpoint_is_not_found() -> None:
    dataset = ready_dataset()
    creation = dataset.current_checkpoint
    assert creation is not None
    dataset.create_checkpoint("cp1", "", "", OWNER_EMAIL, later(5))
    with pytest.raises(SnapshotNotFound):
        dataset.delete_checkpoint("no-such-checkpoint", OWNER_EMAIL)
    dataset.delete_checkpoint(creation, OWNER_EMAIL)
    with pytest.raises(SnapshotNotFound):
        dataset.delete_checkpoint(creation, OWNER_EMAIL)
    with pytest.raises(SnapshotNotFound):
        dataset.update_checkpoint(creation, "x", None, OWNER_EMAIL)
    with pytest.raises(SnapshotNotFound):
        dataset.start_restore("task-r", creation, OWNER_EMAIL, later(6))
    with pytest.raises(SnapshotNotFound):
        dataset.request_clone("task-c", creation, uuid4(), OWNER_EMAIL)


# Restore.


def test_restoring_puts_the_dataset_in_read_only_and_marks_the_checkpoint_restoring() -> None:
    dataset = ready_dataset()
    creation = dataset.current_checkpoint
    dataset.edit_content(ROOT_B, 9, 9, "edit", OWNER_EMAIL)
    assert dataset.start_restore("task-r", str(creation), OWNER_EMAIL, later(5))
    assert dataset.status == Status.READ_ONLY
    assert dataset.restoring == creation
    task = dataset.task("task-r")
    assert (task["task_type"], task["status"], task["params"]) == (
        RESTORE,
        "INITIALIZING",
        {"snapshot_id": creation},
    )
    assert (dataset.current["root"], dataset.current["n_images"]) == (
        ROOT_B,
        9,
    )  # reads show the old data


def test_a_completed_restore_brings_back_root_counts_and_status_and_makes_it_current() -> None:
    dataset = ready_dataset()
    creation = dataset.current_checkpoint
    assert creation is not None
    start_media_addition(dataset, "task-add")
    finish_task(
        dataset, "task-add", root=ROOT_B, n_images=8, n_videos=5, status=Status.PARTIAL_INDEX.value
    )
    assert dataset.status == Status.PARTIAL_INDEX

    restore(dataset, "task-r", creation)

    assert (dataset.current["root"], dataset.current["n_images"], dataset.current["n_videos"]) == (
        ROOT_A,
        3,
        1,
    )
    assert dataset.status == Status.READY
    assert dataset.current["status"] == Status.READY
    assert dataset.current_checkpoint == creation
    assert dataset.active_task is None
    assert dataset.restoring is None
    assert dataset.finished_tasks["task-r"] == "COMPLETED"


def test_later_checkpoints_survive_a_restore() -> None:
    dataset = ready_dataset()
    creation = dataset.current_checkpoint
    assert creation is not None
    dataset.edit_content(ROOT_B, 4, 1, "edit", OWNER_EMAIL)
    dataset.create_checkpoint("later", "", "", OWNER_EMAIL, later(5))
    restore(dataset, "task-r", creation)
    assert live_ids(dataset) == [creation, "later"]
    assert dataset.checkpoints["later"]["version"]["root"] == ROOT_B
    restore(dataset, "task-r2", "later")
    assert dataset.current["root"] == ROOT_B


def test_restoring_current_restores_the_current_checkpoint() -> None:
    dataset = ready_dataset()
    dataset.create_checkpoint("cp1", "", "", OWNER_EMAIL, later(5))
    dataset.edit_content(ROOT_B, 7, 0, "edit", OWNER_EMAIL)
    assert dataset.start_restore("task-r", "current", OWNER_EMAIL, later(6))
    assert dataset.restoring == "cp1"
    dataset.claim_task("task-r", "w1", later(60), later(6))
    dataset.complete_restore("task-r", "w1")
    assert dataset.current["root"] == ROOT_A
    assert dataset.current_checkpoint == "cp1"


def test_restoring_current_without_any_checkpoint_is_not_found() -> None:
    dataset = new_dataset()
    with pytest.raises(SnapshotNotFound):
        dataset.start_restore("task-r", "current", OWNER_EMAIL, later(5))


def test_a_restore_is_refused_while_a_task_runs() -> None:
    dataset = ready_dataset()
    creation = str(dataset.current_checkpoint)
    start_media_addition(dataset)
    with pytest.raises(StatusConflict):
        dataset.start_restore("task-r", creation, OWNER_EMAIL, later(5))
    finish_task(dataset, "task-add", root=ROOT_B)
    assert dataset.start_restore("task-r", creation, OWNER_EMAIL, later(5))
    with pytest.raises(StatusConflict):
        dataset.start_restore("task-r2", creation, OWNER_EMAIL, later(5))


def test_a_restore_is_refused_while_a_clone_from_the_dataset_is_pending() -> None:
    dataset = ready_dataset()
    creation = str(dataset.current_checkpoint)
    dataset.request_clone("task-c", creation, uuid4(), OWNER_EMAIL)
    with pytest.raises(StatusConflict, match="clone"):
        dataset.start_restore("task-r", creation, OWNER_EMAIL, later(5))
    dataset.finish_clone("task-c", "system")
    assert dataset.start_restore("task-r", creation, OWNER_EMAIL, later(5))


def test_a_restore_is_allowed_from_error_and_partial_index() -> None:
    for status in (Status.ERROR, Status.PARTIAL_INDEX):
        dataset = ready_dataset()
        creation = str(dataset.current_checkpoint)
        start_media_addition(dataset)
        if status == Status.ERROR:
            dataset.claim_task("task-add", "w1", later(60), T0)
            dataset.fail_task("task-add", "w1", "broken")
        else:
            finish_task(dataset, "task-add", root=ROOT_B, status=status.value)
        assert dataset.status == status
        restore(dataset, "task-r", creation)
        assert (dataset.status, dataset.current["root"]) == (Status.READY, ROOT_A)


def test_starting_the_same_restore_task_twice_starts_one_task() -> None:
    dataset = ready_dataset()
    creation = str(dataset.current_checkpoint)
    dataset.collect_events()
    assert dataset.start_restore("task-r", creation, OWNER_EMAIL, later(5)) is True
    assert dataset.start_restore("task-r", creation, OWNER_EMAIL, later(5)) is False
    dataset.claim_task("task-r", "w1", later(60), later(5))
    dataset.complete_restore("task-r", "w1")
    assert dataset.start_restore("task-r", creation, OWNER_EMAIL, later(5)) is False
    assert event_names(dataset).count("RestoreStarted") == 1


# Automatic checkpoints.


def test_a_restore_first_takes_an_automatic_checkpoint_of_changed_content() -> None:
    dataset = ready_dataset(name="cats")
    creation = str(dataset.current_checkpoint)
    dataset.edit_content(ROOT_B, 5, 2, "edit", OWNER_EMAIL)
    restore(dataset, "task-r", creation)
    auto = str(checkpoint_id_for_task("task-r", "auto"))
    record = dataset.checkpoints[auto]
    version = record["version"]
    assert (record["reason"], version["root"], version["n_images"], version["n_videos"]) == (
        "auto",
        ROOT_B,
        5,
        2,
    )
    assert record["name"] == default_checkpoint_name("cats", auto)
    assert dataset.current_checkpoint == creation
    assert live_ids(dataset) == [creation, auto]


def test_a_restore_of_unchanged_content_takes_no_automatic_checkpoint() -> None:
    dataset = ready_dataset()
    creation = str(dataset.current_checkpoint)
    restore(dataset, "task-r", creation)
    assert live_ids(dataset) == [creation]


def test_an_operation_first_takes_an_automatic_checkpoint_only_when_content_changed() -> None:
    dataset = ready_dataset()
    creation = str(dataset.current_checkpoint)
    start_media_addition(dataset, "task-1")
    assert live_ids(dataset) == [creation]
    finish_task(dataset, "task-1", root=ROOT_B, n_images=6)
    start_media_addition(dataset, "task-2")
    auto = str(checkpoint_id_for_task("task-2", "auto"))
    assert live_ids(dataset) == [creation, auto]
    assert (dataset.checkpoints[auto]["reason"], dataset.checkpoints[auto]["version"]["root"]) == (
        "auto",
        ROOT_B,
    )
    assert dataset.current_checkpoint == auto


# Clones.


def test_requesting_a_clone_twice_with_one_task_id_records_it_once() -> None:
    dataset = ready_dataset()
    creation = str(dataset.current_checkpoint)
    dataset.collect_events()
    target = uuid4()
    first = dataset.request_clone("task-c", creation, target, OWNER_EMAIL)
    second = dataset.request_clone("task-c", creation, target, OWNER_EMAIL)
    assert first == second == dataset.checkpoints[creation]
    assert dataset.pending_clones == {"task-c": creation}
    dataset.finish_clone("task-c", "system")
    dataset.finish_clone("task-c", "system")
    assert dataset.request_clone("task-c", creation, target, OWNER_EMAIL) == first
    assert dataset.pending_clones == {}
    assert event_names(dataset) == ["CloneRequested", "CloneFinished"]


def test_a_clone_does_not_block_the_source() -> None:
    dataset = ready_dataset()
    creation = str(dataset.current_checkpoint)
    dataset.request_clone("task-c", creation, uuid4(), OWNER_EMAIL)
    assert dataset.status == Status.READY
    assert not dataset.busy
    assert dataset.create_checkpoint("cp1", "", "", OWNER_EMAIL, later(5))


def test_a_completed_clone_holds_the_source_content_and_a_first_checkpoint_of_reason_clone() -> (
    None
):
    source = ready_dataset(name="cats")
    source.create_checkpoint("cp1", "chosen", "the one to clone", OWNER_EMAIL, later(5))
    record = source.request_clone("task-c", "cp1", uuid4(), OWNER_EMAIL)
    clone = Dataset(
        id=uuid4(),
        name="cats (cloned)",
        description="",
        owner_id="user-bob",
        owner_email="bob@example.com",
        source_type="clone",
        snapshot_support=True,
        source_dataset_id=source.id,
        at=later(6),
    )
    clone.start_clone("task-c", record, "bob@example.com", later(6))
    assert (clone.status, clone.task("task-c")["task_type"]) == (Status.INDEXING, CLONE)
    assert clone.current["root"] == EMPTY_ROOT
    clone.claim_task("task-c", "w1", later(60), later(6))
    clone.complete_clone("task-c", "w1", "bob@example.com", later(7))

    checkpoint_id = str(checkpoint_id_for_task("task-c", "clone"))
    assert list(clone.checkpoints) == [checkpoint_id]
    first = clone.checkpoints[checkpoint_id]
    assert first["reason"] == "clone"
    assert first["name"] == default_checkpoint_name("cats (cloned)", checkpoint_id)
    assert first["description"] == "the one to clone"
    version = first["version"]
    assert (version["root"], version["n_images"], version["n_videos"]) == (ROOT_A, 3, 1)
    assert (clone.current["root"], clone.current["n_images"], clone.current["n_videos"]) == (
        ROOT_A,
        3,
        1,
    )
    assert clone.status == Status.READY
    assert clone.current_checkpoint == checkpoint_id
    assert clone.roles == {"user-bob": "owner"}


# Claims, leases and finishing exactly once.


def test_a_second_worker_cannot_claim_a_task_before_the_lease_expires_but_can_after() -> None:
    dataset = new_dataset()
    dataset.start_operation("t", CREATION, OWNER_EMAIL, {}, T0)
    dataset.claim_task("t", "w1", later(30), T0)
    with pytest.raises(Conflict):
        dataset.claim_task("t", "w2", later(60), later(29))
    dataset.claim_task("t", "w1", later(90), later(29))  # the holder renews
    with pytest.raises(Conflict):
        dataset.claim_task("t", "w2", later(120), later(60))
    dataset.claim_task("t", "w2", later(150), later(90))
    task = dataset.task("t")
    assert (task["claimed_by"], task["lease_until"], task["status"]) == (
        "w2",
        later(150),
        "RUNNING",
    )


def test_a_worker_that_lost_its_task_cannot_finish_it_and_the_task_completes_once() -> None:
    dataset = new_dataset()
    dataset.start_operation("t", CREATION, OWNER_EMAIL, {}, T0)
    dataset.claim_task("t", "w1", later(30), T0)
    dataset.claim_task("t", "w2", later(90), later(31))
    dataset.collect_events()

    with pytest.raises(Conflict):
        dataset.complete_operation(
            "t", "w1", version_of(ROOT_B, 1, 0, "READY", {}), OWNER_EMAIL, later(40)
        )
    with pytest.raises(Conflict):
        dataset.report_progress("t", "w1", 50, "half", later(100))
    with pytest.raises(Conflict):
        dataset.fail_task("t", "w1", "I give up")
    dataset.complete_operation(
        "t", "w2", version_of(ROOT_A, 3, 1, "READY", {}), OWNER_EMAIL, later(41)
    )
    with pytest.raises(TaskNotFound):
        dataset.complete_operation(
            "t", "w2", version_of(ROOT_A, 3, 1, "READY", {}), OWNER_EMAIL, later(42)
        )

    assert event_names(dataset) == ["OperationCompleted"]
    assert dataset.current["root"] == ROOT_A
    assert dataset.finished_tasks == {"t": "COMPLETED"}


def test_an_unclaimed_task_cannot_be_completed() -> None:
    dataset = new_dataset()
    dataset.start_operation("t", CREATION, OWNER_EMAIL, {}, T0)
    with pytest.raises(Conflict):
        dataset.complete_operation(
            "t", "w1", version_of(ROOT_A, 1, 0, "READY", {}), OWNER_EMAIL, later(1)
        )


def test_progress_is_clamped_to_0_100_and_renews_the_lease() -> None:
    dataset = new_dataset()
    dataset.start_operation("t", CREATION, OWNER_EMAIL, {}, T0)
    dataset.claim_task("t", "w1", later(30), T0)
    dataset.report_progress("t", "w1", 140, "over", later(70))
    assert (dataset.task("t")["progress"], dataset.task("t")["lease_until"]) == (100, later(70))
    dataset.report_progress("t", "w1", -5, "under", later(80))
    assert dataset.task("t")["progress"] == 0


def test_each_task_kind_completes_only_through_its_own_command() -> None:
    dataset = ready_dataset()
    assert dataset.start_restore("task-r", "current", OWNER_EMAIL, later(5))
    dataset.claim_task("task-r", "w1", later(60), later(5))
    with pytest.raises(BadRequest):
        dataset.complete_operation(
            "task-r", "w1", version_of(ROOT_B, 0, 0, "READY", {}), OWNER_EMAIL, later(6)
        )
    with pytest.raises(BadRequest):
        dataset.complete_clone("task-r", "w1", OWNER_EMAIL, later(6))
    dataset.complete_restore("task-r", "w1")
    start_media_addition(dataset)
    dataset.claim_task("task-add", "w1", later(60), later(6))
    with pytest.raises(BadRequest):
        dataset.complete_restore("task-add", "w1")


# Failing, aborting, retrying.


def test_a_failed_task_leaves_the_dataset_in_error_with_the_message() -> None:
    dataset = ready_dataset()
    start_media_addition(dataset)
    dataset.claim_task("task-add", "w1", later(60), T0)
    dataset.fail_task("task-add", "w1", "  The zip is corrupt.  ")
    assert dataset.status == Status.ERROR
    assert dataset.fatal_error_msg == "The zip is corrupt."
    assert dataset.finished_tasks["task-add"] == "FAILED"
    assert dataset.active_task is None
    assert dataset.current["root"] == ROOT_A


def test_a_failure_without_a_message_gets_a_generic_one_and_a_later_operation_clears_it() -> None:
    dataset = ready_dataset()
    start_media_addition(dataset, "task-1")
    dataset.claim_task("task-1", "w1", later(60), T0)
    dataset.fail_task("task-1", "w1", "   ")
    assert dataset.fatal_error_msg == "The task failed."
    start_media_addition(dataset, "task-2")
    assert dataset.fatal_error_msg is None
    assert dataset.status == Status.READ_ONLY


def test_aborting_a_final_task_is_a_conflict() -> None:
    dataset = ready_dataset()
    with pytest.raises(Conflict):
        dataset.abort_task(CREATION_TASK, OWNER_EMAIL)
    start_media_addition(dataset)
    dataset.claim_task("task-add", "w1", later(60), T0)
    dataset.fail_task("task-add", "w1", "broken")
    with pytest.raises(Conflict):
        dataset.abort_task("task-add", OWNER_EMAIL)
    with pytest.raises(TaskNotFound):
        dataset.abort_task("no-such-task", OWNER_EMAIL)


def test_aborting_an_operation_returns_to_the_status_before_it() -> None:
    dataset = ready_dataset()
    start_media_addition(dataset)
    dataset.abort_task("task-add", OWNER_EMAIL)
    assert dataset.status == Status.READY
    assert dataset.finished_tasks["task-add"] == "ABORTED"
    assert dataset.fatal_error_msg is None
    assert not dataset.busy


def test_aborting_a_creation_task_leaves_the_dataset_in_error() -> None:
    dataset = new_dataset()
    dataset.start_operation("t", CREATION, OWNER_EMAIL, {}, T0)
    dataset.abort_task("t", OWNER_EMAIL)
    assert dataset.status == Status.ERROR
    assert dataset.fatal_error_msg == "The task was aborted."
    assert dataset.finished_tasks["t"] == "ABORTED"


@pytest.mark.parametrize("how", ["failed", "aborted"])
def test_a_failed_or_aborted_creation_task_can_be_retried(how: str) -> None:
    dataset = new_dataset()
    dataset.start_operation("t", CREATION, OWNER_EMAIL, {"source": "path"}, T0)
    dataset.claim_task("t", "w1", later(60), T0)
    if how == "failed":
        dataset.fail_task("t", "w1", "broken")
    else:
        dataset.abort_task("t", OWNER_EMAIL)
    dataset.retry_task("t", later(100), OWNER_EMAIL)
    task = dataset.task("t")
    assert (task["status"], task["claimed_by"], task["start_time"], task["params"]) == (
        "INITIALIZING",
        None,
        later(100),
        {"source": "path"},
    )
    assert dataset.status == Status.INDEXING
    assert dataset.fatal_error_msg is None
    assert "t" not in dataset.finished_tasks
    with pytest.raises(BadRequest):
        dataset.retry_task("t", later(101), OWNER_EMAIL)
    finish_task(dataset, "t")
    assert dataset.status == Status.READY


def test_only_failed_or_aborted_creation_tasks_can_be_retried() -> None:
    dataset = ready_dataset()
    with pytest.raises(BadRequest):
        dataset.retry_task(CREATION_TASK, later(5), OWNER_EMAIL)  # completed
    start_media_addition(dataset)
    with pytest.raises(BadRequest):
        dataset.retry_task("task-add", later(5), OWNER_EMAIL)  # running
    dataset.claim_task("task-add", "w1", later(60), T0)
    dataset.fail_task("task-add", "w1", "broken")
    with pytest.raises(BadRequest):
        dataset.retry_task("task-add", later(5), OWNER_EMAIL)  # failed, but not a creation
    restore(dataset, "task-r", "current")
    assert dataset.start_restore("task-r2", "current", OWNER_EMAIL, later(6))
    dataset.abort_task("task-r2", OWNER_EMAIL)
    with pytest.raises(BadRequest):
        dataset.retry_task("task-r2", later(7), OWNER_EMAIL)  # aborted restore
    with pytest.raises(TaskNotFound):
        dataset.retry_task("no-such-task", later(7), OWNER_EMAIL)


def test_a_failed_creation_task_is_not_retried_while_another_task_runs() -> None:
    dataset = new_dataset()
    dataset.start_operation("t", CREATION, OWNER_EMAIL, {"source": "path"}, T0)
    dataset.abort_task("t", OWNER_EMAIL)
    start_media_addition(dataset)  # ERROR allows a media addition
    with pytest.raises(StatusConflict):
        dataset.retry_task("t", later(5), OWNER_EMAIL)
    assert dataset.task("task-add")["status"] == "INITIALIZING"
    assert dataset.status == Status.READ_ONLY
    finish_task(dataset, "task-add")
    dataset.retry_task("t", later(6), OWNER_EMAIL)  # idle again: the retry may start
    assert dataset.status == Status.INDEXING


# Roles.


def test_roles_rank_viewer_below_editor_below_owner() -> None:
    dataset = new_dataset()
    dataset.share("u-viewer", "v@example.com", "viewer", OWNER_EMAIL)
    dataset.share("u-editor", "e@example.com", "editor", OWNER_EMAIL)
    dataset.share("u-owner2", "o@example.com", "owner", OWNER_EMAIL)
    table = {
        user: tuple(dataset.has_role(user, need) for need in ("viewer", "editor", "owner"))
        for user in ("u-viewer", "u-editor", "u-owner2", OWNER, "u-stranger")
    }
    assert table == {
        "u-viewer": (True, False, False),
        "u-editor": (True, True, False),
        "u-owner2": (True, True, True),
        OWNER: (True, True, True),
        "u-stranger": (False, False, False),
    }
    assert dataset.has_role("u-stranger", "owner", is_admin=True)


def test_sharing_again_changes_the_role_and_the_creator_always_keeps_owner() -> None:
    dataset = new_dataset()
    dataset.share("u-bob", "bob@example.com", "viewer", OWNER_EMAIL)
    dataset.share("u-bob", "bob@example.com", "editor", OWNER_EMAIL)
    assert dataset.role_of("u-bob") == "editor"
    for role in ("editor", "viewer"):
        with pytest.raises(Conflict):
            dataset.share(OWNER, OWNER_EMAIL, role, OWNER_EMAIL)
    dataset.share(OWNER, OWNER_EMAIL, "owner", OWNER_EMAIL)
    assert dataset.role_of(OWNER) == "owner"
    with pytest.raises(Invalid):
        dataset.share("u-bob", "bob@example.com", "admin", OWNER_EMAIL)
    assert dataset.role_of("u-bob") == "editor"


def test_a_viewer_may_see_but_not_write_and_an_editor_may_not_share() -> None:
    dataset = new_dataset()
    dataset.share("u-viewer", "v@example.com", "viewer", OWNER_EMAIL)
    dataset.share("u-editor", "e@example.com", "editor", OWNER_EMAIL)
    assert dataset.has_role("u-viewer", "viewer", is_admin=False)
    assert not dataset.has_role("u-stranger", "viewer", is_admin=False)
    assert dataset.has_role("u-stranger", "viewer", is_admin=True)
    with pytest.raises(Forbidden):
        dataset.check_access("u-viewer", Role.EDITOR, is_admin=False)
    dataset.check_access("u-editor", Role.EDITOR, is_admin=False)
    with pytest.raises(Forbidden):
        dataset.check_access("u-editor", Role.OWNER, is_admin=False)
    dataset.check_access(OWNER, Role.OWNER, is_admin=False)


# Replaying events gives the same state.


def lifecycle(dataset: Dataset, after_each: Callable[[], None]) -> None:
    """Drive a dataset through most commands, calling ``after_each`` after every one."""
    steps: list[Callable[[], object]] = [
        lambda: dataset.share("u-bob", "bob@example.com", "editor", OWNER_EMAIL),
        lambda: dataset.start_operation("t1", CREATION, OWNER_EMAIL, {"source": "path"}, T0),
        lambda: dataset.claim_task("t1", "w1", later(30), T0),
        lambda: dataset.fail_task("t1", "w1", "disk full"),
        lambda: dataset.retry_task("t1", later(40), OWNER_EMAIL),
        lambda: dataset.claim_task("t1", "w2", later(90), later(41)),
        lambda: dataset.report_progress("t1", "w2", 40, "reading", later(95)),
        lambda: dataset.complete_operation(
            "t1", "w2", version_of(ROOT_A, 3, 1, "READY", {}), OWNER_EMAIL, later(50)
        ),
        lambda: dataset.create_checkpoint("cp1", "one", "first", OWNER_EMAIL, later(60)),
        lambda: dataset.update_checkpoint("cp1", "uno", None, OWNER_EMAIL),
        lambda: dataset.edit_content(ROOT_B, 5, 1, "tags", OWNER_EMAIL),
        lambda: dataset.start_operation("t2", MEDIA_ADDITION, OWNER_EMAIL, {"n": 1}, later(70)),
        lambda: dataset.claim_task("t2", "w1", later(130), later(70)),
        lambda: dataset.complete_operation(
            "t2",
            "w1",
            version_of(ROOT_C, 9, 2, "PARTIAL INDEX", {"clustered": True, "models": {"A": "a1"}}),
            OWNER_EMAIL,
            later(80),
        ),
        lambda: dataset.start_export("te", OWNER_EMAIL, {"root": ROOT_C}, later(81)),
        lambda: dataset.claim_task("te", "w1", later(140), later(81)),
        lambda: dataset.report_progress("te", "w1", 50, "zipping", later(141)),
        lambda: dataset.complete_export("te", "w1", {"download_uri": "/x"}, "Exported."),
        lambda: dataset.start_export("te2", OWNER_EMAIL, {"root": ROOT_C}, later(82)),
        lambda: dataset.abort_task("te2", OWNER_EMAIL),
        lambda: dataset.request_clone("tc", "cp1", UUID(int=7), OWNER_EMAIL),
        lambda: dataset.finish_clone("tc", "system"),
        lambda: dataset.start_restore("t3", "cp1", OWNER_EMAIL, later(90)),
        lambda: dataset.claim_task("t3", "w1", later(150), later(90)),
        lambda: dataset.complete_restore("t3", "w1"),
        lambda: dataset.delete_checkpoint(
            str(checkpoint_id_for_task("t1", "creation")), OWNER_EMAIL
        ),
        lambda: dataset.start_operation("t4", MEDIA_ADDITION, OWNER_EMAIL, {}, later(100)),
        lambda: dataset.abort_task("t4", OWNER_EMAIL),
    ]
    after_each()
    for step in steps:
        step()
        after_each()


def test_replaying_the_collected_events_rebuilds_an_equal_dataset() -> None:
    dataset = new_dataset()
    stored: list[Any] = []
    # Events are copied when collected, as saving them would: later in-place changes to the
    # aggregate's state must not leak into an earlier event's payload.
    lifecycle(dataset, lambda: stored.extend(copy.deepcopy(dataset.collect_events())))
    assert len(stored) > 20
    replayed = project_aggregate(None, stored)
    assert isinstance(replayed, Dataset)
    assert vars(replayed) == vars(dataset)
    assert (replayed.status, replayed.current_checkpoint, replayed.current["root"]) == (
        Status.READY,
        "cp1",
        ROOT_A,
    )


def test_each_event_says_what_it_does_to_the_status_and_the_version() -> None:
    """Readers (projections) learn the dataset's status and current version from the events
    alone: a StatusChanged event carries the status after it, a VersionPublished event the
    version after it, a ContentEdited event the content after it; and no other event
    changes either."""
    dataset = new_dataset()
    seen: list[str] = []
    before = (dataset.status, dict(dataset.current))

    def check() -> None:
        nonlocal before
        for event in dataset.collect_events():
            seen.append(type(event).__name__)
            status, version = before
            if isinstance(event, StatusChanged):
                status = event.status
            if isinstance(event, VersionPublished):
                version = dict(event.published())
            if isinstance(event, ContentEdited):
                version.update(root=event.root, n_images=event.n_images, n_videos=event.n_videos)
            before = (status, version)
        assert (dataset.status, dict(dataset.current)) == before, seen[-1:]

    lifecycle(dataset, check)
    assert {"OperationCompleted", "RestoreCompleted", "TaskAborted", "TaskRetried"} <= set(seen)


def test_the_creation_checkpoint_is_named_in_its_event_as_the_dataset_names_it() -> None:
    dataset = ready_dataset(name="birds")
    [completed] = [e for e in dataset.collect_events() if isinstance(e, OperationCompleted)]
    checkpoint_id = str(checkpoint_id_for_task(CREATION_TASK, "creation"))
    assert completed.checkpoint_id == checkpoint_id
    assert completed.checkpoint_name == default_checkpoint_name("birds", checkpoint_id)
    assert dataset.checkpoints[checkpoint_id]["name"] == completed.checkpoint_name


def test_saving_and_loading_through_the_library_gives_an_equal_dataset() -> None:
    app = Datasets(nodes=DictNodeStore(), env=POPO)
    dataset = new_dataset()
    lifecycle(dataset, lambda: app.save(dataset))
    for i in range(110):  # past the aggregate-snapshot interval of 100 events
        dataset.update_checkpoint("cp1", None, f"note {i}", OWNER_EMAIL)
    app.save(dataset)
    assert app.snapshots is not None
    assert list(app.snapshots.get(dataset.id))  # a library snapshot was taken
    loaded = app.repository.get(dataset.id)
    assert vars(loaded) == vars(dataset)


def test_every_domain_error_names_the_thing_in_its_detail() -> None:
    dataset = ready_dataset()
    with pytest.raises(DomainError) as caught:
        dataset.delete_checkpoint("cp-missing", OWNER_EMAIL)
    assert "cp-missing" in caught.value.detail


def test_a_copy_shares_no_mutable_state_with_its_original() -> None:
    original = Dataset(
        id=uuid4(),
        name="d",
        description="",
        owner_id="u",
        owner_email="e",
        source_type="empty",
        snapshot_support=True,
        source_dataset_id=None,
        at=datetime.now(UTC),
    )
    original.status = "READY"
    original.create_checkpoint("c1", "one", "", "e", datetime.now(UTC))
    original.collect_events()
    frozen_checkpoints = copy.deepcopy(original.checkpoints)

    copied = copy.deepcopy(original)
    copied.update_checkpoint("c1", "renamed", "changed", "e")
    copied.create_checkpoint("c2", "two", "", "e", datetime.now(UTC))
    copied.start_restore("t1", "c1", "e", datetime.now(UTC))
    copied.share("v", "v@e", "viewer", "e")

    assert original.checkpoints == frozen_checkpoints
    assert original.active_task is None
    assert original.roles == {"u": "owner"}
    assert original.version == 2
    assert original.current["root"] == EMPTY_ROOT
    assert copied.checkpoints["c1"]["name"] == "renamed"
