"""The steps of ``bench.scale``'s ladder, each run in a fresh process on one store.

``python -m bench.scale --step NAME --state FILE --out FILE`` runs one step: it opens the
store the state file names, does the step through the real application, worker and views,
and writes its figures (seconds, the process's peak and current RSS) as JSON to ``--out``.
A step that needs the views caught up with its own events catches them up after its timed
part and reports that as ``views`` seconds apart. The state file carries what later steps
need (the user, the dataset, its snapshots); a step that changes it writes it back.
"""

from __future__ import annotations

import json
import math
import os
import random
import resource
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4, uuid5

from adapters.enrichment.registry import default_registry
from adapters.http.models_annotations import MAX_BATCH_ITEMS
from adapters.runtime import Runtime, build_runtime
from adapters.settings import Settings
from adapters.views.media_index import MediaIndexView
from adapters.views.task_log import TaskLogView
from application.actor import Actor
from application.datasets import creation_task_id
from application.details import DatasetDetails
from application.worker import Worker
from bench import rebuild as rebuild_bench
from bench.backends import analyze
from bench.image_files import relative_name
from bench.seeding import register_user
from domain.content_tree import ContentTree, Record
from domain.ids import NAMESPACE
from domain.tasks import CUSTOM_METADATA, ENRICHMENT, LABEL_PROPAGATION, REINDEX
from projections.media_index import FieldFilter, MediaFilter, MediaOrder

LEASE_SECONDS = 3600.0  # a step's tasks run in its own process; nothing else claims them
REPEAT = 5  # create snapshot and diff: timed calls per figure
TASK_REPEAT = 3  # restore and clone: timed tasks per figure
EXPLORE_REPEAT = 20
PAGE_SIZE = 20
TAG_EVERY = 32  # items i % 32 == 5 get the tag "bench-a"
EDITED = 100  # items edited before the diff
SOURCES = 10  # labelled items whose clusters label propagation fills
CAMERAS = ("alpha", "beta", "gamma", "delta", "epsilon")
EVERYTHING, BY_NAME = MediaFilter(), MediaOrder()


class StepFailed(Exception):
    """The step could not do what it measures; the message goes in its row."""


@dataclass
class State:
    """What the steps of one (backend, size) share, kept as JSON beside the media."""

    n: int
    data_dir: str
    database_url: str
    import_root: str
    folder: str
    user_id: str = ""
    email: str = ""
    api_key: str = ""
    api_secret: str = ""
    dataset_id: str = ""
    snapshots: list[str] = field(default_factory=list)
    edited_snapshot: str = ""

    @classmethod
    def load(cls, path: Path) -> State:
        return cls(**json.loads(path.read_text()))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    def settings(self) -> Settings:
        return Settings(
            data_dir=Path(self.data_dir),
            database_url=self.database_url,
            import_root=Path(self.import_root),
            lease_seconds=LEASE_SECONDS,
        )


# What a process weighs.


