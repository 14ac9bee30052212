"""Garbage collection of staged uploads: only folders no open task owns, past the grace."""

from __future__ import annotations

import os
import time
from uuid import uuid4

from adapters.runtime import Runtime
from application.actor import Actor
from application.datasets import creation_task_id
from application.garbage import collect_task_leftovers
from tests.support.media import image


def stage(runtime: Runtime, task_id: str, *, age_seconds: float = 0) -> None:
    folder = runtime.staging.folder(task_id)
    image(folder / "a.png")
    if age_seconds:
        then = time.time() - age_seconds
        os.utime(folder, (then, then))


def staged(runtime: Runtime) -> set[str]:
    return {folder.name for folder in runtime.staging.folder(str(uuid4())).parent.iterdir()}


def test_orphaned_uploads_are_swept_while_open_and_in_flight_ones_stay(
    runtime: Runtime, admin: Actor
) -> None:
    orphan, in_flight = str(uuid4()), str(uuid4())
    stage(runtime, orphan, age_seconds=7200)
    stage(runtime, in_flight)  # staged just now: its task may not be recorded yet
    dataset_id = uuid4()
    queued = str(creation_task_id(dataset_id))
    stage(runtime, queued, age_seconds=7200)
    runtime.app.create_dataset(
        admin, "queued", dataset_id=dataset_id, source={"source": "upload", "task_id": queued}
    )
    assert staged(runtime) == {orphan, in_flight, queued}

    assert collect_task_leftovers(runtime.app, runtime.staging, grace_seconds=3600) == 1

    assert staged(runtime) == {in_flight, queued}
