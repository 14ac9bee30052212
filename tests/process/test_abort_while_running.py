"""A user aborts a task while a worker runs it: the worker stops cleanly and keeps working."""

from __future__ import annotations

from uuid import UUID

from adapters.runtime import Runtime
from adapters.settings import Settings
from application.actor import Actor
from application.operations.base import Outcome, TaskContext
from domain.status import Status
from domain.tasks import MEDIA_ADDITION
from tests.support.media import folder_of_media


class AbortedMidway:
    """An operation during which its owner aborts the task."""

    task_type = MEDIA_ADDITION

    def __init__(self, runtime: Runtime, owner: Actor, dataset_id: UUID) -> None:
        self.runtime, self.owner, self.dataset_id = runtime, owner, dataset_id

    def run(self, context: TaskContext) -> Outcome:
        self.runtime.app.abort_task(self.owner, self.dataset_id, UUID(context.task_id))
        context.progress(50, "half way")  # must not publish: the task is gone
        return Outcome(root=context.content_root, status=Status.READY.value)


def test_aborting_a_running_operation_leaves_the_worker_alive_and_the_dataset_usable(
    runtime: Runtime, settings: Settings, admin: Actor
) -> None:
    assert settings.import_root is not None
    folder = folder_of_media(settings.import_root / "set", images=2, videos=0)
    app = runtime.app
    dataset_id, _ = app.create_dataset(
        admin, "abortable", source={"source": "path", "path": str(folder)}
    )
    runtime.catch_up()
    assert runtime.worker.run_once() == 1
    runtime.worker.operations = {MEDIA_ADDITION: AbortedMidway(runtime, admin, dataset_id)}
    task_id, _ = app.start_operation(admin, dataset_id, MEDIA_ADDITION, {"source": "none"})
    runtime.catch_up()

    assert runtime.worker.run_once() == 0, "an aborted task is not counted as finished"

    dataset = app.get_dataset(admin, dataset_id)
    assert dataset.finished_tasks[str(task_id)] == "ABORTED"
    assert dataset.status == Status.READY
    runtime.catch_up()
    assert runtime.worker.run_once() == 0, "nothing is left to claim"
    assert app.create_snapshot(admin, dataset_id, "after abort")[0]