def peak_mb() -> float:
    """This process's peak resident set so far (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_mb() -> float:
    resident = int(Path("/proc/self/statm").read_text().split()[1])
    return resident * os.sysconf("SC_PAGE_SIZE") / 2**20


def process_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident set of another process, from /proc/<pid>/status."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found["VmRSS"], found["VmHWM"]


def percentile_ms(samples: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of samples in seconds, in milliseconds."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] * 1000


# The explore queries, in process and over HTTP.


@dataclass(frozen=True)
class Query:
    name: str
    http: dict[str, str]  # the query string GET .../media (or .../clusters) takes
    where: MediaFilter = EVERYTHING
    order: MediaOrder = BY_NAME
    page: int = 1
    clusters: bool = False


def explore_queries(n: int) -> list[Query]:
    deep = min(100, math.ceil(n / PAGE_SIZE))
    score = FieldFilter("score", gte=10.0, lte=11.0)
    return [
        Query("page 1 by file name", {}),
        Query("tag filter (1 in 32)", {"tag": "bench-a"}, MediaFilter(tags=("bench-a",))),
        Query(
            "metadata range (score 10..11, 1%)",
            {"meta.score.gte": "10", "meta.score.lte": "11"},
            MediaFilter(fields=(score,)),
        ),
        Query(
            "metadata equals (camera, 1 in 5)",
            {"meta.camera": "beta"},
            MediaFilter(fields=(FieldFilter("camera", "beta"),)),
        ),
        Query("file name contains '123'", {"q": "123"}, MediaFilter(name_contains="123")),
        Query(
            "by size desc",
            {"sort_by": "size", "sort_order": "desc"},
            order=MediaOrder("size", True),
        ),
        Query("deep page by file name (100, or the last)", {"page": str(deep)}, page=deep),
        Query("clusters page 1", {}, clusters=True),
    ]


# The steps.


class Ladder:
    """One step's process: the runtime on the store, the bench's user, its dataset."""

    def __init__(self, runtime: Runtime, state: State) -> None:
        self.rt = runtime
        self.app = runtime.app
        self.state = state
        self.actor = Actor(state.user_id, state.email, is_admin=True)
        media, tasks = runtime.backend.views["media_index"], runtime.backend.views["task_log"]
        assert isinstance(media, MediaIndexView)
        assert isinstance(tasks, TaskLogView)
        self.media, self.tasks = media, tasks
        self._creation: str | None = None

    @property
    def dataset_id(self) -> UUID:
        if not self.state.dataset_id:
            raise StepFailed("no dataset: the ingest did not finish")
        return UUID(self.state.dataset_id)

    def dataset(self, dataset_id: UUID | None = None) -> DatasetDetails:
        return self.app.get_dataset(self.actor, dataset_id or self.dataset_id)

    def media_id(self, i: int) -> str:
        """Image ``i``'s media id, as the creation task derives it from its file name."""
        if self._creation is None:
            self._creation = str(creation_task_id(self.dataset_id))
        return str(uuid5(NAMESPACE, f"media:{self._creation}:{relative_name(i)}"))

    def run_task(self, dataset_id: UUID, task_id: UUID | str) -> float:
        """Run the task with a worker in this process; its seconds, claim to publish."""
        worker = Worker(
            self.app, self.rt.worker.queue, self.rt.worker.operations, lease_seconds=LEASE_SECONDS
        )
        started = time.perf_counter()
        worker.run_task(dataset_id, str(task_id))
        seconds = time.perf_counter() - started
        final = self.dataset(dataset_id).finished_tasks.get(str(task_id))
        if final != "COMPLETED":
            row = self.task_row(task_id)
            raise StepFailed(f"the task ended {final}: {row.get('error_message') or '?'}")
        return seconds

    def task_row(self, task_id: UUID | str) -> dict[str, Any]:
        self.rt.projectors["task_log"].catch_up()
        return dict(self.tasks.get(None, str(task_id)) or {})

    def catch_up(self, figures: dict[str, Any]) -> None:
        """Bring every view up to date after a timed part: its seconds as ``views`` and
        the peak RSS after it as ``views_peak_mb``."""
        started = time.perf_counter()
        self.rt.catch_up()
        figures["views"] = time.perf_counter() - started
        figures["views_peak_mb"] = peak_mb()

    def operation(self, task_type: str, params: dict[str, Any], task_id: UUID | None = None) -> Any:
        """Start an operation task and run it; its seconds, then the views' catch-up."""
        task, _ = self.app.start_operation(self.actor, self.dataset_id, task_type, params, task_id)
        seconds = self.run_task(self.dataset_id, task)
        figures: dict[str, Any] = {"seconds": seconds, "peak_mb": peak_mb()}
        figures["rss_mb"] = current_mb()
        self.catch_up(figures)
        figures["note"] = str(self.task_row(task).get("status_message") or "")
        return figures

    def edit(self, changes: Callable[[str], dict[str, Record | None]], summary: str) -> float:
        """An ``edit_items`` command whose changes are made from the current root."""
        started = time.perf_counter()
        self.app.edit_items(
            self.actor,
            self.dataset_id,
            lambda dataset: changes(dataset.current["root"]),
            summary,
        )
        return time.perf_counter() - started

    def changed(self, root: str, ids: list[str], change: Callable[[Record], Record]) -> Any:
        found = {}
        for media_id in ids:
            record = self.app.tree.get(root, media_id)
            if record is None:
                raise StepFailed(f"item {media_id} is not in the dataset")
            found[media_id] = change(record)
        return found


