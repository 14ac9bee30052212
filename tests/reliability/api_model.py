"""An in-memory model of API.md's rules, for the model-based test (test_model_based.py).

The model holds what a client may know about datasets: roles, status, content (media with
their tags, labels and enrichment outputs), snapshots, the one running task and the clones
in flight. Each command has a *decision* (``decide_*``: the status code API.md gives for this
state, checked in the order roles, feature flag, unknown ids, state) and an *effect*
(``apply_*``: the state after a success). Task effects are applied when the test's held
worker finishes a task (``finish``), never before, so the model always knows whether a task
still runs.

Ids the service makes (datasets, snapshots, tasks, media) are learned from its answers and
passed in; everything else is the model's own prediction. Where API.md is silent, the model
follows the service's documented behaviour (OpenAPI descriptions, module docstrings) and the
choice is named in a comment.

A check that found a bug in the service is marked FINDING-n where it is made (the write-up,
with the minimal failing sequence and the fix, is in /work/notes/proposed-model.diff).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

OWNER, EDITOR, VIEWER = "owner", "editor", "viewer"
ROLES = (OWNER, EDITOR, VIEWER)
_RANK = {VIEWER: 0, EDITOR: 1, OWNER: 2}

DRAFT, INDEXING, READ_ONLY = "DRAFT", "INDEXING", "READ ONLY"
PARTIAL_INDEX, READY, ERROR = "PARTIAL INDEX", "READY", "ERROR"
AFTER_INDEXING = frozenset({READY, PARTIAL_INDEX, ERROR})

CREATION, MEDIA_ADDITION, REINDEX = "DATASET_CREATION", "MEDIA_ADDITION", "REINDEX"
ENRICHMENT, RESTORE, CLONE = "ENRICHMENT", "SNAPSHOT_RESTORE", "SNAPSHOT_CLONE"
FINAL = frozenset({"COMPLETED", "FAILED", "ABORTED"})
HASH_TYPE = "PERCEPTUAL_HASH"
MAX_NAME = 200


class Refusal(NamedTuple):
    code: int
    why: str


OK = Refusal(200, "allowed")


@dataclass(frozen=True)
class Item:
    """One media item as the API shows it (what the model predicts of it)."""

    media_id: str
    kind: str
    file_name: str
    tags: tuple[str, ...] = ()  # sorted, unique
    labels: tuple[str, ...] = ()  # class names of manual, box-less labels, in order
    enrichment: tuple[tuple[str, str], ...] = ()  # sorted (model type, model id)


Content = dict[str, Item]


def counts(content: Content) -> tuple[int, int]:
    images = sum(1 for item in content.values() if item.kind == "image")
    return images, len(content) - images


@dataclass(frozen=True)
class Facets:
    clustered: bool = False
    models: tuple[tuple[str, str], ...] = ()  # sorted (type, id) the dataset applied


@dataclass(frozen=True)
class Upload:
    """A file a test uploads: its name, its kind, and whether it is a readable one."""

    name: str
    kind: str  # "image", "video" or "broken"


@dataclass
class Snapshot:
    snapshot_id: str
    name: str
    description: str
    reason: str
    created_by: str
    content: Content
    status: str  # the status a restore returns to
    facets: Facets
    deleted: bool = False

    @property
    def n_images(self) -> int:
        return counts(self.content)[0]

    @property
    def n_videos(self) -> int:
        return counts(self.content)[1]


@dataclass
class Task:
    task_id: str
    task_type: str
    dataset_id: str
    created_by: str  # email
    status: str = "INITIALIZING"
    status_before: str = ""
    uploads: tuple[Upload, ...] = ()  # creation and media addition
    models: tuple[tuple[str, str], ...] = ()  # enrichment
    snapshot_id: str = ""  # restore: the snapshot; clone: the source snapshot (for reads)
    clone_of: Snapshot | None = None  # clone: a copy of the source snapshot when cloned
    source_dataset_id: str = ""  # clone


@dataclass
class Dataset:
    dataset_id: str
    name: str
    creator: str  # user key
    roles: dict[str, str]
    snapshot_support: bool
    source_type: str
    source_dataset_id: str | None = None
    status: str = DRAFT
    content_status: str = READY  # the status of the content as last published
    content: Content = field(default_factory=dict)
    fatal_error: bool = False
    snapshots: list[Snapshot] = field(default_factory=list)  # in creation order
    current: str | None = None
    active: Task | None = None
    failed_task: Task | None = None
    pending_clones: set[str] = field(default_factory=set)
    facets: Facets = field(default_factory=Facets)
    tasks: list[Task] = field(default_factory=list)  # every task on this dataset

    def role(self, user: str) -> str | None:
        return self.roles.get(user)

    def snapshot(self, snapshot_id: str) -> Snapshot | None:
        return next((s for s in self.snapshots if s.snapshot_id == snapshot_id), None)

    def live(self, snapshot_id: str) -> Snapshot | None:
        found = self.snapshot(snapshot_id)
        return None if found is None or found.deleted else found

    @property
    def restoring(self) -> str | None:
        task = self.active
        return task.snapshot_id if task is not None and task.task_type == RESTORE else None

    @property
    def content_changed(self) -> bool:
        """Whether the content differs from the current snapshot's (no current: it does)."""
        current = self.live(self.current or "")
        return current is None or current.content != self.content

    def listed_snapshots(self) -> list[Snapshot]:
        """What GET .../snapshot lists: the live ones, newest first."""
        return [s for s in reversed(self.snapshots) if not s.deleted]


