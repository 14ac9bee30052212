"""The worker on in-memory storage: leases, exactly-once publication, failures recorded."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from uuid import UUID

import pytest

from application.actor import Actor
from application.datasets import Datasets, creation_task_id
from application.operations.base import Operation, OperationFailed, Outcome, TaskContext
from application.worker import Worker
from domain.content_tree import ContentTree, Record
from domain.dataset import Dataset
from domain.errors import Conflict
from domain.status import Status
from domain.tasks import CREATION, MEDIA_ADDITION
from tests.unit.fakes import POPO, DictNodeStore, InMemoryTaskQueue, PublishRecords

RECORDS: dict[str, Record] = {
    "m1": {"kind": "image"},
    "m2": {"kind": "image"},
    "m3": {"kind": "video"},
}


@pytest.fixture
def nodes() -> DictNodeStore:
    return DictNodeStore()


@pytest.fixture
def app(nodes: DictNodeStore) -> Datasets:
    return Datasets(nodes=nodes, env=POPO)


@pytest.fixture
def alice(app: Datasets) -> Actor:
    api_key, _ = app.register_user("alice@example.com")
    user = app.get_user_by_api_key(api_key)
    assert user is not None
    return Actor(str(user.id), user.email)


@pytest.fixture
def queue(app: Datasets) -> InMemoryTaskQueue:
    return InMemoryTaskQueue(app)


class Scripted:
    """An Operation that runs a given function (to fail, raise, or interleave another worker)."""

    def __init__(self, task_type: str, body: Callable[[TaskContext], Outcome]) -> None:
        self.task_type = task_type
        self.body = body
        self.runs = 0

    def run(self, context: TaskContext) -> Outcome:
        self.runs += 1
        return self.body(context)


def worker(
    app: Datasets,
    queue: InMemoryTaskQueue,
    name: str,
    *,
    lease: float = 30.0,
    operations: Mapping[str, Operation] | None = None,
) -> Worker:
    ops = operations if operations is not None else {CREATION: PublishRecords()}
    return Worker(app, queue, ops, lease_seconds=lease, worker_id=name)


def topics(app: Datasets, dataset_id: UUID) -> list[str]:
    return [
        e.topic.removeprefix("snapset:Dataset.") for e in app.recorder.select_events(dataset_id)
    ]


def get(app: Datasets, dataset_id: UUID) -> Dataset:
    dataset = app.repository.get(dataset_id)
    assert isinstance(dataset, Dataset)
    return dataset


def created(app: Datasets, alice: Actor, records: dict[str, Record] = RECORDS) -> UUID:
    dataset_id, _ = app.create_dataset(alice, "cats", source={"source": "fake", "records": records})
    return dataset_id


def ready(app: Datasets, queue: InMemoryTaskQueue, alice: Actor) -> UUID:
    dataset_id = created(app, alice)
    assert worker(app, queue, "setup").run_once() == 1
    return dataset_id


# Running tasks.


def test_a_worker_runs_the_creation_task_and_publishes_its_content(
    app: Datasets, queue: InMemoryTaskQueue, alice: Actor
) -> None:
    dataset_id = created(app, alice)
    operation = PublishRecords()
    assert worker(app, queue, "A", operations={CREATION: operation}).run_once() == 1
    dataset = get(app, dataset_id)
    assert (dataset.status, dataset.current["n_images"], dataset.current["n_videos"]) == (
        Status.READY,
        2,
        1,
    )
    assert dict(app.tree.items(dataset.current["root"])) == RECORDS
    assert dataset.finished_tasks == {str(creation_task_id(dataset_id)): "COMPLETED"}
    assert [r["reason"] for r in dataset.checkpoints.values()] == ["creation"]
    assert operation.runs == 1
    assert queue.claimable(10) == []


def test_a_restore_task_completes_once_when_two_workers_both_try(
    app: Datasets, queue: InMemoryTaskQueue, alice: Actor
) -> None:
    dataset_id = ready(app, queue, alice)
    snapshot = str(get(app, dataset_id).current_checkpoint)
    app.edit_items(alice, dataset_id, lambda d: {"m9": {"kind": "video"}}, "edit")
    task_id, _ = app.restore_snapshot(alice, dataset_id, snapshot)
    seen_by_both = queue.claimable(10)
    assert seen_by_both == [(dataset_id, str(task_id))]
    a, b = worker(app, queue, "A"), worker(app, queue, "B")

    assert a.run_task(*seen_by_both[0]) is True
    assert b.run_task(*seen_by_both[0]) is False
    assert b.run_once() == 0

    assert topics(app, dataset_id).count("RestoreCompleted") == 1
    dataset = get(app, dataset_id)
    assert dataset.current_checkpoint == snapshot
    assert dict(app.tree.items(dataset.current["root"])) == RECORDS
    assert dataset.status == Status.READY


def test_a_worker_whose_lease_expired_cannot_publish_the_restore(
    app: Datasets, queue: InMemoryTaskQueue, alice: Actor
) -> None:
    dataset_id = ready(app, queue, alice)
    task_id, _ = app.restore_snapshot(alice, dataset_id, "current")
    task = str(task_id)
    app.claim_task(dataset_id, task, "A", lease=-1)  # A's lease has already run out
    assert queue.claimable(10) == [(dataset_id, task)]
    app.claim_task(dataset_id, task, "B", lease=30)
    assert queue.claimable(10) == []
    with pytest.raises(Conflict):
        app.claim_task(dataset_id, task, "A", lease=30)

    with pytest.raises(Conflict):
        app.complete_restore(dataset_id, task, "A")
    assert topics(app, dataset_id).count("RestoreCompleted") == 0

    assert worker(app, queue, "B").run_task(dataset_id, task) is True
    assert topics(app, dataset_id).count("RestoreCompleted") == 1
    assert get(app, dataset_id).finished_tasks[task] == "COMPLETED"


@pytest.mark.parametrize("noticed_at", ["progress", "publish"])
def test_a_worker_that_lost_its_lease_mid_run_publishes_nothing(
    app: Datasets, queue: InMemoryTaskQueue, alice: Actor, noticed_at: str
) -> None:
    dataset_id = created(app, alice)
    task = str(creation_task_id(dataset_id))

    def taken_over(context: TaskContext) -> Outcome:
        app.claim_task(dataset_id, task, "B", lease=30)  # A's lease (-1 s) ran out: B takes it
        if noticed_at == "progress":
            context.progress(50, "half way")
        root = context.tree.update(context.content_root, {"from-a": {"kind": "image"}})
        return Outcome(root=root, status=Status.READY.value)

    a = worker(app, queue, "A", lease=-1, operations={CREATION: Scripted(CREATION, taken_over)})
    assert a.run_once() == 0

    dataset = get(app, dataset_id)
    assert dataset.task(task)["claimed_by"] == "B"
    assert dataset.status == Status.INDEXING
    assert "OperationCompleted" not in topics(app, dataset_id)
    assert "OperationFailed" not in topics(app, dataset_id)

    assert worker(app, queue, "B").run_task(dataset_id, task) is True
    assert topics(app, dataset_id).count("OperationCompleted") == 1
    assert dict(app.tree.items(get(app, dataset_id).current["root"])) == RECORDS


def test_an_operation_that_fails_leaves_the_dataset_in_error_and_the_task_failed(
    app: Datasets, queue: InMemoryTaskQueue, alice: Actor
) -> None:
    dataset_id = created(app, alice)

    def fails(context: TaskContext) -> Outcome:
        raise OperationFailed("No supported images or videos were found.")

    operations = {CREATION: Scripted(CREATION, fails)}
    assert worker(app, queue, "A", operations=operations).run_once() == 1
    dataset = get(app, dataset_id)
    assert dataset.status == Status.ERROR
    assert dataset.fatal_error_msg == "No supported images or videos were found."
    assert dataset.finished_tasks == {str(creation_task_id(dataset_id)): "FAILED"}
    assert topics(app, dataset_id)[-1] == "OperationFailed"
    assert queue.claimable(10) == []


def test_an_unexpected_exception_is_recorded_as_an_internal_error(
    app: Datasets, queue: InMemoryTaskQueue, alice: Actor
) -> None:
    dataset_id = created(app, alice)

    def crashes(context: TaskContext) -> Outcome:
        return Outcome(root=str(1 / 0), status="READY")

    operations = {CREATION: Scripted(CREATION, crashes)}
    assert worker(app, queue, "A", operations=operations).run_once() == 1
    dataset = get(app, dataset_id)
    assert dataset.status == Status.ERROR
    assert dataset.fatal_error_msg == "Internal error (ZeroDivisionError)."
    assert dataset.finished_tasks == {str(creation_task_id(dataset_id)): "FAILED"}


def test_a_task_type_without_an_operation_fails_with_a_message(
    app: Datasets, queue: InMemoryTaskQueue, alice: Actor
) -> None:
    dataset_id = ready(app, queue, alice)
    task_id, _ = app.start_operation(alice, dataset_id, MEDIA_ADDITION, {})
    assert worker(app, queue, "A").run_once() == 1
    dataset = get(app, dataset_id)
    assert dataset.finished_tasks[str(task_id)] == "FAILED"
    assert dataset.fatal_error_msg == "No worker can run MEDIA_ADDITION tasks."


def test_a_failed_creation_task_can_be_retried_and_then_succeeds(
    app: Datasets, queue: InMemoryTaskQueue, alice: Actor
) -> None:
    dataset_id = created(app, alice)
    task = creation_task_id(dataset_id)
    outcomes = iter([OperationFailed("disk full"), None])

    def flaky(context: TaskContext) -> Outcome:
        error = next(outcomes)
        if error is not None:
            raise error
        root = context.tree.update(context.content_root, context.params["records"])
        return Outcome(root=root, status=Status.READY.value)

    a = worker(app, queue, "A", operations={CREATION: Scripted(CREATION, flaky)})
    assert a.run_once() == 1
    assert get(app, dataset_id).status == Status.ERROR
    app.retry_task(alice, dataset_id, task)
    assert a.run_once() == 1
    dataset = get(app, dataset_id)
    assert (dataset.status, dataset.fatal_error_msg, dataset.current["n_images"]) == (
        Status.READY,
        None,
        2,
    )


def test_a_clone_task_publishes_the_source_content_and_frees_the_source(
    app: Datasets, queue: InMemoryTaskQueue, alice: Actor
) -> None:
    source_id = ready(app, queue, alice)
    snapshot = UUID(str(get(app, source_id).current_checkpoint))
    _, clone_id, _ = app.clone_snapshot(alice, source_id, snapshot)
    assert get(app, source_id).pending_clones != {}

    assert worker(app, queue, "A").run_once() == 1

    clone, source = get(app, clone_id), get(app, source_id)
    assert (clone.status, clone.current["root"]) == (Status.READY, source.current["root"])
    assert [r["reason"] for r in clone.checkpoints.values()] == ["clone"]
    assert source.pending_clones == {}
    app.restore_snapshot(alice, source_id, "current")  # no longer refused


def test_a_restore_whose_content_is_missing_fails_with_a_message(
    app: Datasets, nodes: DictNodeStore, queue: InMemoryTaskQueue, alice: Actor
) -> None:
    dataset_id = ready(app, queue, alice)
    task_id, _ = app.restore_snapshot(alice, dataset_id, "current")
    nodes.nodes.clear()  # the nodes were lost, and this process restarted with a cold cache
    app.tree = ContentTree(nodes)
    assert worker(app, queue, "A").run_once() == 1
    dataset = get(app, dataset_id)
    assert dataset.finished_tasks[str(task_id)] == "FAILED"
    assert dataset.fatal_error_msg == "The snapshot's content is missing from the content store."


# Aborts while a worker runs, and aborted clones.


@pytest.mark.parametrize("noticed_at", ["progress", "publish"])
def test_a_task_aborted_while_a_worker_runs_it_is_left_aborted_and_the_worker_carries_on(
    app: Datasets, queue: InMemoryTaskQueue, alice: Actor, noticed_at: str
) -> None:
    dataset_id = ready(app, queue, alice)
    task_id, _ = app.start_operation(alice, dataset_id, MEDIA_ADDITION, {})

    def aborted_meanwhile(context: TaskContext) -> Outcome:
        app.abort_task(alice, dataset_id, task_id)
        if noticed_at == "progress":
            context.progress(50, "half way")
        root = context.tree.update(context.content_root, {"late": {"kind": "image"}})
        return Outcome(root=root, status=Status.READY.value)

    operations = {MEDIA_ADDITION: Scripted(MEDIA_ADDITION, aborted_meanwhile)}
    a = worker(app, queue, "A", operations=operations)
    a.run_once()  # must not raise: a worker thread would die of it

    dataset = get(app, dataset_id)
    assert dataset.finished_tasks[str(task_id)] == "ABORTED"
    assert (dataset.status, dataset.fatal_error_msg, dataset.current["n_images"]) == (
        Status.READY,
        None,
        2,
    )
    assert "OperationCompleted" not in topics(app, dataset_id)[-2:]
    assert "OperationFailed" not in topics(app, dataset_id)
    again, _ = app.start_operation(alice, dataset_id, MEDIA_ADDITION, {})
    operations[MEDIA_ADDITION] = Scripted(
        MEDIA_ADDITION, lambda c: Outcome(root=c.content_root, status=Status.READY.value)
    )
    assert a.run_once() == 1
    assert get(app, dataset_id).finished_tasks[str(again)] == "COMPLETED"


def test_an_aborted_clone_frees_the_source_for_restores(
    app: Datasets, queue: InMemoryTaskQueue, alice: Actor
) -> None:
    source_id = ready(app, queue, alice)
    snapshot = UUID(str(get(app, source_id).current_checkpoint))
    task_id, clone_id, _ = app.clone_snapshot(alice, source_id, snapshot)

    app.abort_task(alice, clone_id, task_id)

    clone = get(app, clone_id)
    assert (clone.status, clone.finished_tasks) == (Status.ERROR, {str(task_id): "ABORTED"})
    assert get(app, source_id).pending_clones == {}
    app.restore_snapshot(alice, source_id, "current")
    assert get(app, source_id).status == Status.READ_ONLY
