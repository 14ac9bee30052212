"""Every command that starts a task asks the task quota first, whatever calls it; nothing else does.

The application asks its task quota (``Datasets.quota``, an ``application.ports.TaskQuota``) for
each save that would start a task (a server's answers with 429 when the user has too many
unfinished tasks). Here the quota refuses
everything, so each command must raise and store nothing; commands that start no task must
not ask it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest

from adapters.runtime import Runtime
from application.actor import Actor
from domain.errors import TooManyTasks
from domain.tasks import ENRICHMENT, REINDEX
from tests.integration.helpers import ingested, settle, source_folder


class Refusing:
    """A quota that refuses every task, noting whom it was asked about."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def check(self, email: str, position: int) -> None:
        self.asked.append(email)
        raise TooManyTasks(f"{email} has too many unfinished tasks.")


def failed_creation(runtime: Runtime, actor: Actor) -> tuple[UUID, UUID]:
    """A dataset whose creation task failed (its folder holds no media): (dataset, task)."""
    folder = runtime.backend.settings.import_root / "junk"  # type: ignore[operator]
    folder.mkdir()
    (folder / "notes.txt").write_text("not media")
    dataset_id, _ = runtime.app.create_dataset(
        actor, "junk", source={"source": "path", "path": str(folder)}
    )
    settle(runtime)
    task = runtime.app.get_dataset(actor, dataset_id).failed_task
    assert task is not None, "the creation should have failed"
    return dataset_id, UUID(task["task_id"])


def test_every_command_that_starts_a_task_is_refused_by_the_quota_and_stores_nothing(
    runtime: Runtime, alice: Actor
) -> None:
    app = runtime.app
    dataset_id = ingested(runtime, alice, "alpha")
    snapshot_id = app.create_snapshot(alice, dataset_id, "first").result.snapshot_id
    junk_id, failed_task = failed_creation(runtime, alice)
    folder = source_folder(runtime, "bravo")
    starts: dict[str, Callable[[], Any]] = {
        "create from a source": lambda: app.create_dataset(
            alice, "bravo", source={"source": "path", "path": folder}
        ),
        "restore": lambda: app.restore_snapshot(alice, dataset_id, str(snapshot_id)),
        "clone": lambda: app.clone_snapshot(alice, dataset_id, snapshot_id),
        "enrichment": lambda: app.start_operation(alice, dataset_id, ENRICHMENT, {}),
        "reindex": lambda: app.start_operation(alice, dataset_id, REINDEX, {"threshold": 5}),
        "export": lambda: app.start_export(alice, dataset_id, None, include_media=False),
        "retry": lambda: app.retry_task(alice, junk_id, failed_task),
    }
    refusing = Refusing()
    app.quota = refusing
    before = app.position()

    for name, start in starts.items():
        with pytest.raises(TooManyTasks):
            start()
        assert app.position() == before, f"{name} stored events though refused"

    assert refusing.asked == [alice.email] * len(starts)


def test_commands_that_start_no_task_never_ask_the_quota(
    runtime: Runtime, alice: Actor, bob: Actor
) -> None:
    app = runtime.app
    dataset_id = ingested(runtime, alice, "alpha")
    refusing = Refusing()
    app.quota = refusing

    app.create_dataset(alice, "empty")
    snapshot_id = app.create_snapshot(alice, dataset_id, "first").result.snapshot_id
    app.update_snapshot(alice, dataset_id, snapshot_id, "renamed", None)
    app.share_dataset(alice, dataset_id, bob.email, "editor")

    assert refusing.asked == []
