"""Re-index (REINDEX): cluster near-duplicate media, making a PARTIAL INDEX dataset READY.

Images cluster by perceptual hash: two are near-duplicates when their 64-bit hashes differ
in at most ``threshold`` bits (param, 0..32, default 8), and clusters are the connected
components of that relation (``domain.clustering``). An image's hash comes from its record
when it carries the PERCEPTUAL_HASH output of the model used here, else the model computes
it and the record keeps it as that enrichment output, so the next re-index (say after a
media addition) hashes only the new images. The model is the one the dataset already
applied, when the registry still has it, else the registry's default.

Videos cluster only with videos of identical bytes (the same blob); nothing cheaper says two
videos are near-duplicates. Items in no group of two or more get ``cluster_id`` None; a
group's id is uuid5 of its smallest media id, so a re-index of the same content gives the
same ids. Unreadable images are per-item errors in the report (their cluster_id is None).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from application.operations.base import OperationFailed, Outcome, TaskContext
from application.operations.enrichment import (
    EnrichmentModel,
    ItemErrors,
    ModelRegistry,
    blob_path,
)
from application.operations.hash_clusters import hash_components
from application.operations.ingest import UnsupportedMedia
from application.operations.parallel import ordered_map
from application.ports import BlobStore
from domain.clustering import DEFAULT_THRESHOLD, check_threshold, cluster_id
from domain.content_tree import Record
from domain.errors import Invalid
from domain.status import Status
from domain.tasks import REINDEX

HASH_TYPE = "PERCEPTUAL_HASH"


class Reindex:
    task_type = REINDEX

    def __init__(self, blobs: BlobStore, registry: ModelRegistry, *, threads: int = 2) -> None:
        self._blobs = blobs
        self._registry = registry
        self._threads = threads

    def run(self, context: TaskContext) -> Outcome:
        threshold = context.params.get("threshold", DEFAULT_THRESHOLD)
        try:
            check_threshold(threshold)
        except Invalid as error:
            raise OperationFailed(error.detail) from None
        hasher = self._hasher(context.facets.get("models", {}))
        tree, found = context.tree, _Found()
        hashed_root = tree.update_stream(
            context.content_root, self._hashing(context, hasher, found)
        )
        if found.errors.count and not any(found.has_hash) and not len(found.video_ids):
            first = found.errors.sample[0]
            raise OperationFailed(
                f"No image could be hashed ({found.errors.count} errors; "
                f"{first['file_name']}: {first['detail']})."
            )

        def clustering(done: int, total: int) -> None:
            message = f"Clustering: {done} of {total} probes done."
            context.tick(done, total, message, start=90, share=9)

        clusters = _Clusters(found, threshold, clustering)
        root = tree.update_stream(hashed_root, clusters.changes(tree.items(hashed_root)))
        report = {
            "threshold": threshold,
            "model_id": hasher.model_id,
            "images": found.images,
            "videos": len(found.video_ids),
            "hashed": found.hashed,
            "reused": found.reused,
            "clusters": clusters.count,
            "clustered_items": clusters.items,
            "error_count": found.errors.count,
            "errors": found.errors.sample,
        }
        facets: dict[str, Any] = {"clustered": True}
        if found.hashed:
            facets["models"] = {**context.facets.get("models", {}), HASH_TYPE: hasher.model_id}
        message = (
            f"Found {clusters.count} clusters of near-duplicates among {found.items} "
            f"items (threshold {threshold} bits)."
        )
        if found.errors.count:
            message += f" {found.errors.count} images could not be hashed; see the task's report."
        return Outcome(
            root=root, status=Status.READY.value, message=message, facets=facets, report=report
        )

    def _hashing(
        self, context: TaskContext, hasher: EnrichmentModel, found: _Found
    ) -> Iterator[tuple[str, Record]]:
        """Every item's hash (or blob, for a video) into ``found``, in tree order; yields
        the images that had to be hashed, with their hash stored."""
        total = context.tree.counts(context.content_root).images
        images = (r for _, r in found.note_all(context.tree.items(context.content_root)))
        hashing = ordered_map(
            lambda r: self._hash(r, hasher),
            images,
            self._threads,
            inline=lambda r: _stored_hash(r, hasher) is not None,
        )
        for done, (record, outcome) in enumerate(hashing, 1):
            media_id = str(record["media_id"])
            if isinstance(outcome, str):
                found.errors.add(record, HASH_TYPE, outcome)
                found.add_image(media_id, None)
            else:
                value, stored = outcome
                found.add_image(media_id, value)
                if stored is not None:
                    found.hashed += 1
                    yield media_id, stored
            context.tick(done, total, f"Hashed {done} of {total} images.", share=90)

    def _hasher(self, applied: dict[str, str]) -> EnrichmentModel:
        if HASH_TYPE in applied:
            try:
                return self._registry.get(HASH_TYPE, applied[HASH_TYPE])
            except Invalid:
                pass  # the applied model is gone from this deployment: use the default
        try:
            return self._registry.default(HASH_TYPE)
        except Invalid as error:
            raise OperationFailed(f"Re-index needs a {HASH_TYPE} model. {error.detail}") from None

    def _hash(
        self, record: Record, hasher: EnrichmentModel
    ) -> tuple[Record, tuple[int, Record | None] | str]:
        """(record, (hash, the record with the hash stored or None if it had it) or why not)."""
        value = _stored_hash(record, hasher)
        if value is not None:
            return record, (value, None)
        try:
            outputs = hasher.run(blob_path(self._blobs, record), record)
        except UnsupportedMedia as error:
            return record, str(error)
        value = _as_hash(outputs.get("phash"))
        if value is None:
            return record, f"the {HASH_TYPE} model gave no 64-bit hash"
        enrichment = {
            **(record.get("enrichment") or {}),
            HASH_TYPE: {**outputs, "model_id": hasher.model_id},
        }
        return record, (value, {**record, "enrichment": enrichment})


class _Strings:
    """Many strings in one buffer (offsets into UTF-8 bytes): no object per string."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._ends = array("Q")

    def __len__(self) -> int:
        return len(self._ends)

    def append(self, text: str) -> None:
        self._data += text.encode()
        self._ends.append(len(self._data))

    def __getitem__(self, index: int) -> str:
        start = self._ends[index - 1] if index else 0
        return self._data[start : self._ends[index]].decode()


