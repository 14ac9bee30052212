"""The media index: search over any version of a dataset without undoing the tree's O(1).

Each immutable leaf of the content tree is indexed once (its items' searchable fields, keyed
by leaf hash). Each indexed root maps to its set of leaves, and each dataset version (its
current content and every checkpoint) maps to a root. So a checkpoint, a restore or a clone
writes one mapping row; only content that never existed before costs index work, and that
work is proportional to the leaves it changed (found by diffing against the previous root).
"""

from __future__ import annotations

from typing import Any, Protocol

from domain.content_tree import ContentTree, NodeMissing, Record
from projections.events import event_name, new_content

CURRENT = "current"
_BATCH = 256


class MediaIndexWriter(Protocol):
    def version_root(self, dataset_id: str, version: str) -> str | None: ...

    def set_version(self, dataset_id: str, version: str, root: str) -> None: ...

    def drop_version(self, dataset_id: str, version: str) -> None: ...

    def has_root(self, root: str) -> bool: ...

    def derive_root(self, root: str, base: str, removed: set[str], added: set[str]) -> None:
        """Index ``root`` as ``base``'s leaves less ``removed`` plus ``added``."""
        ...

    def add_root(self, root: str, leaves: set[str]) -> None: ...

    def missing_leaves(self, leaves: list[str]) -> set[str]:
        """Those of ``leaves`` not indexed yet."""
        ...

    def add_leaves(self, leaves: dict[str, tuple[tuple[str, Record], ...]]) -> None: ...


class MediaIndexProjection:
    name = "media_index"

    def __init__(self, tree: ContentTree) -> None:
        self._tree = tree

    def process(self, event: Any, position: int, writer: MediaIndexWriter) -> None:
        name = event_name(event)
        dataset_id = str(event.originator_id)
        content = new_content(event)
        if content is not None:
            self._index_root(writer, content[0], writer.version_root(dataset_id, CURRENT))
            writer.set_version(dataset_id, CURRENT, content[0])
        if name == "SnapshotCreated" or (name == "OperationCompleted" and event.checkpoint_id) \
                or name == "CloneCompleted":
            self._index_root(writer, event.root, writer.version_root(dataset_id, CURRENT))
            writer.set_version(dataset_id, event.checkpoint_id, event.root)
        elif name == "SnapshotSoftDeleted":
            writer.drop_version(dataset_id, event.checkpoint_id)

    def _index_root(self, writer: MediaIndexWriter, root: str, base: str | None) -> None:
        if writer.has_root(root):
            return
        if base is not None and writer.has_root(base):
            try:
                added, removed = self._tree.diff_leaves(base, root)
            except NodeMissing:
                pass  # garbage collection removed the base: index the new root in full
            else:
                self._index_leaves(writer, added)
                writer.derive_root(root, base, removed, added)
                return
        leaves: set[str] = set()
        try:
            for batch in self._tree.leaf_batches(root):
                leaves.update(leaf for leaf, _ in batch)
                missing = writer.missing_leaves([leaf for leaf, _ in batch])
                writer.add_leaves({leaf: items for leaf, items in batch if leaf in missing})
        except NodeMissing:
            # Garbage collection removed this root (a rebuild after ``gc``): no live version
            # names it any more, and a later event replaces or drops each version that did.
            return
        writer.add_root(root, leaves)

    def _index_leaves(self, writer: MediaIndexWriter, leaves: set[str]) -> None:
        missing = sorted(writer.missing_leaves(sorted(leaves)))
        for start in range(0, len(missing), _BATCH):
            writer.add_leaves(self._tree.leaf_items_many(missing[start:start + _BATCH]))
