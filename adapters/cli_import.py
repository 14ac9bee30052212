"""``snapset import PATH --dataset NAME``: ingest local media into a dataset, in this process.

The command records the very task an upload would (a creation task for a new dataset, a
media addition for an existing one) and runs it here with a worker of its own, so a large
local folder needs no server, no upload and no configured import root, and the result is
the same events, blobs and tree a server would have made. A folder is read where it is (this
process's worker takes it as its import root); a single file or zip is linked, or copied,
into the task's staging folder, as an upload is.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO
from uuid import UUID, uuid4

from adapters.first_admin import FIRST_ADMIN_EMAIL, ensure_first_admin
from adapters.progress import Progress
from adapters.runtime import Runtime, build_runtime
from adapters.settings import Settings
from adapters.views.dataset_list import DatasetListView
from adapters.views.task_log import TaskLogView
from application.actor import Actor
from application.datasets import Datasets, creation_task_id
from application.details import DatasetDetails
from application.ports import iter_files
from application.worker import Worker
from domain.errors import DomainError, UserNotFound
from domain.tasks import CREATION, MEDIA_ADDITION

_SKIPPED = re.compile(r"Skipped (\d+) files?: (.*)$")
_WAIT_SECONDS = 0.5


class ImportRefused(Exception):
    """The command cannot start: its message says why, and nothing was recorded."""


@dataclass(frozen=True)
class ImportRequest:
    path: Path
    dataset: str  # a name the user owns, or a dataset id
    email: str | None  # the importing user; None: the first admin


@dataclass(frozen=True)
class _Started:
    dataset_id: UUID
    name: str
    task_id: str
    task_type: str
    created: bool
    items_before: tuple[int, int]  # (images, videos)


def run_import(
    settings: Settings, request: ImportRequest, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run the import; returns the exit code (0 done, 1 the task failed, 2 refused)."""
    out, err = out or sys.stdout, err or sys.stderr
    started = time.monotonic()
    try:
        if not request.dataset.strip():
            raise ImportRefused("the dataset name must not be blank.")
        source = _checked_source(request.path)
    except ImportRefused as refused:
        print(f"snapset import: {refused}", file=err)
        return 2
    folder = source if source.is_dir() else None
    runtime = build_runtime(replace(settings, import_root=folder) if folder else settings)
    try:
        actor = _actor(runtime, request.email, out)
        existing = _existing_dataset(runtime, actor, request.dataset)
        begun = _start(runtime, actor, request.dataset, source, existing)
    except (ImportRefused, DomainError) as refused:
        print(f"snapset import: {getattr(refused, 'detail', refused)}", file=err)
        runtime.close()
        return 2 if isinstance(refused, ImportRefused) else 1
    try:
        what = "Created dataset" if begun.created else "Adding media to dataset"
        print(
            f"{what} {begun.name!r} ({begun.dataset_id}); task {begun.task_type} {begun.task_id}.",
            file=out,
            flush=True,
        )
        with Progress("import", "file") as progress:
            _run(runtime, actor, begun, progress, err)
        runtime.catch_up()  # so a server started next shows the dataset at once
        return _summarise(runtime, actor, begun, progress, time.monotonic() - started, out, err)
    except KeyboardInterrupt:
        with contextlib.suppress(DomainError):
            runtime.app.abort_task(actor, begun.dataset_id, UUID(begun.task_id))
        print(f"\nsnapset import: interrupted; task {begun.task_id} aborted.", file=err)
        return 130
    finally:
        runtime.close()


def _checked_source(path: Path) -> Path:
    if not path.exists():
        raise ImportRefused(f"{path} does not exist.")
    resolved = path.resolve()
    if resolved.is_dir():
        if next(iter_files(resolved), None) is None:
            raise ImportRefused(f"the folder {path} has no files.")
    elif not resolved.is_file():
        raise ImportRefused(f"{path} is neither a folder nor a file.")
    return resolved


def _actor(runtime: Runtime, email: str | None, out: TextIO) -> Actor:
    """The named user, or the first admin (created now if the store has none)."""
    if email is None:
        ensure_first_admin(runtime.app, out)
        email = FIRST_ADMIN_EMAIL
    try:
        user = runtime.app.get_user_by_email(email)
    except UserNotFound:
        raise ImportRefused(
            f"there is no user {email}; add one with: snapset users add {email}"
        ) from None
    return Actor(str(user.id), user.email, user.is_admin)


