"""How records stored by older code become what today's code holds.

Version 1 spelled a version out as five fields (root, counts, status, facets) wherever it
went: in events, in a clone task's params, in checkpoint records and in the aggregate's own
attributes (so in its stored snapshots). Version 2 carries each as one ``Version``.
"""

from __future__ import annotations

from typing import Any

from domain.checkpoints import Checkpoint
from domain.tasks import CLONE
from domain.version import Version, version_of


def grouped(record: dict[str, Any], *, root: str = "root", status: str = "status") -> Version:
    """Pop a v1 record's five version fields and return them as one ``Version``."""
    return version_of(
        record.pop(root),
        record.pop("n_images"),
        record.pop("n_videos"),
        record.pop(status),
        record.pop("facets"),
    )


def clone_task_v2(task: Any) -> Any:
    """A clone task of v1 (its params spelled the version out) as v2 holds it."""
    if task is None or task["task_type"] != CLONE or "version" in task["params"]:
        return task
    params = dict(task["params"])
    params["version"] = grouped(params)
    return {**task, "params": params}


def checkpoint_v2(record: dict[str, Any]) -> Checkpoint:
    record = dict(record)
    version = grouped(record)
    return {
        "name": record["name"],
        "description": record["description"],
        "reason": record["reason"],
        "created_by": record["created_by"],
        "created_at": record["created_at"],
        "version": version,
        "deleted": record["deleted"],
    }


def dataset_state_v2(state: dict[str, Any]) -> None:
    """A stored Dataset snapshot's state, v1 to v2 (in place)."""
    state["current"] = grouped(state, root="content_root", status="content_status")
    state["checkpoints"] = {k: checkpoint_v2(v) for k, v in state["checkpoints"].items()}
    state["active_task"] = clone_task_v2(state["active_task"])
    state["failed_task"] = clone_task_v2(state["failed_task"])
