"""Explore benchmark: every kind of media query at 100k and 1M items, p50 and p99.

Run from the repository root:

    .venv/bin/python -m bench.explore [--sizes 100000,1000000] [--backends sqlite,postgres]
        [--repeat 25]

For each backend and size it seeds one dataset of n synthetic records with tags, labels,
metadata and cluster ids (plus a dataset of 1k beside it), indexes it with the real
projection, ANALYZEs (PostgreSQL; autovacuum does this in a deployment) and times what
``GET /dataset/{id}/media`` and ``/clusters`` run below HTTP: the content tree's counts (the
total when only ``kind`` filters) and one ``search`` or ``clusters`` call on the media index
view. Every query runs on the current version, then again on a snapshot that is no longer
current after a rewrite of every item (so the index holds 2n items and the snapshot's are
half of them). Deep pages continue from a cursor 10,000 items in (and ``page=50`` shows what
a page number costs). It prints p50 and p99 (nearest rank) in ms, how many items matched
(``N+`` for a lower-bound total), and, with two sizes, the ratio of the largest to the
smallest p50 with PASS or MISS against the bounds: p50 <= 25 ms, p99 <= 100 ms, ratio <= 1.5
(the ratio counts where the larger p50 is over 2 ms: below that it measures noise).
Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from adapters.runtime import Runtime, build_runtime
from adapters.views.media_index import MediaIndexView
from application.actor import Actor
from bench.backends import analyze, backend_store
from bench.options import parse_backends, parse_sizes
from bench.reports import log
from bench.seeding import publish_dataset, register_user
from bench.timing import no_gc
from domain.tasks import REINDEX
from projections.media_cursor import SearchCursor
from projections.media_index import SORT_KEYS, FieldFilter, MediaFilter, MediaOrder

TAGS = [f"tag{i:02d}" for i in range(50)]
CLASSES = [f"class{i:02d}" for i in range(20)]
CAMERAS = ["alpha", "beta", "gamma", "delta", "epsilon"]
EVERYTHING, BY_NAME = MediaFilter(), MediaOrder()
P50, P99, RATIO = 25.0, 100.0, 1.5
DEEP = 10_000
PAGE = 20


def rich_records(
    prefix: str, n: int, seed: int = 1, tag: str | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    rng = random.Random(seed)
    for i in range(n):
        media_id = f"{prefix}-{i:07d}"
        video = i % 5 == 0
        tags = rng.sample(TAGS, rng.randint(0, 3)) + (["common"] if i % 2 else [])
        yield (
            media_id,
            {
                "media_id": media_id,
                "kind": "video" if video else "image",
                "file_name": f"{prefix}/dir{rng.randint(0, 99):02d}/{rng.getrandbits(40):010x}"
                f".{'mp4' if video else 'jpg'}",
                "blob": hashlib.sha256(media_id.encode()).hexdigest(),
                "size": rng.randint(20_000, 5_000_000),
                "width": rng.choice((640, 1280, 1920)),
                "height": rng.choice((480, 720, 1080)),
                "metadata": {
                    "camera": rng.choice(CAMERAS),
                    "score": round(rng.random() * 100, 3),
                    "taken_at": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                    f"T{rng.randint(0, 23):02d}:00:00",
                },
                "tags": sorted(tags + ([tag] if tag else [])),
                "labels": [
                    {"class_name": c, "bbox": None, "source": "bench", "source_media_id": None}
                    for c in rng.sample(CLASSES, rng.randint(0, 2))
                ],
                "enrichment": {},
                "cluster_id": None
                if i % 10 == 0
                else f"cluster{int(rng.paretovariate(1.2)) % 1000}",
            },
        )


def seed(runtime: Runtime, actor: Actor, prefix: str, n: int) -> tuple[UUID, str]:
    app = runtime.app
    with no_gc():
        root = app.tree.build(rich_records(prefix, n))
    return publish_dataset(app, actor, f"explore {prefix}", root), root


@dataclass(frozen=True)
class Query:
    name: str
    where: MediaFilter = EVERYTHING
    order: MediaOrder = BY_NAME
    page: int = 1
    deep: bool = False  # continue from a cursor DEEP items in
    clusters: bool = False


def query_kinds() -> list[Query]:
    sorts = [
        Query(f"sort {key} {'desc' if desc else 'asc'}", order=MediaOrder(key, desc))
        for key in SORT_KEYS
        for desc in (False, True)
    ]
    deep = [
        Query(f"deep page (cursor at {DEEP:,}), {q.name}", order=q.order, deep=True) for q in sorts
    ]
    camera_alpha = FieldFilter("camera", "alpha")
    return [
        *sorts,
        Query("page 50 by number, by file name", page=50),
        *deep,
        Query("kind=video", MediaFilter(kind="video")),
        Query("tag (1 of 50, ~3%)", MediaFilter(tags=("tag07",))),
        Query("tag common (50%)", MediaFilter(tags=("common",))),
        Query("two tags", MediaFilter(tags=("tag07", "common"))),
        Query("label (1 of 20)", MediaFilter(label="class03")),
        Query("cluster_id (largest)", MediaFilter(cluster_id="cluster1")),
        Query("cluster_id (small)", MediaFilter(cluster_id="cluster97")),
        Query("meta.camera=beta", MediaFilter(fields=(FieldFilter("camera", "beta"),))),
        Query("meta.score 10..11", MediaFilter(fields=(FieldFilter("score", gte=10.0, lte=11.0),))),
        Query(
            "meta.taken_at in March",
            MediaFilter(fields=(FieldFilter("taken_at", gte="2024-03", lte="2024-03-99"),)),
        ),
        Query("q 2 chars (no trigram)", MediaFilter(name_contains="ab")),
        Query("q 4 chars", MediaFilter(name_contains="abcd")),
        Query("q dir (1%)", MediaFilter(name_contains="dir42/")),
        Query(
            "tag, sort size desc",
            MediaFilter(tags=("tag07",)),
            MediaOrder("size", descending=True),
        ),
        Query(
            "combined: video, tag, camera",
            MediaFilter(kind="video", tags=("common",), fields=(camera_alpha,)),
        ),
        Query("clusters page 1", clusters=True),
    ]


@dataclass
class Target:
    """A version to query: its root, and cursors DEEP items into each sort."""

    name: str
    root: str
    cursors: dict[MediaOrder, SearchCursor]


def deep_cursors(view: MediaIndexView, root: str, depth: int) -> dict[MediaOrder, SearchCursor]:
    cursors = {}
    for key in SORT_KEYS:
        for desc in (False, True):
            order = MediaOrder(key, desc)
            found = view.search(root, EVERYTHING, order, 1, depth)
            assert found.next_cursor is not None
            cursors[order] = SearchCursor.decode(found.next_cursor, key, desc)
    return cursors


def runner(
    view: MediaIndexView, runtime: Runtime, target: Target, query: Query
) -> Callable[[], str]:
    root = target.root

    def run() -> str:
        if query.clusters:
            return f"{view.clusters(root, 1, PAGE)[1]:,}"
        counts = runtime.app.tree.counts(root)
        where = query.where
        known = (
            {None: counts.items, "image": counts.images, "video": counts.videos}[where.kind]
            if where.by_kind_only
            else None
        )
        view.numeric_fields(root, {f.field for f in where.fields if f.gte is not None})
        cursor = target.cursors[query.order] if query.deep else None
        found = view.search(root, where, query.order, query.page, PAGE, total=known, cursor=cursor)
        assert found.rows or not found.total
        return f"{found.total:,}{'+' if found.total_is_lower_bound else ''}"

    return run


def timed(call: Callable[[], str], repeat: int) -> tuple[list[float], str]:
    call()  # warm-up
    samples, found = [], ""
    for _ in range(repeat):
        started = time.perf_counter()
        found = call()
        samples.append(time.perf_counter() - started)
    return samples, found


def percentile_ms(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


Result = dict[tuple[str, str], tuple[float, float, str]]  # (target, query) -> p50, p99, found


def measure(backend: str, n: int, repeat: int) -> Result:
    results: Result = {}
    with backend_store(backend, "explore") as settings:
        runtime = build_runtime(settings)
        try:
            app = runtime.app
            actor = register_user(app).actor
            log(f"{backend}: building {n:,} records")
            large_id, large = seed(runtime, actor, "large", n)
            seed(runtime, actor, "small", 1_000)
            started = time.perf_counter()
            runtime.catch_up()
            index_seconds = time.perf_counter() - started
            log(f"{backend}: indexed in {index_seconds:.1f}s")
            snapshot = app.create_snapshot(actor, large_id, "before the rewrite")
            log(f"{backend}: rewriting every item")
            with no_gc():  # a task that rewrote every item (as a re-index may) publishes
                rewritten = app.tree.build(rich_records("large", n, seed=2, tag="rewritten"))
                task, _ = app.start_operation(actor, large_id, REINDEX, {"threshold": 8})
                app.claim_task(large_id, str(task), "bench", 600)
                app.complete_operation(large_id, str(task), "bench", rewritten, "READY")
            runtime.catch_up()
            version = app.get_version(actor, large_id, str(snapshot.result.snapshot_id))
            assert version["root"] == large
            analyze(settings)
            view = runtime.backend.views["media_index"]
            assert isinstance(view, MediaIndexView)
            current = app.get_version(actor, large_id, "current")["root"]
            targets = [
                Target("current", current, deep_cursors(view, current, min(DEEP, n // 2))),
                Target("snapshot", large, deep_cursors(view, large, min(DEEP, n // 2))),
            ]
            log(f"{backend}: timing")
            for target in targets:
                for query in query_kinds():
                    samples, found = timed(runner(view, runtime, target, query), repeat)
                    p50, p99 = percentile_ms(samples, 0.5), percentile_ms(samples, 0.99)
                    results[(target.name, query.name)] = (p50, p99, found)
                    log(f"{backend} {n:,} {target.name}: {query.name}: {p50:.1f} / {p99:.1f} ms")
        finally:
            runtime.close()
    return results


def report(backend: str, sizes: Sequence[int], by_size: dict[int, Result], repeat: int) -> None:
    first, last = sizes[0], sizes[-1]
    print(
        f"\n## {backend}: p50 / p99 of {repeat} runs, ms (bounds: p50 <= {P50:.0f}, "
        f"p99 <= {P99:.0f}, {last:,}/{first:,} p50 <= {RATIO})\n"
    )
    header = " | ".join(f"{n:,} p50 | p99 | matching" for n in sizes)
    ratio = " | ratio | verdict" if len(sizes) > 1 else " | verdict"
    print(f"| version | query | {header}{ratio} |")
    print(
        "|---|---|" + "---:|---:|---:|" * len(sizes) + ("---:|---|" if len(sizes) > 1 else "---|")
    )
    for target, query in by_size[first]:
        cells, verdict = [], "PASS"
        for n in sizes:
            p50, p99, found = by_size[n][(target, query)]
            cells.append(f"{p50:.1f} | {p99:.1f} | {found}")
            if p50 > P50 or p99 > P99:
                verdict = "MISS"
        tail = ""
        if len(sizes) > 1:
            growth = by_size[last][(target, query)][0] / max(
                by_size[first][(target, query)][0], 1e-6
            )
            verdict = (
                "MISS" if growth > RATIO and by_size[last][(target, query)][0] > 2 else verdict
            )
            tail = f" | {growth:.2f}"
        print(f"| {target} | {query} | {' | '.join(cells)}{tail} | {verdict} |")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.explore", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--sizes", help="comma-separated item counts (default 100000)")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--repeat", type=int, default=25)
    args = parser.parse_args(argv)
    sizes = parse_sizes(args.sizes, (100_000,))
    for backend in parse_backends(parser, args.backends):
        by_size = {n: measure(backend, n, args.repeat) for n in sizes}
        report(backend, sizes, by_size, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