def ingest(ladder: Ladder) -> dict[str, Any]:
    app, state = ladder.app, ladder.state
    user = register_user(app, admin=True)
    state.user_id, state.email = user.actor.user_id, user.actor.email
    state.api_key, state.api_secret = user.api_key, user.api_secret
    ladder.actor = user.actor
    source = {"source": "path", "path": state.folder}
    dataset_id, _ = app.create_dataset(user.actor, f"scale {state.n}", source=source)
    state.dataset_id = str(dataset_id)
    seconds = ladder.run_task(dataset_id, creation_task_id(dataset_id))
    items = ladder.dataset().current["n_images"]
    if items != state.n:
        raise StepFailed(f"ingested {items} of {state.n} images")
    return {"seconds": seconds, "items_per_s": items / seconds}


def index(ladder: Ladder) -> dict[str, Any]:
    views = {}
    for name, projector in ladder.rt.projectors.items():
        started = time.perf_counter()
        projector.catch_up()
        views[name] = time.perf_counter() - started
    return {"seconds": sum(views.values()), "by_view": views}


ENRICH_MODEL = "PERCEPTUAL_HASH"


def model_rate(paths: list[Path], passes: int = 3) -> float:
    """Items/s of the ladder's enrichment model run on each file in one thread, nothing
    else (best of ``passes``): the rate enrichment is judged against."""
    model = default_registry().default(ENRICH_MODEL)
    best = math.inf
    for _ in range(passes):
        started = time.perf_counter()
        for path in paths:
            model.run(path, {})
        best = min(best, time.perf_counter() - started)
    return len(paths) / best


def enrich(ladder: Ladder) -> dict[str, Any]:
    model = default_registry().default(ENRICH_MODEL)
    figures: dict[str, Any] = ladder.operation(
        ENRICHMENT, {"models": {model.model_type: model.model_id}}
    )
    return figures


def reindex(ladder: Ladder) -> dict[str, Any]:
    figures: dict[str, Any] = ladder.operation(REINDEX, {"threshold": 8})
    return figures


def metadata(ladder: Ladder) -> dict[str, Any]:
    """A CUSTOM_METADATA task over a staged JSON file of one row per item, as the HTTP route
    stages a request's rows: a float ``score`` (0 to 100) and an enum ``camera``."""
    task_id = uuid4()
    folder = ladder.rt.staging.folder(str(task_id))
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "rows.json").open("w") as rows:  # row by row: this process holds none
        rows.write("[")
        for i in range(ladder.state.n):
            row = {"media_id": ladder.media_id(i), "score": i * 7919 % 10_000 / 100}
            row["camera"] = CAMERAS[i % 5]
            rows.write(("," if i else "") + json.dumps(row))
        rows.write("]")
    schema = {"score": "float", "camera": {"type": "enum", "options": list(CAMERAS)}}
    params = {"file": "rows.json", "format": "json", "key": "media_id", "schema": schema}
    figures: dict[str, Any] = ladder.operation(CUSTOM_METADATA, params, task_id)
    return figures


def tag(ladder: Ladder) -> dict[str, Any]:
    """Tag one item in 32 and label the first of ``SOURCES`` near-duplicate pairs, with
    ``edit_items``: the tags in commands of at most ``MAX_BATCH_ITEMS``, as a client of
    ``POST .../media/tags`` must send them, the labels in one."""
    n = ladder.state.n
    tagged = [ladder.media_id(i) for i in range(5, n, TAG_EVERY)]

    def tagging(batch: list[str]) -> Callable[[str], dict[str, Record | None]]:
        return lambda root: ladder.changed(root, batch, lambda r: {**r, "tags": ["bench-a"]})

    seconds = sum(
        ladder.edit(tagging(tagged[start : start + MAX_BATCH_ITEMS]), "bench: tag")
        for start in range(0, len(tagged), MAX_BATCH_ITEMS)
    )
    label = {"class_name": "bench", "bbox": None, "source": "bench", "source_media_id": None}
    sources = [ladder.media_id(10 * k) for k in range(SOURCES)]
    ladder.edit(
        lambda root: ladder.changed(root, sources, lambda r: {**r, "labels": [label]}),
        "bench: label",
    )
    figures: dict[str, Any] = {"seconds": seconds, "items": len(tagged), "peak_mb": peak_mb()}
    figures["rss_mb"] = current_mb()
    ladder.catch_up(figures)
    return figures


