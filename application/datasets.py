"""The Datasets application: every command on datasets, their checkpoints and their tasks.

Commands load a dataset, let it decide, save, and return their result and the position of
their last event (for read-your-writes); queries return plain details objects
(``application.details``), never the aggregate. Conflicting saves are re-decided on a fresh
load, never blindly re-applied; commands on one dataset are serialised inside a process by a
lock.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, TypeVar
from uuid import UUID, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, MutableOrImmutableAggregate
from eventsourcing.persistence import IntegrityError

from application.actor import Actor
from application.decisions import Also, now
from application.details import (
    ClonePreview,
    DatasetDetails,
    SnapshotDetails,
    Written,
    dataset_details,
    snapshot_details,
)
from application.ports import TaskQuota
from application.task_runs import TaskRuns
from application.users import UsersMixin
from application.version_diff import VersionDiffs
from domain.access import Role
from domain.checkpoints import Checkpoint
from domain.content_tree import ContentTree, NodeStore, Record
from domain.dataset import Dataset
from domain.dataset_events import task_starters
from domain.errors import Conflict, DatasetNotFound
from domain.ids import NAMESPACE, dataset_id_for_clone
from domain.status import Operation
from domain.tasks import CREATION
from domain.version import Version

T = TypeVar("T")
_ATTEMPTS = 8


class _Locks:
    """One re-entrant lock per aggregate id, created on first use."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[UUID, threading.RLock] = {}

    def __call__(self, aggregate_id: UUID) -> threading.RLock:
        with self._guard:
            return self._locks.setdefault(aggregate_id, threading.RLock())