def _existing_dataset(runtime: Runtime, actor: Actor, name_or_id: str) -> DatasetDetails | None:
    """The dataset with that id, or the one the actor owns with that name (None: there is
    none yet)."""
    app: Datasets = runtime.app
    with contextlib.suppress(ValueError):
        return app.get_dataset(actor, UUID(name_or_id))  # DatasetNotFound for a wrong id
    name = name_or_id.strip()
    runtime.projectors["dataset_list"].catch_up()
    view = runtime.backend.views["dataset_list"]
    assert isinstance(view, DatasetListView)
    ids: list[str] = []
    page = 1
    while rows := view.page(actor.user_id, page, 500)[0]:
        ids += [
            r["dataset_id"] for r in rows if r["name"] == name and r["owner_id"] == actor.user_id
        ]
        page += 1
    if len(ids) > 1:
        raise ImportRefused(
            f"you own {len(ids)} datasets named {name!r} "
            f"({', '.join(ids)}); give --dataset one of these ids."
        )
    return app.get_dataset(actor, UUID(ids[0])) if ids else None


def _start(
    runtime: Runtime, actor: Actor, name: str, source: Path, existing: DatasetDetails | None
) -> _Started:
    """Record the task (and the dataset, if new) the way the HTTP API does."""
    app = runtime.app
    dataset_id = existing.id if existing is not None else uuid4()
    task_id = str(uuid4() if existing is not None else creation_task_id(dataset_id))
    params = _source_params(runtime, source, task_id)
    try:
        if existing is None:
            app.create_dataset(actor, name.strip(), source=params, dataset_id=dataset_id)
            return _Started(dataset_id, name.strip(), task_id, CREATION, True, (0, 0))
        app.start_operation(actor, dataset_id, MEDIA_ADDITION, params, UUID(task_id))
    except BaseException:
        runtime.staging.remove(task_id)
        raise
    return _Started(
        dataset_id,
        existing.name,
        task_id,
        MEDIA_ADDITION,
        False,
        (existing.current["n_images"], existing.current["n_videos"]),
    )


def _source_params(runtime: Runtime, source: Path, task_id: str) -> dict[str, Any]:
    if source.is_dir():
        return {"source": "path", "path": str(source)}
    folder = runtime.staging.folder(task_id)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, folder / source.name)  # free on the same file system
    except OSError:
        shutil.copyfile(source, folder / source.name)
    return {"source": "upload", "task_id": task_id}


class _ProgressBar:
    """The worker's observer: its items counted move the bar."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def claimed(self, task_id: str) -> None:
        pass

    def counted(self, task_id: str, done: int, total: int) -> None:
        self._progress.update(done, total)


def _run(runtime: Runtime, actor: Actor, begun: _Started, progress: Progress, err: TextIO) -> None:
    """Run the task with a worker of this process; if another worker (a server's) claimed
    it first, wait for that one to finish it."""
    worker = Worker(
        runtime.app,
        runtime.worker.queue,
        runtime.worker.operations,
        lease_seconds=runtime.backend.settings.lease_seconds,
        worker_id=f"import-{uuid4().hex[:8]}",
        observer=_ProgressBar(progress),
    )
    if worker.run_task(begun.dataset_id, begun.task_id):
        return
    print(f"Task {begun.task_id} is run by another worker; waiting for it.", file=err, flush=True)
    while begun.task_id not in runtime.app.get_dataset(actor, begun.dataset_id).finished_tasks:
        time.sleep(_WAIT_SECONDS)


def _summarise(
    runtime: Runtime,
    actor: Actor,
    begun: _Started,
    progress: Progress,
    seconds: float,
    out: TextIO,
    err: TextIO,
) -> int:
    dataset = runtime.app.get_dataset(actor, begun.dataset_id)
    status = dataset.finished_tasks.get(begun.task_id, "UNKNOWN")
    view = runtime.backend.views["task_log"]
    assert isinstance(view, TaskLogView)
    row = view.get(None, begun.task_id) or {}
    print(
        f"Task {begun.task_type} {begun.task_id} {status} in {seconds:.2f} s "
        f"({progress.done:,} files, {progress.rate:,.1f} files/s).",
        file=out,
    )
    if status != "COMPLETED":
        error = dataset.fatal_error_msg or row.get("error_message") or "unknown error"
        print(f"snapset import: the task {status.lower()}: {error}", file=err)
        return 1
    n_images, n_videos = dataset.current["n_images"], dataset.current["n_videos"]
    images, videos = n_images - begun.items_before[0], n_videos - begun.items_before[1]
    print(f"Ingested {images + videos:,} items ({images:,} images, {videos:,} videos).", file=out)
    _print_skipped(str(row.get("status_message") or ""), out)
    print(
        f"Dataset {dataset.name!r} ({dataset.id}): {dataset.status}, {n_images:,} "
        f"images, {n_videos:,} videos.",
        file=out,
    )
    return 0


def _print_skipped(message: str, out: TextIO) -> None:
    """The task's message names the files it skipped and why: one line each."""
    match = _SKIPPED.search(message)
    if match is None:
        print("Skipped 0 files.", file=out)
        return
    print(f"Skipped {match.group(1)} files:", file=out)
    for reason in match.group(2).split("; "):
        print(f"  {reason}", file=out)
