"""Seeding: a bench's user, synthetic media records, and READY datasets published from them.

A seeded dataset skips ingestion: its creation task is claimed and completed with a content
root built in this process, as a worker would have, so no file is read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from application.actor import Actor
from application.datasets import Datasets, creation_task_id


@dataclass(frozen=True)
class BenchUser:
    actor: Actor
    api_key: str
    api_secret: str


def register_user(app: Datasets, email: str | None = None, *, admin: bool = False) -> BenchUser:
    """A new user (a random bench-… email unless given), as the actor and its credentials."""
    email = email or f"bench-{uuid4().hex[:8]}@example.com"
    api_key, api_secret = app.register_user(email, "admin") if admin else app.register_user(email)
    user = app.get_user_by_api_key(api_key)
    assert user is not None
    return BenchUser(Actor(str(user.id), user.email, user.is_admin), api_key, api_secret)


def synthetic_records(tag: str, n: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """``n`` media records (every fifth a video) keyed by media id, as ingestion writes them."""
    for i in range(n):
        media_id = f"{tag}-{i:07d}"
        video = i % 5 == 0
        record: dict[str, Any] = {
            "media_id": media_id,
            "kind": "video" if video else "image",
            "file_name": f"{tag}/{i:07d}.{'mp4' if video else 'jpg'}",
            "blob": hashlib.sha256(media_id.encode()).hexdigest(),
            "size": 20_000 + (i * 7919) % 5_000_000,
            "width": 1920,
            "height": 1080,
            "metadata": {},
            "tags": [],
            "labels": [],
            "enrichment": {},
            "cluster_id": None,
        }
        if video:
            record["duration"] = 12.5
        yield media_id, record


def publish_dataset(app: Datasets, actor: Actor, name: str, root: str) -> UUID:
    """A READY dataset whose creation task published the content ``root``.

    Run it with no worker running, so the real worker never tries the "bench" source.
    """
    dataset_id, _ = app.create_dataset(actor, name, source={"source": "bench"})
    task = str(creation_task_id(dataset_id))
    app.claim_task(dataset_id, task, "bench", 600)
    app.complete_operation(dataset_id, task, "bench", root, "READY")
    return dataset_id