class Datasets(UsersMixin, VersionDiffs, TaskRuns, Application[UUID]):
    name = "snapset"
    snapshotting_intervals: ClassVar[dict[type[MutableOrImmutableAggregate[Any]], int]] = {
        Dataset: 100
    }

    def __init__(
        self,
        *,
        nodes: NodeStore,
        env: dict[str, str] | None = None,
        quota: TaskQuota | None = None,
    ) -> None:
        super().__init__(env=env)
        self.tree = ContentTree(nodes)
        self.quota = quota  # asked before any save that starts a task (None: no limit)
        self._locks = _Locks()
        self.on_saved: Callable[[], None] | None = None

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        recordings = super().save(*objs, **kwargs)
        if self.on_saved is not None:
            self.on_saved()
        return recordings

    # Queries.

    def get_dataset(
        self,
        actor: Actor,
        dataset_id: UUID,
        *,
        need: Role = Role.VIEWER,
        snapshots: bool = False,
    ) -> DatasetDetails:
        """The dataset as the actor may see it: DatasetNotFound when they have no role on
        it, Forbidden when it is below ``need``; with ``snapshots``, SnapshotsDisabled unless
        its snapshots may be read."""
        dataset = self._read(actor, dataset_id, need)
        if snapshots:
            dataset.require_snapshots(Operation.READ_SNAPSHOTS)
        return dataset_details(dataset, _role(dataset, actor))

    def get_version(self, actor: Actor, dataset_id: UUID, name: str) -> Version:
        """``current`` or a live snapshot's id (SnapshotNotFound for anything else)."""
        return self._read(actor, dataset_id).version_named(name)

    def preview_clone(self, actor: Actor, dataset_id: UUID, snapshot_id: UUID) -> ClonePreview:
        """What cloning a snapshot would create, by the real guard on a copy never saved."""
        trial = copy.deepcopy(self._read(actor, dataset_id, Role.EDITOR))
        record = trial.request_clone(str(uuid4()), str(snapshot_id), uuid4(), actor.email)
        version = record["version"]
        name = Dataset.clone_name(trial.name)
        return ClonePreview(name, snapshot_id, version["n_images"], version["n_videos"])

    def liveness(self, dataset_id: UUID) -> tuple[set[str], set[str]]:
        """What garbage collection must keep of a dataset: (content roots, open task ids)."""
        dataset = self._load(dataset_id)
        return dataset.live_roots(), {t["task_id"] for t in dataset.running_tasks()}

    def position(self) -> int:
        return self.recorder.max_notification_id() or 0

    # Dataset commands.

    def create_dataset(
        self,
        actor: Actor,
        name: str,
        description: str = "",
        *,
        snapshot_support: bool = True,
        source: dict[str, Any] | None = None,
        dataset_id: UUID | None = None,
    ) -> Written[UUID]:
        """Create a dataset (and its creation task when it has a source); idempotent by id."""
        dataset = Dataset.new(
            id=dataset_id or uuid4(),
            name=name,
            description=description,
            owner_id=actor.user_id,
            owner_email=actor.email,
            source_type=(source or {}).get("source", "empty"),
            snapshot_support=snapshot_support,
            source_dataset_id=None,
            at=now(),
        )
        if source is not None:
            task_id = str(creation_task_id(dataset.id))
            dataset.start_operation(task_id, CREATION, actor.email, source, now())
        try:
            return Written(dataset.id, self._save(dataset))
        except IntegrityError:
            existing = self.get_dataset(actor, dataset.id)
            return Written(existing.id, self.position())

    def share_dataset(self, actor: Actor, dataset_id: UUID, user_email: str, role: str) -> int:
        def decide(dataset: Dataset) -> None:
            # Only an owner learns whether the email is a user's: anyone else is refused
            # (404 or 403) the same way for a known and an unknown email.
            user = self.get_user_by_email(user_email)
            dataset.share(str(user.id), user.email, role, actor.email)

        return self._change(actor, dataset_id, decide, need=Role.OWNER).position

    # Checkpoint ("snapshot") commands.

    def create_snapshot(
        self,
        actor: Actor,
        dataset_id: UUID,
        name: str = "",
        description: str = "",
        snapshot_id: UUID | None = None,
    ) -> Written[SnapshotDetails]:
        checkpoint_id = str(snapshot_id or uuid4())

        def decide(dataset: Dataset) -> SnapshotDetails:
            dataset.create_checkpoint(checkpoint_id, name, description, actor.email, now())
            return snapshot_details(dataset, checkpoint_id)

        return self._change(actor, dataset_id, decide)

    def update_snapshot(
        self,
        actor: Actor,
        dataset_id: UUID,
        snapshot_id: UUID,
        name: str | None,
        description: str | None,
    ) -> Written[SnapshotDetails]:
        def decide(dataset: Dataset) -> SnapshotDetails:
            dataset.update_checkpoint(str(snapshot_id), name, description, actor.email)
            return snapshot_details(dataset, str(snapshot_id))

        return self._change(actor, dataset_id, decide)

    def delete_snapshot(self, actor: Actor, dataset_id: UUID, snapshot_id: UUID) -> int:
        return self._change(
            actor, dataset_id, lambda d: d.delete_checkpoint(str(snapshot_id), actor.email)
        ).position

    def restore_snapshot(
        self, actor: Actor, dataset_id: UUID, snapshot_id: str, task_id: UUID | None = None
    ) -> Written[UUID]:
        """Start restoring a checkpoint id or ``current``; returns the task id."""
        task = task_id or uuid4()
        position = self._change(
            actor, dataset_id, lambda d: d.start_restore(str(task), snapshot_id, actor.email, now())
        ).position
        return Written(task, position)

    def clone_snapshot(
        self, actor: Actor, dataset_id: UUID, snapshot_id: UUID, task_id: UUID | None = None
    ) -> tuple[UUID, UUID, int]:
        """Start cloning a checkpoint into a new dataset; returns (task id, new dataset id)."""
        task = str(task_id or uuid4())
        clone_id = dataset_id_for_clone(task)

        def decide(source: Dataset) -> Also:
            record = source.request_clone(task, str(snapshot_id), clone_id, actor.email)
            if self._exists(clone_id):
                return Also()
            clone = _new_clone(source, record, actor, clone_id)
            clone.start_clone(task, record, actor.email, now())
            return Also([clone])

        return UUID(task), clone_id, self._change(actor, dataset_id, decide).position

    # Task commands.

    def abort_task(self, actor: Actor, dataset_id: UUID, task_id: UUID) -> int:
        def decide(dataset: Dataset) -> Also:
            return self._end_task(
                dataset, str(task_id), lambda: dataset.abort_task(str(task_id), actor.email)
            )

        return self._change(actor, dataset_id, decide).position

    def retry_task(self, actor: Actor, dataset_id: UUID, task_id: UUID) -> int:
        return self._change(
            actor, dataset_id, lambda d: d.retry_task(str(task_id), now(), actor.email)
        ).position

    def start_operation(
        self,
        actor: Actor,
        dataset_id: UUID,
        task_type: str,
        params: dict[str, Any],
        task_id: UUID | None = None,
    ) -> Written[UUID]:
        task = task_id or uuid4()
        position = self._change(
            actor,
            dataset_id,
            lambda d: d.start_operation(str(task), task_type, actor.email, params, now()),
        ).position
        return Written(task, position)

    def edit_items(
        self,
        actor: Actor,
        dataset_id: UUID,
        edit: Callable[[DatasetDetails], Mapping[str, Record | None]],
        summary: str,
    ) -> int:
        """Apply a small synchronous content edit: ``edit`` maps the dataset, freshly loaded
        for each decision, to the items it changes (None removes one)."""

        def decide(dataset: Dataset) -> None:
            changes = edit(dataset_details(dataset, _role(dataset, actor)))
            root = self.tree.update(dataset.current["root"], changes)
            counts = self.tree.counts(root)
            dataset.edit_content(root, counts.images, counts.videos, summary, actor.email)

        return self._change(actor, dataset_id, decide).position

    def start_export(
        self,
        actor: Actor,
        dataset_id: UUID,
        snapshot: str | None,
        include_media: bool,
        task_id: UUID | None = None,
    ) -> Written[UUID]:
        """Start exporting a version (a read: the viewer role is enough); it blocks nothing."""
        task = task_id or uuid4()

        def decide(dataset: Dataset) -> None:
            version = dataset.version_named(snapshot or "current")
            params = {
                "root": version["root"],
                "snapshot_id": snapshot,
                "include_media": include_media,
                "facets": version["facets"],
            }
            dataset.start_export(str(task), actor.email, params, now())

        return Written(task, self._change(actor, dataset_id, decide, need=Role.VIEWER).position)

    # Plumbing.

    def _load(self, dataset_id: UUID) -> Dataset:
        """A private copy of the dataset. Under the dataset's lock: the library fast-forwards
        its cached copy in place and copies it outside its own lock, so without ours a
        reader could copy a half-applied event."""
        try:
            with self._locks(dataset_id):
                dataset = self.repository.get(dataset_id, projector_func=_project)
        except AggregateNotFoundError:
            raise DatasetNotFound(dataset_id) from None
        if not isinstance(dataset, Dataset):
            raise DatasetNotFound(dataset_id)
        return dataset

    def _read(self, actor: Actor, dataset_id: UUID, need: Role = Role.VIEWER) -> Dataset:
        """A private copy of the dataset, if ``actor`` has at least the role ``need`` on it."""
        dataset = self._load(dataset_id)
        dataset.check_access(actor.user_id, need, is_admin=actor.is_admin)
        return dataset

    def _exists(self, aggregate_id: UUID) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def _change(
        self,
        actor: Actor,
        dataset_id: UUID,
        decide: Callable[[Dataset], T],
        *,
        need: Role = Role.EDITOR,
    ) -> Written[T]:
        """Check the actor has the role ``need`` on the dataset, then decide and save it."""

        def checked(dataset: Dataset) -> T:
            dataset.check_access(actor.user_id, need, is_admin=actor.is_admin)
            return decide(dataset)

        return self._retrying(dataset_id, checked)

    def _system(self, dataset_id: UUID, decide: Callable[[Dataset], T]) -> T:
        return self._retrying(dataset_id, decide).result

    def _retrying(self, dataset_id: UUID, decide: Callable[[Dataset], T]) -> Written[T]:
        """Load, decide, save; on a conflicting save, reload and decide again.

        ``decide`` may return ``Also(...)``: other aggregates to save in the same transaction.
        """
        with self._locks(dataset_id):
            for _ in range(_ATTEMPTS):
                dataset = self._load(dataset_id)
                result = decide(dataset)
                extra = result if isinstance(result, Also) else Also()
                mine = list(dataset.pending_events)
                try:
                    return Written(result, self._save(dataset, *extra))
                except IntegrityError:
                    if mine and self._already_stored(mine[0]):
                        return Written(result, self.position())
                    continue
        raise Conflict(f"Dataset {dataset_id} is being changed by others; try again.")

    def _already_stored(self, pending: Any) -> bool:
        """Whether a save that "conflicted" had in fact committed: the database's answer to
        its COMMIT was lost, the recorder retried the insert and met its own events. Such a
        save succeeded; deciding again would store the change twice (a rename) or refuse a
        change that landed (404 for a removal)."""
        mine = self.mapper.to_stored_event(pending)
        stored = self.recorder.select_events(
            mine.originator_id, gt=mine.originator_version - 1, lte=mine.originator_version
        )
        return any((s.topic, s.state) == (mine.topic, mine.state) for s in stored)

    def _save(self, *aggregates: Aggregate) -> int:
        if self.quota is not None:
            starters = set(task_starters([e for a in aggregates for e in a.pending_events]))
            for email in starters:
                self.quota.check(email, self.position())
        recordings = self.save(*aggregates)
        return recordings[-1].notification.id if recordings else self.position()


def _project(aggregate: Any, events: Iterable[Any]) -> Any:
    """The library's project_aggregate without its per-event runtime Protocol check, which
    cost a third of loading a cached dataset."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def _role(dataset: Dataset, actor: Actor) -> str:
    role = dataset.role_of(actor.user_id, is_admin=actor.is_admin)
    if role is None:  # _read refused a stranger already; this only narrows the type
        raise DatasetNotFound(dataset.id)
    return role


def creation_task_id(dataset_id: UUID) -> UUID:
    return uuid5(NAMESPACE, f"creation-task:{dataset_id}")


def _new_clone(source: Dataset, record: Checkpoint, actor: Actor, clone_id: UUID) -> Dataset:
    return Dataset.new(
        id=clone_id,
        name=Dataset.clone_name(source.name),
        description=source.description,
        owner_id=actor.user_id,
        owner_email=actor.email,
        source_type="clone",
        snapshot_support=True,
        source_dataset_id=source.id,
        at=now(),
    )
