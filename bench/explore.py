"""Explore benchmark: media index queries (filters, sorts, pages, clusters) at 100k items.

Run from the repository root:

    .venv/bin/python -m bench.explore [--n 100000] [--backends sqlite,postgres] [--repeat 5]

For each backend it seeds one dataset of n synthetic records with tags, labels, metadata and
cluster ids (plus a second dataset of 1k, to see a small version among a large index),
indexes it with the real projection, ANALYZEs (PostgreSQL; autovacuum does this in a
deployment) and times what ``GET /dataset/{id}/media`` and ``/clusters`` run below HTTP:
the content tree's counts (the total when only ``kind`` filters) and one ``search`` or
``clusters`` call on the media index view. It prints the median and p90 in ms and how many
items matched. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from uuid import UUID

from adapters.runtime import Runtime, build_runtime
from adapters.views.media_index import MediaIndexView
from application.actor import Actor
from bench.backends import analyze, backend_store
from bench.options import parse_backends
from bench.reports import log
from bench.seeding import publish_dataset, register_user
from bench.timing import median_ms, no_gc, p90_ms
from projections.media_index import FieldFilter, MediaFilter, MediaOrder

TAGS = [f"tag{i:02d}" for i in range(50)]
CLASSES = [f"class{i:02d}" for i in range(20)]
CAMERAS = ["alpha", "beta", "gamma", "delta", "epsilon"]
EVERYTHING, BY_NAME = MediaFilter(), MediaOrder()


def rich_records(prefix: str, n: int, seed: int = 1) -> Iterator[tuple[str, dict[str, Any]]]:
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
                "tags": sorted(tags),
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


def timed(call: Callable[[], int], repeat: int) -> tuple[list[float], int]:
    call()  # warm-up
    samples, found = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        found = call()
        samples.append(time.perf_counter() - started)
    return samples, found


def queries(
    view: MediaIndexView, runtime: Runtime, root: str
) -> list[tuple[str, Callable[[], int]]]:
    def page(
        where: MediaFilter = EVERYTHING, order: MediaOrder = BY_NAME, number: int = 1
    ) -> Callable[[], int]:
        def run() -> int:
            counts = runtime.app.tree.counts(root)
            known = (
                {None: counts.items, "image": counts.images, "video": counts.videos}[where.kind]
                if where.by_kind_only
                else None
            )
            rows, total = view.search(root, where, order, number, 20, total=known)
            assert rows or not total
            return total

        return run

    def clusters() -> int:
        return view.clusters(root, 1, 20)[1]

    return [
        ("first page, by file name", page()),
        ("first page, by file name desc", page(order=MediaOrder("file_name", True))),
        ("page 100, by file name", page(number=100)),
        ("first page, kind=video", page(MediaFilter(kind="video"))),
        ("first page, by size desc", page(order=MediaOrder("size", True))),
        ("first page, by media_id", page(order=MediaOrder("media_id"))),
        ("tag (1 of 50, ~3%)", page(MediaFilter(tags=("tag07",)))),
        ("tag common (50%)", page(MediaFilter(tags=("common",)))),
        ("two tags", page(MediaFilter(tags=("tag07", "common")))),
        ("label (1 of 20)", page(MediaFilter(label="class03"))),
        ("cluster_id (largest)", page(MediaFilter(cluster_id="cluster1"))),
        ("q substring", page(MediaFilter(name_contains="ab"))),
        ("meta.camera=beta", page(MediaFilter(fields=(FieldFilter("camera", "beta"),)))),
        (
            "meta.score 10..11",
            page(MediaFilter(fields=(FieldFilter("score", gte=10.0, lte=11.0),))),
        ),
        (
            "meta.taken_at in March",
            page(MediaFilter(fields=(FieldFilter("taken_at", gte="2024-03", lte="2024-03-99"),))),
        ),
        (
            "combined: video, tag, camera",
            page(
                MediaFilter(
                    kind="video", tags=("common",), fields=(FieldFilter("camera", "alpha"),)
                )
            ),
        ),
        ("clusters page 1", clusters),
    ]


def measure(backend: str, n: int, repeat: int) -> None:
    with backend_store(backend, "explore") as settings:
        runtime = build_runtime(settings)
        try:
            actor = register_user(runtime.app).actor
            log(f"{backend}: building {n:,} records")
            large_id, large = seed(runtime, actor, "large", n)
            _, small = seed(runtime, actor, "small", 1_000)
            started = time.perf_counter()
            runtime.catch_up()
            index_seconds = time.perf_counter() - started
            log(f"{backend}: indexed in {index_seconds:.1f}s")
            analyze(settings)
            view = runtime.backend.views["media_index"]
            assert isinstance(view, MediaIndexView)
            print(
                f"\n## {backend}: explore at {n:,} items (index built in "
                f"{index_seconds:.1f}s; median and p90 of {repeat} runs, ms)\n"
            )
            print("| query | median | p90 | matching |")
            print("|---|---:|---:|---:|")
            for name, call in queries(view, runtime, large):
                samples, found = timed(call, repeat)
                print(f"| {name} | {median_ms(samples):.1f} | {p90_ms(samples):.1f} | {found:,} |")
            samples, found = timed(queries(view, runtime, small)[0][1], repeat)
            print(
                f"| 1k dataset beside it: first page by name | {median_ms(samples):.1f} | "
                f"{p90_ms(samples):.1f} | {found:,} |"
            )
            _ = large_id
        finally:
            runtime.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.explore", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    for backend in parse_backends(parser, args.backends):
        measure(backend, args.n, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
