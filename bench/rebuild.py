"""Rebuild benchmark: how many events per second ``snapset rebuild`` replays into the views.

Run from the repository root:

    .venv/bin/python -m bench.rebuild [--events N] [--backends sqlite,postgres] [--repeat R]

For each backend (SQLite in a temporary data directory; PostgreSQL in a fresh schema of the
database named by SNAPSET_BENCH_DATABASE_URL, default the local ``test`` database) it writes
a log of about N events (default 20,000) through the real domain and application: datasets
created by a creation task (claimed, progress, completed onto a real content tree), then
rounds of content edits, snapshots created and renamed, shares, restores (with their
automatic checkpoints) and snapshot removals; ~50 events per dataset, ten datasets per save
so that writing the log is quick. The content roots are real trees of synthetic media
records (up to 400 items) in the backend's node store, so the media index does real work.

Then it runs the real ``snapset rebuild`` command (``adapters.cli.main``: every view cleared
and replayed from event 0 in its batches) R times and prints, per view, events and seconds
and events/s as the command reports them, and for all five views together the log's events
divided by the command's wall time. Progress goes to stderr; it never fails on a figure.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import time
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from adapters import cli
from adapters.read_models import VIEW_NAMES
from adapters.runtime import Runtime, build_runtime
from adapters.settings import Settings
from application.actor import Actor
from bench.backends import backend_store, postgres_settings
from bench.options import parse_backends
from bench.reports import load_average, log
from bench.seeding import register_user, synthetic_records
from domain.content_tree import EMPTY_ROOT
from domain.dataset import Dataset
from domain.tasks import CREATION
from domain.version import version_of

DEFAULT_EVENTS = 20_000
EVENTS_PER_DATASET = 50
DATASETS_PER_SAVE = 10
ROOTS = 8
ITEMS_PER_ROOT = 50
WORKER = "bench-worker"
LINE = re.compile(r"^(\w+): (\d+) events in ([\d.]+) s")


def now() -> datetime:
    return datetime.now(UTC)


def content_roots(runtime: Runtime) -> list[tuple[str, int, int]]:
    """ROOTS real trees, each ITEMS_PER_ROOT records bigger than the last: (root, images,
    videos)."""
    tree, root, roots = runtime.app.tree, EMPTY_ROOT, []
    for i in range(ROOTS):
        root = tree.update(root, dict(synthetic_records(f"r{i}", ITEMS_PER_ROOT)))
        counts = tree.counts(root)
        roots.append((root, counts.images, counts.videos))
    return roots


def dataset_story(
    number: int, owner: Actor, other: Actor, roots: list[tuple[str, int, int]]
) -> Dataset:
    """One dataset's history, decided by the domain (its guards run), not yet saved."""
    dataset = Dataset(
        id=uuid4(),
        name=f"bench-{number}",
        description="a benchmark dataset",
        owner_id=owner.user_id,
        owner_email=owner.email,
        source_type="path",
        snapshot_support=True,
        source_dataset_id=None,
        at=now(),
    )
    task = str(uuid4())
    dataset.start_operation(
        task, CREATION, owner.email, {"source": "path", "path": "/bench"}, now()
    )
    lease = now() + timedelta(seconds=30)
    dataset.claim_task(task, WORKER, lease, now())
    dataset.report_progress(task, WORKER, 50, "half way", lease)
    root, images, videos = roots[0]
    result = version_of(root, images, videos, "READY", {})
    dataset.complete_operation(task, WORKER, result, owner.email, now())
    dataset.share(other.user_id, other.email, "editor", owner.email)
    made: list[str] = []
    step = 1
    while len(dataset.pending_events) < EVENTS_PER_DATASET:
        root, images, videos = roots[step % len(roots)]
        dataset.edit_content(root, images, videos, f"edit {step}", other.email)
        checkpoint = str(uuid4())
        dataset.create_checkpoint(checkpoint, f"v{step}", "", owner.email, now())
        dataset.update_checkpoint(checkpoint, f"version {step}", "renamed", owner.email)
        made.append(checkpoint)
        if step % 3 == 0:
            root, images, videos = roots[(step + 1) % len(roots)]
            dataset.edit_content(root, images, videos, "before a restore", other.email)
            restore = str(uuid4())
            dataset.start_restore(restore, made[-2], owner.email, now())
            dataset.claim_task(restore, WORKER, now() + timedelta(seconds=30), now())
            dataset.complete_restore(restore, WORKER)
            dataset.delete_checkpoint(made[-1], owner.email)
        step += 1
    return dataset


def write_log(runtime: Runtime, events: int) -> int:
    app = runtime.app
    owner = register_user(app, "owner@example.com").actor
    other = register_user(app, "other@example.com").actor
    roots = content_roots(runtime)
    number = 0
    while app.position() < events:
        batch = [dataset_story(number + i, owner, other, roots) for i in range(DATASETS_PER_SAVE)]
        number += len(batch)
        app.save(*batch)
        log(f"wrote {app.position():,} events ({number} datasets)")
    return int(app.position())


def rebuild(settings: Settings) -> tuple[float, dict[str, tuple[int, float]]]:
    """Run `snapset rebuild`; its wall time and, per view, (events, seconds) it printed."""
    os.environ["SNAPSET_DATABASE_URL"] = settings.database_url
    out = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out):
        status = cli.main(["rebuild", "--data-dir", str(settings.data_dir)])
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"snapset rebuild exited with {status}")
    views: dict[str, tuple[int, float]] = {}
    for line in out.getvalue().splitlines():
        match = LINE.match(line)
        if match:
            views[match.group(1)] = (int(match.group(2)), float(match.group(3)))
    return wall, views


def measure(backend: str, events: int, repeat: int) -> list[str]:
    rows: list[str] = []
    with backend_store(backend, "rebuild") as settings:
        runtime = build_runtime(settings)
        try:
            started = time.perf_counter()
            total = write_log(runtime, events)
            log(f"{backend}: {total:,} events written in {time.perf_counter() - started:.1f} s")
        finally:
            runtime.close()
        for attempt in range(1, repeat + 1):
            wall, views = rebuild(settings)
            log(f"{backend}: rebuild {attempt}/{repeat} took {wall:.1f} s")
            for name in VIEW_NAMES:
                count, seconds = views[name]
                rows.append(row(backend, attempt, name, count, seconds))
            rows.append(row(backend, attempt, "all five (wall)", total, wall))
    return rows


def row(backend: str, attempt: int, what: str, events: int, seconds: float) -> str:
    rate = events / max(seconds, 1e-9)
    return (
        f"| {backend:<8} | {attempt:>3} | {what:<16} | {events:>8,} | {seconds:>8.2f} "
        f"| {rate:>10,.0f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.rebuild", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    backends = parse_backends(parser, args.backends)
    header: list[str] = [f"snapset rebuild: ~{args.events:,} events, load average {load_average()}"]
    if "postgres" in backends:
        header.append(f"PostgreSQL: {postgres_settings()}")
    rows: list[str] = []
    for backend in backends:
        rows.extend(measure(backend, args.events, args.repeat))
    print("\n".join(header))
    print()
    print("| backend  | run | view             |   events |  seconds |   events/s |")
    print("|----------|----:|------------------|---------:|---------:|-----------:|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