def explore(ladder: Ladder) -> dict[str, Any]:
    """Each query as GET .../media (or .../clusters) runs it below HTTP: the version's root
    from the aggregate, the numeric fields of a range, the tree's counts, one search."""
    analyze(ladder.state.settings())  # PostgreSQL: as autovacuum would after the bulk loads
    root = ladder.app.get_version(ladder.actor, ladder.dataset_id, "current")["root"]
    if not ladder.media.has_root(root):
        raise StepFailed("the media index has not indexed the current version")
    results = {}
    for query in explore_queries(ladder.state.n):
        samples: list[float] = []
        matching = 0
        for attempt in range(EXPLORE_REPEAT + 1):  # the first is a warm-up
            started = time.perf_counter()
            matching = _run_query(ladder, query)
            if attempt:
                samples.append(time.perf_counter() - started)
        results[query.name] = {
            "p50_ms": percentile_ms(samples, 0.5),
            "p99_ms": percentile_ms(samples, 0.99),
            "matching": matching,
        }
    return {"queries": results}


def _run_query(ladder: Ladder, query: Query) -> int:
    app, view = ladder.app, ladder.media
    root = app.get_version(ladder.actor, ladder.dataset_id, "current")["root"]
    if query.clusters:
        return view.clusters(root, query.page, PAGE_SIZE)[1]
    view.numeric_fields(root, {f.field for f in query.where.fields if f.gte is not None})
    counts = app.tree.counts(root)
    where = query.where
    known = (
        {None: counts.items, "image": counts.images, "video": counts.videos}[where.kind]
        if where.by_kind_only
        else None
    )
    found = view.search(root, where, query.order, query.page, PAGE_SIZE, total=known)
    if found.total and not found.rows:
        raise StepFailed(f"{query.name}: page {query.page} is empty of {found.total}")
    return found.total


def create(ladder: Ladder) -> dict[str, Any]:
    samples = []
    for k in range(REPEAT):
        started = time.perf_counter()
        made = ladder.app.create_snapshot(ladder.actor, ladder.dataset_id, f"scale {k}")
        samples.append(time.perf_counter() - started)
        ladder.state.snapshots.append(str(made.result.snapshot_id))
    figures = {**_median(samples), "peak_mb": peak_mb(), "rss_mb": current_mb()}
    ladder.catch_up(figures)  # so the next step's catch-up is its own
    return figures


def diff(ladder: Ladder) -> dict[str, Any]:
    """Edit ``EDITED`` items, then compare the last snapshot with the current content,
    each time on a cold node cache (a fresh ContentTree)."""
    if not ladder.state.snapshots:
        raise StepFailed("no snapshot: create did not finish")
    picked = random.Random(ladder.state.n).sample(range(ladder.state.n), EDITED)
    ids = [ladder.media_id(i) for i in picked]
    edit = ladder.edit(
        lambda root: ladder.changed(root, ids, lambda r: {**r, "tags": ["bench-edited"]}),
        "bench: edit",
    )
    made = ladder.app.create_snapshot(ladder.actor, ladder.dataset_id, "edited")
    ladder.state.edited_snapshot = str(made.result.snapshot_id)
    snapshot = ladder.state.snapshots[-1]
    samples = []
    for _ in range(REPEAT):
        ladder.app.tree = ContentTree(ladder.rt.backend.nodes)
        started = time.perf_counter()
        found = ladder.app.compare_versions(
            ladder.actor, ladder.dataset_id, snapshot, "current", 1, 50
        )
        samples.append(time.perf_counter() - started)
        if found.page.total != EDITED:
            raise StepFailed(f"the diff found {found.page.total} changes, not {EDITED}")
    figures = {**_median(samples), "edit_seconds": edit, "peak_mb": peak_mb()}
    figures["rss_mb"] = current_mb()
    ladder.catch_up(figures)  # the edit's leaves, so the restore's catch-up is its own
    return figures


