"""Label propagation (LABEL_PROPAGATION): copy source items' labels to the rest of their cluster.

Params: ``media_ids`` (the source items) and optionally ``class_names`` (copy only labels of
these classes). Each source's own labels, that is not the ones it got by propagation (so
copies are never copied again and propagation does not chain), go to every other member of
its cluster as ``{"class_name", "bbox", "source": "propagation", "source_media_id"}``. A
member that already holds an equal copy (same class, box and source item) is left as it is,
so running the same propagation twice changes nothing the second time. Unknown sources and
sources without a cluster are reported as errors; the others still propagate.
"""

from __future__ import annotations

from typing import Any

from application.operations.base import Outcome, TaskContext
from application.operations.item_edits import ErrorSample, status_kept
from domain.content_tree import Record
from domain.tasks import LABEL_PROPAGATION

PROPAGATION = "propagation"


def label_identity(label: dict[str, Any]) -> tuple[Any, ...]:
    """What makes two labels the same label on one item."""
    bbox = label.get("bbox")
    return (
        label.get("class_name"),
        tuple(bbox) if bbox is not None else None,
        label.get("source"),
        label.get("source_media_id"),
    )


class LabelPropagation:
    task_type = LABEL_PROPAGATION

    def run(self, context: TaskContext) -> Outcome:
        params = context.params
        classes = set(params["class_names"]) if params.get("class_names") else None
        errors = ErrorSample()
        sources = self._sources(context, [str(m) for m in params["media_ids"]], errors)
        members = self._members(context, {str(r["cluster_id"]) for r in sources.values()})
        changes: dict[str, Record | None] = {}
        propagated = 0
        for source_id, source in sorted(sources.items()):  # same result in any order
            labels = [
                label
                for label in source.get("labels", [])
                if label.get("source") != PROPAGATION
                and (classes is None or label.get("class_name") in classes)
            ]
            copies = [
                {
                    "class_name": label["class_name"],
                    "bbox": label.get("bbox"),
                    "source": PROPAGATION,
                    "source_media_id": source_id,
                }
                for label in labels
            ]
            for member_id, member in members[str(source["cluster_id"])].items():
                if member_id == source_id:
                    continue
                target = changes.get(member_id) or member
                present = {label_identity(label) for label in target.get("labels", [])}
                new = [c for c in copies if label_identity(c) not in present]
                new = list({label_identity(c): c for c in new}.values())
                if new:
                    changes[member_id] = {**target, "labels": [*target.get("labels", []), *new]}
                    propagated += len(new)
        root = context.tree.update(context.content_root, changes)
        message = f"Propagated {propagated} labels to {len(changes)} items."
        if errors.count:
            message += f" {errors.count} source items could not be used; see the task's report."
        report = {
            "propagated_labels": propagated,
            "items_changed": len(changes),
            "error_count": errors.count,
            "errors": errors.sample,
        }
        return Outcome(root=root, status=status_kept(context), message=message, report=report)

    @staticmethod
    def _sources(
        context: TaskContext, media_ids: list[str], errors: ErrorSample
    ) -> dict[str, Record]:
        sources: dict[str, Record] = {}
        for media_id in dict.fromkeys(media_ids):
            record = context.tree.get(context.content_root, media_id)
            if record is None:
                errors.add(media_id=media_id, detail="the item is not in the dataset")
            elif not record.get("cluster_id"):
                errors.add(
                    media_id=media_id,
                    detail="the item has no cluster; re-index the dataset to cluster new media",
                )
            else:
                sources[media_id] = record
        return sources

    @staticmethod
    def _members(context: TaskContext, clusters: set[str]) -> dict[str, dict[str, Record]]:
        """The items of each of ``clusters``, in one pass over the content."""
        members: dict[str, dict[str, Record]] = {cluster: {} for cluster in clusters}
        if not clusters:
            return members
        total = context.tree.counts(context.content_root).items
        for number, (media_id, record) in enumerate(context.tree.items(context.content_root), 1):
            cluster = record.get("cluster_id")
            if cluster is not None and str(cluster) in members:
                members[str(cluster)][media_id] = record
            context.tick(
                number,
                total,
                f"Looked through {number} of {total} items for cluster members.",
                share=90,
            )
        return members