class _Found:
    """What the first pass found, in tree order: each image's id and hash (or that it has
    none), each video's id and a label per distinct blob. A million items cost tens of MB,
    and almost no Python objects, so the memory goes back when the task ends."""

    def __init__(self) -> None:
        self.items = self.hashed = 0
        self.errors = ItemErrors()
        self.ids = _Strings()  # the images', then (``video_ids``) the videos'
        self.hashes = array("Q")
        self.has_hash = bytearray()
        self.video_ids = _Strings()
        self.video_labels = array("q")
        self._blobs: dict[str, int] = {}

    @property
    def images(self) -> int:
        return len(self.ids)

    @property
    def reused(self) -> int:
        return sum(self.has_hash) - self.hashed

    def note_all(self, items: Iterable[tuple[str, Record]]) -> Iterator[tuple[str, Record]]:
        """Count every item and note the videos; pass the images on."""
        for media_id, record in items:
            self.items += 1
            if record.get("kind") == "image":
                yield media_id, record
            elif record.get("kind") == "video":
                self.video_ids.append(media_id)
                blob = str(record.get("blob"))
                self.video_labels.append(self._blobs.setdefault(blob, len(self._blobs)))

    def add_image(self, media_id: str, value: int | None) -> None:
        self.ids.append(media_id)
        self.hashes.append(value or 0)
        self.has_hash.append(value is not None)

    def media_id(self, index: int) -> str:
        """The id of item ``index``, images first, then videos."""
        images = self.images
        return self.ids[index] if index < images else self.video_ids[index - images]


class _Clusters:
    """Each item's cluster: images by hash distance, videos by identical blobs; an item in
    no group of two or more has none. Items are labelled in the first pass's order (images,
    then videos), and ``changes`` walks the tree in that same order."""

    def __init__(self, found: _Found, threshold: int, progress: Callable[[int, int], None]) -> None:
        images = found.images
        hashed = np.frombuffer(found.has_hash, dtype=np.uint8).astype(bool)
        values = np.frombuffer(found.hashes, dtype=np.uint64)[hashed]
        image_labels = np.arange(images, dtype=np.int64)  # unhashed images: alone
        image_labels[hashed] = hash_components(values, threshold, progress) + images
        video_labels = np.frombuffer(found.video_labels, dtype=np.int64) + 2 * images + 1
        self._labels = np.concatenate([image_labels, video_labels])
        self._image_count = images
        self._cluster: dict[int, str] = {}  # label -> cluster id, for groups of two or more
        order = np.argsort(self._labels, kind="stable")
        labels = self._labels[order]
        starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
        sizes = np.diff(np.r_[starts, len(labels)])
        for start, size in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist(), strict=True):
            smallest = min(found.media_id(int(i)) for i in order[start : start + size])
            self._cluster[int(labels[start])] = cluster_id(smallest)
        self.items = int(sizes[sizes > 1].sum())
        self.count = len(self._cluster)

    def changes(self, items: Iterable[tuple[str, Record]]) -> Iterator[tuple[str, Record]]:
        """The items whose cluster id changes, with it changed."""
        image, video = 0, self._image_count
        for media_id, record in items:
            if record.get("kind") == "image":
                label, image = self._labels[image], image + 1
            elif record.get("kind") == "video":
                label, video = self._labels[video], video + 1
            else:
                label = -1
            cluster = self._cluster.get(int(label))
            if cluster != record.get("cluster_id"):
                yield media_id, {**record, "cluster_id": cluster}


def _stored_hash(record: Record, hasher: EnrichmentModel) -> int | None:
    """The hash the record holds from ``hasher``, if it holds one."""
    output = (record.get("enrichment") or {}).get(HASH_TYPE)
    if isinstance(output, dict) and output.get("model_id") == hasher.model_id:
        return _as_hash(output.get("phash"))
    return None


def _as_hash(value: object) -> int | None:
    if not isinstance(value, str) or len(value) != 16:
        return None
    try:
        return int(value, 16)
    except ValueError:
        return None