def restore(ladder: Ladder) -> dict[str, Any]:
    """Restore the last snapshot and the edited one in turn, each to COMPLETED."""
    if not ladder.state.edited_snapshot:
        raise StepFailed("no snapshots to restore: diff did not finish")
    targets = [ladder.state.snapshots[-1], ladder.state.edited_snapshot]
    samples = []
    for k in range(TASK_REPEAT):
        started = time.perf_counter()
        task, _ = ladder.app.restore_snapshot(ladder.actor, ladder.dataset_id, targets[k % 2])
        ladder.run_task(ladder.dataset_id, task)
        samples.append(time.perf_counter() - started)
    figures = {**_median(samples), "peak_mb": peak_mb(), "rss_mb": current_mb()}
    ladder.catch_up(figures)
    return figures


def clone(ladder: Ladder) -> dict[str, Any]:
    """Clone the last snapshot to COMPLETED; then the views catch up (timed apart) and the
    clone's first page must hold every item."""
    if not ladder.state.snapshots:
        raise StepFailed("no snapshot: create did not finish")
    samples, views = [], []
    for _ in range(TASK_REPEAT):
        started = time.perf_counter()
        task, clone_id, _ = ladder.app.clone_snapshot(
            ladder.actor, ladder.dataset_id, UUID(ladder.state.snapshots[-1])
        )
        ladder.run_task(clone_id, task)
        samples.append(time.perf_counter() - started)
        caught: dict[str, Any] = {}
        ladder.catch_up(caught)
        views.append(caught["views"])
        root = ladder.app.get_version(ladder.actor, clone_id, "current")["root"]
        known = ladder.app.tree.counts(root).items  # as GET .../media does
        rows, total = ladder.media.items(str(clone_id), "current", 1, PAGE_SIZE, total=known)
        if not rows or total != ladder.state.n:
            raise StepFailed(f"the clone lists {total} items, not {ladder.state.n}")
    return {**_median(samples), "views_ms": statistics.median(views) * 1000}


def export(ladder: Ladder) -> dict[str, Any]:
    task, _ = ladder.app.start_export(ladder.actor, ladder.dataset_id, None, False)
    seconds = ladder.run_task(ladder.dataset_id, task)
    report = json.loads(str(ladder.task_row(task).get("report") or "{}"))
    return {"seconds": seconds, "bytes": report.get("bytes")}


def propagate(ladder: Ladder) -> dict[str, Any]:
    sources = [ladder.media_id(10 * k) for k in range(SOURCES)]
    figures: dict[str, Any] = ladder.operation(
        LABEL_PROPAGATION, {"media_ids": sources, "class_names": None}
    )
    return figures


def rebuild(ladder: Ladder) -> dict[str, Any]:
    """``snapset rebuild``: every view cleared and replayed from the start of the log."""
    wall, views = rebuild_bench.rebuild(ladder.state.settings())
    return {"seconds": wall, "by_view": {name: s for name, (_, s) in views.items()}}


def recover(ladder: Ladder) -> dict[str, Any]:
    """After a step was stopped: abort the task it left running, so the next steps can
    start theirs."""
    task = ladder.dataset().active_task
    if task is not None:
        ladder.app.abort_task(ladder.actor, ladder.dataset_id, UUID(task["task_id"]))
    return {"aborted": None if task is None else task["task_type"]}


def _median(samples: list[float]) -> dict[str, Any]:
    return {
        "median_ms": statistics.median(samples) * 1000,
        "samples_ms": [s * 1000 for s in samples],
    }


STEPS: Mapping[str, Callable[[Ladder], dict[str, Any]]] = {
    "ingest": ingest,
    "index": index,
    "enrich": enrich,
    "reindex": reindex,
    "metadata": metadata,
    "tag": tag,
    "explore": explore,
    "create": create,
    "diff": diff,
    "restore": restore,
    "clone": clone,
    "export": export,
    "propagate": propagate,
    "rebuild": rebuild,
    "recover": recover,
}


def run_step(name: str, state_path: Path, out: Path) -> None:
    """Run one step in this process and write its figures to ``out``."""
    state = State.load(state_path)
    runtime = build_runtime(state.settings())
    try:
        base = current_mb()
        figures = STEPS[name](Ladder(runtime, state))
        figures.setdefault("peak_mb", peak_mb())
        figures.setdefault("rss_mb", current_mb())
        figures["base_mb"] = base
        state.save(state_path)
        out.write_text(json.dumps(figures))
    finally:
        runtime.close()