def default_snapshot_name(dataset_name: str, snapshot_id: str) -> str:
    return f"{dataset_name}_snapshot_{snapshot_id.replace('-', '')[:8]}"


class Model:
    """Every dataset of one test sequence, and the users who act on them."""

    def __init__(
        self,
        emails: dict[str, str],
        enrichment_models: dict[str, tuple[str, str]],
    ) -> None:
        self.emails = emails  # user key -> email
        # model type -> (model id, media kind it applies to), as list_models tells
        self.enrichment_models = enrichment_models
        self.datasets: list[Dataset] = []

    # Lookups.

    def dataset(self, dataset_id: str) -> Dataset:
        return next(d for d in self.datasets if d.dataset_id == dataset_id)

    def running_tasks(self) -> list[Task]:
        return [d.active for d in self.datasets if d.active is not None]

    def all_tasks(self) -> list[Task]:
        return [t for d in self.datasets for t in d.tasks]

    # Decisions shared by every command.

    @staticmethod
    def _may_write(ds: Dataset, user: str, need: str = EDITOR) -> Refusal | None:
        role = ds.role(user)
        if role is None:
            return Refusal(404, "the caller has no role on the dataset")
        if _RANK[role] < _RANK[need]:
            return Refusal(403, f"a {role} may not do this; it needs {need}")
        return None

    @staticmethod
    def _snapshots_on(ds: Dataset) -> Refusal | None:
        return None if ds.snapshot_support else Refusal(403, "snapshots are disabled")

    @staticmethod
    def _idle_in(ds: Dataset, statuses: frozenset[str]) -> Refusal | None:
        if ds.status not in statuses:
            return Refusal(409, f"the dataset is {ds.status}")
        if ds.active is not None:
            return Refusal(409, f"a {ds.active.task_type} task runs")
        return None

    # Datasets.

    @staticmethod
    def decide_create_dataset(name: str) -> Refusal:
        if not name.strip():
            return Refusal(422, "the dataset name is blank")
        return OK

    def apply_create_dataset(
        self,
        dataset_id: str,
        user: str,
        name: str,
        snapshot_support: bool,
        uploads: tuple[Upload, ...],
        task_id: str | None,
    ) -> Dataset:
        ds = Dataset(
            dataset_id=dataset_id,
            name=name.strip(),
            creator=user,
            roles={user: OWNER},
            snapshot_support=snapshot_support,
            source_type="upload" if uploads else "empty",
        )
        if uploads:
            assert task_id is not None
            task = Task(
                task_id,
                CREATION,
                dataset_id,
                self.emails[user],
                uploads=uploads,
                status_before=DRAFT,
            )
            ds.active, ds.status = task, INDEXING
            ds.tasks.append(task)
        self.datasets.append(ds)
        return ds

    def decide_share(self, ds: Dataset, user: str, target: str, role: str) -> Refusal:
        refused = self._may_write(ds, user, need=OWNER)
        if refused:
            return refused
        if target == ds.creator and role != OWNER:
            # API.md is silent; the service keeps the creator an owner (409).
            return Refusal(409, "the dataset's creator always keeps the owner role")
        return OK

    @staticmethod
    def apply_share(ds: Dataset, target: str, role: str) -> None:
        ds.roles[target] = role

    # Snapshots.

    def decide_create_snapshot(self, ds: Dataset, user: str, name: str | None) -> Refusal:
        if name is not None and len(name) > MAX_NAME:
            return Refusal(422, "the name is too long")
        return (
            self._may_write(ds, user)
            or self._snapshots_on(ds)
            or self._idle_in(ds, frozenset({READY}))
            or OK
        )

    def apply_create_snapshot(
        self, ds: Dataset, user: str, snapshot_id: str, name: str | None, description: str | None
    ) -> Snapshot:
        return self._take(
            ds,
            snapshot_id,
            (name or "").strip(),
            (description or "").strip(),
            "manual",
            self.emails[user],
        )

    @staticmethod
    def _take(
        ds: Dataset, snapshot_id: str, name: str, description: str, reason: str, by: str
    ) -> Snapshot:
        snapshot = Snapshot(
            snapshot_id,
            name or default_snapshot_name(ds.name, snapshot_id),
            description,
            reason,
            by,
            dict(ds.content),
            ds.content_status,
            ds.facets,
        )
        ds.snapshots.append(snapshot)
        ds.current = snapshot_id
        return snapshot

    def decide_edit_snapshot(
        self, ds: Dataset, user: str, snapshot_id: str, name: str | None, description: str | None
    ) -> Refusal:
        if name is None and description is None:
            return Refusal(422, "neither name nor description given")
        if name is not None and len(name) > MAX_NAME:
            return Refusal(422, "the name is too long")
        refused = self._may_write(ds, user) or self._snapshots_on(ds)
        if refused:
            return refused
        if ds.live(snapshot_id) is None:
            return Refusal(404, "unknown or deleted snapshot")
        if name is not None and not name.strip():
            return Refusal(422, "a snapshot name may not be blank")
        return OK

    @staticmethod
    def apply_edit_snapshot(
        ds: Dataset, snapshot_id: str, name: str | None, description: str | None
    ) -> Snapshot:
        snapshot = ds.live(snapshot_id)
        assert snapshot is not None
        if name is not None:
            snapshot.name = name.strip()
        if description is not None:
            snapshot.description = description.strip()
        return snapshot

    def decide_delete_snapshot(self, ds: Dataset, user: str, snapshot_id: str) -> Refusal:
        refused = self._may_write(ds, user) or self._snapshots_on(ds)
        if refused:
            return refused
        if ds.live(snapshot_id) is None:
            return Refusal(404, "unknown or deleted snapshot")
        if snapshot_id == ds.current:
            return Refusal(409, "the current snapshot cannot be removed")
        if snapshot_id == ds.restoring:
            return Refusal(409, "the snapshot is being restored")
        return OK

    @staticmethod
    def apply_delete_snapshot(ds: Dataset, snapshot_id: str) -> None:
        snapshot = ds.live(snapshot_id)
        assert snapshot is not None
        snapshot.deleted = True

    def decide_restore(self, ds: Dataset, user: str, snapshot_id: str) -> Refusal:
        refused = self._may_write(ds, user) or self._snapshots_on(ds)
        if refused:
            return refused
        target = ds.current if snapshot_id == "current" else snapshot_id
        if target is None or ds.live(target) is None:
            return Refusal(404, "unknown or deleted snapshot")
        refused = self._idle_in(ds, AFTER_INDEXING)
        if refused:
            return refused
        if ds.pending_clones:
            return Refusal(409, "a clone from this dataset runs")
        return OK

    def auto_snapshot_due(self, ds: Dataset) -> bool:
        """Whether starting a restore or an operation now first takes an `auto` snapshot
        (extension: the content it would replace, when no snapshot holds it)."""
        return ds.snapshot_support and ds.content_changed

    def apply_restore(
        self, ds: Dataset, user: str, snapshot_id: str, task_id: str, auto: tuple[str, str] | None
    ) -> Task:
        target = ds.current if snapshot_id == "current" else snapshot_id
        assert target is not None
        self._maybe_auto(ds, user, auto)
        return self._start(
            ds,
            Task(
                task_id,
                RESTORE,
                ds.dataset_id,
                self.emails[user],
                status_before=ds.status,
                snapshot_id=target,
            ),
        )

    def _maybe_auto(self, ds: Dataset, user: str, auto: tuple[str, str] | None) -> None:
        """Take the `auto` snapshot ``auto`` = (its id, its description: the service words
        it) when one is due."""
        assert (auto is not None) == self.auto_snapshot_due(ds)
        if auto is not None:
            self._take(ds, auto[0], "", auto[1], "auto", self.emails[user])

    @staticmethod
    def _start(ds: Dataset, task: Task) -> Task:
        ds.active = task
        ds.tasks.append(task)
        if task.task_type != RESTORE:
            ds.fatal_error = False
        ds.status = READ_ONLY
        return task

    def decide_clone(self, ds: Dataset, user: str, snapshot_id: str) -> Refusal:
        if snapshot_id == "current":
            return Refusal(404, "only restore accepts `current`")
        refused = self._may_write(ds, user) or self._snapshots_on(ds)
        if refused:
            return refused
        if ds.live(snapshot_id) is None:
            return Refusal(404, "unknown or deleted snapshot")
        if ds.status not in AFTER_INDEXING:  # a running task does not block a clone
            return Refusal(409, f"the dataset is {ds.status}")
        return OK

    def apply_clone(
        self, ds: Dataset, user: str, snapshot_id: str, task_id: str, clone_id: str
    ) -> Dataset:
        source = ds.live(snapshot_id)
        assert source is not None
        clone = Dataset(
            dataset_id=clone_id,
            name=f"{ds.name} (cloned)",
            creator=user,
            roles={user: OWNER},
            snapshot_support=True,
            source_type="clone",
            source_dataset_id=ds.dataset_id,
            status=INDEXING,
        )
        task = Task(
            task_id,
            CLONE,
            clone_id,
            self.emails[user],
            status_before=INDEXING,
            snapshot_id=snapshot_id,
            clone_of=replace(source),
            source_dataset_id=ds.dataset_id,
        )
        clone.active = task
        clone.tasks.append(task)
        ds.pending_clones.add(task_id)
        self.datasets.append(clone)
        return clone

    # Data-modifying operations (tasks) and item edits (synchronous).

    def decide_operation(self, ds: Dataset, user: str, *, unknown_model: bool = False) -> Refusal:
        refused = self._may_write(ds, user)
        if refused:
            return refused
        if unknown_model:
            return Refusal(422, "unknown enrichment model")
        return self._idle_in(ds, AFTER_INDEXING) or OK

    def apply_operation(
        self, ds: Dataset, user: str, task: Task, auto: tuple[str, str] | None
    ) -> Task:
        self._maybe_auto(ds, user, auto)
        task.status_before = ds.status
        return self._start(ds, task)

    def decide_edit_items(self, ds: Dataset, user: str, media_ids: list[str]) -> Refusal:
        refused = self._may_write(ds, user)
        if refused:
            return refused
        if any(m not in ds.content for m in media_ids):
            return Refusal(404, "an item is not in the dataset; nothing changes")
        return self._idle_in(ds, AFTER_INDEXING) or OK

    @staticmethod
    def apply_tags(
        ds: Dataset, media_ids: list[str], add: list[str], remove: list[str]
    ) -> list[str]:
        return _edit(
            ds,
            media_ids,
            lambda item: replace(
                item, tags=tuple(sorted((set(item.tags) | set(add)) - set(remove)))
            ),
        )

    @staticmethod
    def apply_labels(ds: Dataset, media_ids: list[str], mode: str, classes: list[str]) -> list[str]:
        given = tuple(dict.fromkeys(classes))

        def change(item: Item) -> Item:
            if mode == "set":
                return replace(item, labels=given)
            if mode == "add":
                return replace(
                    item, labels=item.labels + tuple(c for c in given if c not in item.labels)
                )
            return replace(item, labels=tuple(c for c in item.labels if c not in given))

        return _edit(ds, media_ids, change)

    # Tasks: abort and retry.

    def decide_abort(self, task: Task, user: str) -> Refusal:
        ds = self.dataset(task.dataset_id)
        refused = self._may_write(ds, user)
        if refused:
            return refused
        if task.status in FINAL:
            return Refusal(409, f"the task is already {task.status}")
        return OK

    def apply_abort(self, task: Task) -> None:
        ds = self.dataset(task.dataset_id)
        task.status = "ABORTED"
        ds.active = None
        status = ERROR if task.task_type in (CREATION, CLONE) else task.status_before
        if status == ERROR:
            ds.failed_task, ds.fatal_error = task, True
        ds.status = status
        self._release_source(task)

    def decide_retry(self, task: Task, user: str) -> Refusal:
        ds = self.dataset(task.dataset_id)
        refused = self._may_write(ds, user)
        if refused:
            return refused
        if (
            task.status not in ("FAILED", "ABORTED")
            or task.task_type != CREATION
            or ds.failed_task is not task
        ):
            return Refusal(400, "only a failed or aborted creation task can be retried")
        if ds.active is not None:
            # FINDING-1 (fixed in 0c40e80): no command starts while a task runs on the
            # dataset; a retry used to replace the running task, which then never ended.
            return Refusal(409, f"a {ds.active.task_type} task runs on the dataset")
        return OK

    def apply_retry(self, task: Task) -> None:
        ds = self.dataset(task.dataset_id)
        task.status = "INITIALIZING"
        ds.active, ds.failed_task = task, None
        ds.status, ds.fatal_error = INDEXING, False

    # Tasks: the held worker finishes one.

    def finish(
        self,
        task: Task,
        new_media: dict[str, Upload],
        creation_snapshot: str | None,
        clone_snapshot: str | None,
    ) -> None:
        """Apply the effect of ``task`` finishing. ``new_media`` maps the ids the service
        gave to the files it read; the snapshot ids are those the service listed."""
        ds = self.dataset(task.dataset_id)
        assert ds.active is task
        if task.task_type in (CREATION, MEDIA_ADDITION):
            good = [u for u in task.uploads if u.kind != "broken"]
            if not good:
                self._fail(ds, task)
                return
            content = dict(ds.content)
            for media_id, upload in new_media.items():
                content[media_id] = Item(media_id, upload.kind, upload.name)
            status = (
                READY if task.task_type == CREATION or not ds.facets.clustered else PARTIAL_INDEX
            )
            self._publish(ds, task, content, status, ds.facets)
            if task.task_type == CREATION and ds.snapshot_support:
                assert creation_snapshot is not None
                self._take(ds, creation_snapshot, "", "", "creation", task.created_by)
        elif task.task_type == REINDEX:
            hasher = dict(ds.facets.models).get(HASH_TYPE) or self.enrichment_models[HASH_TYPE][0]
            content, hashed = _enrich(ds.content, {HASH_TYPE: (hasher, "image")})
            models = dict(ds.facets.models)
            if hashed:
                models[HASH_TYPE] = hasher
            self._publish(ds, task, content, READY, Facets(True, tuple(sorted(models.items()))))
        elif task.task_type == ENRICHMENT:
            chosen = {t: (i, self.enrichment_models[t][1]) for t, i in task.models}
            content, _ = _enrich(ds.content, chosen)
            if task.status_before in (READY, PARTIAL_INDEX):
                status = task.status_before
            else:
                status = PARTIAL_INDEX if ds.facets.clustered else READY
            models = {**dict(ds.facets.models), **dict(task.models)}
            self._publish(
                ds,
                task,
                content,
                status,
                Facets(ds.facets.clustered, tuple(sorted(models.items()))),
            )
        elif task.task_type == RESTORE:
            snapshot = ds.snapshot(task.snapshot_id)
            assert snapshot is not None
            self._publish(ds, task, dict(snapshot.content), snapshot.status, snapshot.facets)
            ds.current = snapshot.snapshot_id
        elif task.task_type == CLONE:
            source = task.clone_of
            assert source is not None
            assert clone_snapshot is not None
            self._publish(ds, task, dict(source.content), source.status, source.facets)
            self._take(ds, clone_snapshot, "", source.description, "clone", task.created_by)
            self._release_source(task)
        else:
            raise AssertionError(task.task_type)

    @staticmethod
    def _publish(ds: Dataset, task: Task, content: Content, status: str, facets: Facets) -> None:
        ds.content, ds.status, ds.content_status, ds.facets = content, status, status, facets
        ds.fatal_error = False
        ds.active = None
        task.status = "COMPLETED"

    @staticmethod
    def _fail(ds: Dataset, task: Task) -> None:
        ds.failed_task, ds.status, ds.fatal_error = task, ERROR, True
        ds.active = None
        task.status = "FAILED"

    def _release_source(self, task: Task) -> None:
        if task.task_type == CLONE:
            self.dataset(task.source_dataset_id).pending_clones.discard(task.task_id)


def _edit(ds: Dataset, media_ids: list[str], change: Any) -> list[str]:
    """Apply ``change`` to each item (once, in request order); the ids that changed."""
    content = dict(ds.content)
    changed = []
    for media_id in dict.fromkeys(media_ids):
        new = change(content[media_id])
        if new != content[media_id]:
            content[media_id] = new
            changed.append(media_id)
    ds.content = content
    return changed


def _enrich(content: Content, models: dict[str, tuple[str, str]]) -> tuple[Content, bool]:
    """Each item of a model's kind carries that model's output; whether any item changed."""
    result = dict(content)
    for media_id, item in content.items():
        outputs = dict(item.enrichment)
        for model_type, (model_id, kind) in models.items():
            if item.kind == kind:
                outputs[model_type] = model_id
        enriched = tuple(sorted(outputs.items()))
        if enriched != item.enrichment:
            result[media_id] = replace(item, enrichment=enriched)
    return result, result != content
