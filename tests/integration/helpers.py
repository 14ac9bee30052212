"""Driving the real application in-process, and reading the views' tables back as plain data."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

from adapters.runtime import Runtime
from adapters.views.view import View
from application.actor import Actor
from domain.dataset import Dataset
from domain.tasks import MEDIA_ADDITION
from tests.support.media import folder_of_media, image

Dump = dict[str, list[dict[str, Any]]]


def settle(runtime: Runtime) -> None:
    """Project everything, run every claimable task, project its results."""
    runtime.catch_up()
    while runtime.worker.run_once():
        runtime.catch_up()
    runtime.catch_up()


def source_folder(runtime: Runtime, name: str, images: int = 3, videos: int = 1) -> str:
    import_root = runtime.backend.settings.import_root
    assert import_root is not None
    return str(folder_of_media(import_root / name, images=images, videos=videos))


def ingested(
    runtime: Runtime, actor: Actor, name: str, *, images: int = 3, videos: int = 1, run: bool = True
) -> UUID:
    """A dataset created from a folder under the import root (its creation task run if ``run``)."""
    folder = source_folder(runtime, name, images, videos)
    dataset_id, _ = runtime.app.create_dataset(
        actor, name, source={"source": "path", "path": folder}
    )
    if run:
        settle(runtime)
    return UUID(str(dataset_id))


def add_media(runtime: Runtime, actor: Actor, dataset_id: UUID, name: str, colors: int = 2) -> UUID:
    """Start a MEDIA_ADDITION task with new, distinct images (not run)."""
    import_root = runtime.backend.settings.import_root
    assert import_root is not None
    for i in range(colors):
        image(import_root / name / f"added{i}.png", 20 + i, 20, (10, 200, 10 * i))
    task_id, _ = runtime.app.start_operation(
        actor, dataset_id, MEDIA_ADDITION, {"source": "path", "path": str(import_root / name)}
    )
    return UUID(str(task_id))


def edit(
    runtime: Runtime,
    actor: Actor,
    dataset_id: UUID,
    change: Callable[[dict[str, dict[str, Any]]], dict[str, Any]],
) -> int:
    """Edit content synchronously: ``change`` maps the current items to tree changes."""

    def changes(dataset: Dataset) -> dict[str, Any]:
        return change(dict(runtime.app.tree.items(dataset.current["root"])))

    return int(runtime.app.edit_items(actor, dataset_id, changes, "test edit"))


def tag_first(tag: str) -> Callable[[dict[str, dict[str, Any]]], dict[str, Any]]:
    """A change that sets the tags of the first item (by media id) to ``[tag]``."""

    def change(items: dict[str, dict[str, Any]]) -> dict[str, Any]:
        key = min(items)
        return {key: {**items[key], "tags": [tag]}}

    return change


def synthetic_records(count: int, prefix: str = "synthetic") -> dict[str, dict[str, Any]]:
    """Media records without blobs, enough of them to give the tree interior nodes."""
    records: dict[str, dict[str, Any]] = {}
    for i in range(count):
        media_id = str(uuid4())
        records[media_id] = {
            "kind": "image",
            "file_name": f"{prefix}/{i:04d}.png",
            "media_id": media_id,
            "metadata": {},
            "tags": [],
            "labels": [],
            "enrichment": {},
            "cluster_id": None,
            "width": 1,
            "height": 1,
            "blob": "0" * 64,
            "size": 1,
        }
    return records


def canonical(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True, default=str))


def dump(view: View) -> Dump:
    """Every row of every table of a view, in a stable order."""
    store = view.store
    with store.reading() as sql:
        return {
            table: canonical(sql.all(f"SELECT * FROM {{t}}{table}")) for table in store.tables()
        }


def dump_all(runtime: Runtime) -> dict[str, Dump]:
    return {name: dump(view) for name, view in runtime.backend.views.items()}


def row_counts(view: View) -> dict[str, int]:
    store = view.store
    with store.reading() as sql:
        return {
            table: int(sql.value(f"SELECT COUNT(*) FROM {{t}}{table}")) for table in store.tables()
        }
