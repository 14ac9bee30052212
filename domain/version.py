"""A version of a dataset: what a snapshot captures, a restore or a clone brings back, and an
operation publishes. It is the content tree's root with its counts, the status the dataset
has with that content, and the dataset-level facets that go with it: whether clusters exist,
the enrichment models applied (type -> model id) and the custom metadata schema.

A ``Version`` is a plain mapping, so an event carries it as one payload field as it is, and
the audit history shows it as JSON. Like every record the aggregate holds, it is never
edited in place: a change makes a new one.
"""

from __future__ import annotations

from typing import Any, TypedDict

from domain.content_tree import EMPTY_ROOT
from domain.status import Status


class Version(TypedDict):
    root: str
    n_images: int
    n_videos: int
    status: str
    facets: dict[str, Any]


def default_facets() -> dict[str, Any]:
    return {"clustered": False, "models": {}, "schema": {}}


def version_of(
    root: str, n_images: int, n_videos: int, status: str, facets: dict[str, Any]
) -> Version:
    return {
        "root": root,
        "n_images": n_images,
        "n_videos": n_videos,
        "status": status,
        "facets": facets,
    }


def empty_version() -> Version:
    """A new dataset's content: nothing yet, READY once its first media is published."""
    return version_of(EMPTY_ROOT, 0, 0, Status.READY.value, default_facets())


def with_content(version: Version, root: str, n_images: int, n_videos: int) -> Version:
    """The same version with other content: a small edit keeps the status and facets."""
    return version_of(root, n_images, n_videos, version["status"], version["facets"])


def with_facets(version: Version, facets: dict[str, Any]) -> Version:
    """The same version with other facets."""
    return {**version, "facets": facets}
