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

from typing import Any

from application.operations.base import OperationFailed, Outcome, TaskContext
from application.operations.enrichment import (
    EnrichmentModel,
    ItemErrors,
    ModelRegistry,
    blob_path,
)
from application.operations.hash_clusters import hash_groups
from application.operations.ingest import UnsupportedMedia
from application.operations.parallel import ordered_map
from application.ports import BlobStore
from domain.clustering import DEFAULT_THRESHOLD, check_threshold, cluster_ids, exact_groups
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
        records = dict(context.tree.items(context.content_root))
        images = [r for r in records.values() if r.get("kind") == "image"]
        hashes: dict[str, int] = {}
        hashed: dict[str, Record] = {}  # records that gained a stored hash
        errors = ItemErrors()
        reused = 0
        for done, (record, found) in enumerate(
            ordered_map(lambda r: self._hash(r, hasher), images, self._threads), 1
        ):
            if isinstance(found, str):
                errors.add(record, HASH_TYPE, found)
            else:
                media_id = str(record["media_id"])
                hashes[media_id], stored = found
                reused += stored is None
                if stored is not None:
                    hashed[media_id] = stored
            context.tick(done, len(images), f"Hashed {done} of {len(images)} images.", share=90)
        videos = {k: str(r.get("blob")) for k, r in records.items() if r.get("kind") == "video"}
        if errors.count and not hashes and not videos:
            first = errors.sample[0]
            raise OperationFailed(
                f"No image could be hashed ({errors.count} errors; "
                f"{first['file_name']}: {first['detail']})."
            )
        def clustering(done: int, total: int) -> None:
            message = f"Clustering: {done} of {total} probes done."
            context.tick(done, total, message, start=90, share=9)

        groups = hash_groups(hashes, threshold, clustering) + exact_groups(videos)
        clusters = cluster_ids(groups)
        changes: dict[str, Record | None] = {}
        for media_id, record in records.items():
            updated = hashed.get(media_id, record)
            cluster = clusters.get(media_id)
            if cluster != updated.get("cluster_id"):
                updated = {**updated, "cluster_id": cluster}
            if updated is not record:
                changes[media_id] = updated
        report = {
            "threshold": threshold,
            "model_id": hasher.model_id,
            "images": len(images),
            "videos": len(videos),
            "hashed": len(hashed),
            "reused": reused,
            "clusters": len(groups),
            "clustered_items": len(clusters),
            "error_count": errors.count,
            "errors": errors.sample,
        }
        facets: dict[str, Any] = {"clustered": True}
        if hashed:
            facets["models"] = {**context.facets.get("models", {}), HASH_TYPE: hasher.model_id}
        message = (
            f"Found {len(groups)} clusters of near-duplicates among {len(records)} "
            f"items (threshold {threshold} bits)."
        )
        if errors.count:
            message += f" {errors.count} images could not be hashed; see the task's report."
        return Outcome(
            root=context.tree.update(context.content_root, changes),
            status=Status.READY.value,
            message=message,
            facets=facets,
            report=report,
        )

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
        output = (record.get("enrichment") or {}).get(HASH_TYPE)
        if isinstance(output, dict) and output.get("model_id") == hasher.model_id:
            value = _as_hash(output.get("phash"))
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


def _as_hash(value: object) -> int | None:
    if not isinstance(value, str) or len(value) != 16:
        return None
    try:
        return int(value, 16)
    except ValueError:
        return None
