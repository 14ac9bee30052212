"""Operation benchmarks: ingest and enrichment throughput, and diff time against dataset size.

Run from the repository root:

    .venv/bin/python -m bench.operations [--quick] [--backends sqlite,postgres]
        [--images N] [--sizes 1000,10000,100000] [--repeat N] [--profile]

For each backend (SQLite in a temporary data directory; PostgreSQL in a fresh schema of the
database named by SNAPSET_BENCH_DATABASE_URL, default the local ``test`` database):

- ingest: a folder of N generated JPEGs (256x256, each different: a random colour field,
  noise and shapes) becomes a dataset through the real DATASET_CREATION task, run in this
  process by a ``Worker`` (claim to published root: probing, hashing, copying into the blob
  folder, building the content tree, the events). Items/s against the raw rate of one
  process decoding (``Image.open`` + ``load``) and hashing (``sha256`` of the bytes) the
  same files, warm in the page cache as they are for the task. The task runs twice: into a
  fresh blob folder ("cold", every blob written and fsynced) and again into a second
  dataset ("blobs stored", every blob already there).
- enrichment: an ENRICHMENT task with every image model of the default registry over a
  third dataset ingested from the same folder (in-process worker, the operation's own
  thread pool), items/s; the row says why when this tree has no such operation.
- diff: trees of n synthetic records built on the backend's real node store; 10 records
  changed with ``update``; the time of ``list(tree.diff(old, new))`` on a fresh ContentTree
  (cold node cache), and of the HTTP-free version comparison
  (``application.version_diff.compare_versions``: a snapshot against the current content,
  first page of 50) with the application's node cache emptied before each run. Goal: flat
  in n (100k / 1k < 2).

It prints tables and ratios; it never fails on a missed goal. Progress goes to stderr.
``--profile`` also runs the cold ingest under cProfile and prints where its time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import importlib
import io
import pstats
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from uuid import UUID

from PIL import Image, ImageDraw

from adapters.runtime import Runtime, build_runtime
from adapters.settings import Settings
from application.datasets import creation_task_id
from application.details import DatasetDetails
from application.worker import Worker
from bench.backends import backend_store
from bench.options import parse_backends, parse_sizes
from bench.reports import fmt_size, load_average, log, machine
from bench.seeding import publish_dataset, register_user, synthetic_records
from bench.timing import median_ms, no_gc
from domain.content_tree import ContentTree
from domain.tasks import ENRICHMENT

DEFAULT_IMAGES = 1_000
QUICK_IMAGES = 200
DEFAULT_SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
CHANGES = 10
RAW_PASSES = 3
FLAT_GOAL = 2.0  # diff at the largest size against 1k
INGEST_GOAL = 0.8  # ingest items/s against raw decode + hash (issue 10)


# Media.


def make_jpegs(folder: Path, count: int, side: int = 256, seed: int = 7) -> list[Path]:
    """``count`` different JPEGs: a smooth random colour field, noise, and a few shapes."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        field_ = Image.frombytes("RGB", (4, 4), rng.randbytes(48)).resize(
            (side, side), Image.Resampling.BICUBIC
        )
        noise = Image.effect_noise((side, side), 24 + i % 40).convert("RGB")
        picture = Image.blend(field_, noise, 0.25)
        draw = ImageDraw.Draw(picture)
        for _ in range(3):
            x, y = rng.randrange(side), rng.randrange(side)
            r = rng.randrange(8, side // 3)
            colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        path = folder / f"{i:05d}.jpg"
        picture.save(path, "JPEG", quality=85)
        paths.append(path)
    return paths


def raw_rate(paths: Sequence[Path]) -> tuple[float, float]:
    """Items/s of reading, hashing and fully decoding each file in one process (best of
    RAW_PASSES), and its hash-only rate."""
    best = best_hash = float("inf")
    for _ in range(RAW_PASSES):
        started = time.perf_counter()
        for path in paths:
            data = path.read_bytes()
            hashlib.sha256(data).hexdigest()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
        best = min(best, time.perf_counter() - started)
        started = time.perf_counter()
        for path in paths:
            hashlib.sha256(path.read_bytes()).hexdigest()
        best_hash = min(best_hash, time.perf_counter() - started)
    return len(paths) / best, len(paths) / best_hash


# One backend.


@dataclass
class IngestResult:
    items: int
    cold_seconds: float
    warm_seconds: float
    raw_rate: float
    hash_rate: float
    profile: str = ""

    @property
    def cold_rate(self) -> float:
        return self.items / self.cold_seconds

    @property
    def warm_rate(self) -> float:
        return self.items / self.warm_seconds


@dataclass
class DiffResult:
    n: int
    tree_diff: list[float] = field(default_factory=list)
    compare: list[float] = field(default_factory=list)
    changes: int = 0


@dataclass
class BackendResult:
    ingest: IngestResult | None = None
    enrichment: float | None = None  # items/s
    enrichment_note: str = ""
    diffs: list[DiffResult] = field(default_factory=list)


class Bench:
    """One runtime (no background threads) and one user on one backend."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rt: Runtime = build_runtime(settings)
        self.app = self.rt.app
        self.actor = register_user(self.app, admin=True).actor

    def close(self) -> None:
        self.rt.close()

    def worker(self) -> Worker:
        return Worker(self.app, self.rt.worker.queue, self.rt.worker.operations, lease_seconds=600)

    def ingest(
        self, folder: Path, name: str, profile: cProfile.Profile | None = None
    ) -> tuple[UUID, float]:
        dataset_id, _ = self.app.create_dataset(
            self.actor, name, source={"source": "path", "path": str(folder)}
        )
        task_id = str(creation_task_id(dataset_id))
        worker = self.worker()
        started = time.perf_counter()
        if profile is not None:
            profile.enable()
        worker.run_task(dataset_id, task_id)
        if profile is not None:
            profile.disable()
        seconds = time.perf_counter() - started
        dataset = self.app.get_dataset(self.actor, dataset_id)
        if dataset.finished_tasks.get(task_id) != "COMPLETED":
            raise RuntimeError(
                f"ingest ended {dataset.finished_tasks.get(task_id)}: {dataset.fatal_error_msg}"
            )
        return dataset_id, seconds

    def seed_dataset(self, root: str, name: str) -> tuple[UUID, str]:
        """A dataset whose creation published ``root``; returns it and its checkpoint."""
        dataset_id = publish_dataset(self.app, self.actor, name, root)
        checkpoint = self.app.get_dataset(self.actor, dataset_id).current_checkpoint
        assert checkpoint is not None
        return dataset_id, checkpoint


def measure_ingest(
    bench: Bench, folder: Path, paths: Sequence[Path], backend: str, profile: bool
) -> IngestResult:
    raw, hashed = raw_rate(paths)
    log(f"{backend} ingest: raw decode+hash {raw:,.0f} items/s (hash only {hashed:,.0f})")
    profiler = cProfile.Profile() if profile else None
    _, cold = bench.ingest(folder, "bench ingest cold", profiler)
    log(f"{backend} ingest: cold {len(paths) / cold:,.0f} items/s")
    _, warm = bench.ingest(folder, "bench ingest warm")
    log(f"{backend} ingest: blobs stored {len(paths) / warm:,.0f} items/s")
    result = IngestResult(len(paths), cold, warm, raw, hashed)
    if profiler is not None:
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("tottime").print_stats(18)
        stats.sort_stats("cumulative").print_stats(30)
        result.profile = text.getvalue()
    return result


def measure_enrichment(bench: Bench, dataset_id: UUID) -> tuple[float | None, str]:
    """Items/s of an ENRICHMENT task with every image model over ``dataset_id``, run by an
    in-process worker as the ingest is; (None, why) when this tree has no such operation."""
    try:
        registry = importlib.import_module("adapters.enrichment.registry")
    except ImportError as missing:
        return None, f"not measured: no enrichment models in this tree ({missing})"
    if ENRICHMENT not in bench.rt.worker.operations:
        return None, "not measured: no ENRICHMENT operation is registered in adapters/runtime"
    models = {
        model.model_type: model.model_id
        for model in registry.default_registry().models()
        if "image" in model.media_kinds
    }
    if not models:
        return None, "not measured: the enrichment registry lists no image models"
    items = bench.app.get_dataset(bench.actor, dataset_id).current["n_images"]
    task_id, _ = bench.app.start_operation(bench.actor, dataset_id, ENRICHMENT, {"models": models})
    started = time.perf_counter()
    bench.worker().run_task(dataset_id, str(task_id))
    seconds = time.perf_counter() - started
    dataset = bench.app.get_dataset(bench.actor, dataset_id)
    final = dataset.finished_tasks.get(str(task_id))
    if final != "COMPLETED":
        return None, f"enrichment ended {final}: {dataset.fatal_error_msg}"
    return items / seconds, f"{items:,} images in {seconds:.2f} s; models " + ", ".join(
        f"{t} ({i})" for t, i in sorted(models.items())
    )


def measure_diffs(
    bench: Bench, sizes: Sequence[int], repeat: int, backend: str
) -> list[DiffResult]:
    results = []
    nodes = bench.rt.backend.nodes
    for n in sizes:
        log(f"{backend} diff n={n:,}: building the tree")
        with no_gc():
            old = bench.app.tree.build(synthetic_records(f"d{n}", n))
        keys = [key for key, _ in synthetic_records(f"d{n}", n)]
        chosen = random.Random(n).sample(keys, CHANGES)
        changes = {
            key: {**record, "tags": ["bench-changed"]}
            for key in chosen
            if (record := bench.app.tree.get(old, key)) is not None
        }
        new = bench.app.tree.update(old, changes)
        dataset_id, checkpoint = bench.seed_dataset(old, f"bench diff {n}")
        bench.app.edit_items(bench.actor, dataset_id, _constant(changes), "bench edit")
        result = DiffResult(n)
        for i in range(repeat + 1):  # the first of each is the warm-up
            started = time.perf_counter()
            found = list(ContentTree(nodes).diff(old, new))
            elapsed = time.perf_counter() - started
            result.changes = len(found)
            bench.app.tree = ContentTree(nodes)  # a cold node cache for this read
            started_compare = time.perf_counter()
            diff = bench.app.compare_versions(bench.actor, dataset_id, checkpoint, "current", 1, 50)
            compare_elapsed = time.perf_counter() - started_compare
            assert diff.page.total == CHANGES, diff.page.counts
            if i:
                result.tree_diff.append(elapsed)
                result.compare.append(compare_elapsed)
        assert result.changes == CHANGES, result.changes
        log(
            f"{backend} diff n={n:,}: tree.diff {median_ms(result.tree_diff):.2f} ms, "
            f"compare_versions {median_ms(result.compare):.2f} ms"
        )
        results.append(result)
    return results


def measure_backend(
    backend: str, images: int, sizes: Sequence[int], repeat: int, profile: bool
) -> BackendResult:
    result = BackendResult()
    with (
        tempfile.TemporaryDirectory(prefix="snapset-bench-media-") as tmp,
        backend_store(backend, "ops") as base,
    ):
        folder = Path(tmp) / "jpegs"
        log(f"{backend}: writing {images:,} JPEGs")
        paths = make_jpegs(folder, images)
        bench = Bench(replace(base, import_root=Path(tmp)))
        try:
            result.ingest = measure_ingest(bench, folder, paths, backend, profile)
            dataset_id, _ = bench.ingest(folder, "bench enrichment")
            result.enrichment, result.enrichment_note = measure_enrichment(bench, dataset_id)
            log(f"{backend} enrichment: {result.enrichment_note}")
            result.diffs = measure_diffs(bench, sizes, repeat, backend)
        finally:
            bench.close()
    return result


# Reporting.


def report_backend(backend: str, r: BackendResult, repeat: int) -> None:
    ingest = r.ingest
    assert ingest is not None
    print(
        f"\n## {backend}: ingest ({ingest.items:,} JPEGs, 256x256, one DATASET_CREATION "
        "task, in-process worker)\n"
    )
    print("| run | seconds | items/s | raw decode+hash items/s | ingest / raw |")
    print("|---|---:|---:|---:|---:|")
    for name, seconds, rate in (
        ("cold blob folder", ingest.cold_seconds, ingest.cold_rate),
        ("blobs already stored", ingest.warm_seconds, ingest.warm_rate),
    ):
        print(
            f"| {name} | {seconds:.2f} | {rate:,.0f} | {ingest.raw_rate:,.0f} | "
            f"{rate / ingest.raw_rate:.2f} |"
        )
    print(
        f"\nRaw: one process reading, sha256-hashing and fully decoding (PIL open + load) "
        f"each file, best of {RAW_PASSES}; hashing alone runs at {ingest.hash_rate:,.0f} "
        f"items/s. Goal: ingest / raw >= {INGEST_GOAL} "
        f"({'PASS' if ingest.cold_rate / ingest.raw_rate >= INGEST_GOAL else 'MISS'} "
        "for the cold run)."
    )
    print(f"\n## {backend}: enrichment\n")
    if r.enrichment is None:
        print(f"- {r.enrichment_note}")
    else:
        print(f"- {r.enrichment:,.1f} items/s ({r.enrichment_note})")
    print(
        f"\n## {backend}: diff of {CHANGES} changed records (median ms of {repeat}, cold "
        "node cache)\n"
    )
    print("| n | tree.diff | compare_versions (1st page of 50) |")
    print("|---:|---:|---:|")
    for d in r.diffs:
        print(f"| {fmt_size(d.n)} | {median_ms(d.tree_diff):.2f} | {median_ms(d.compare):.2f} |")
    if len(r.diffs) > 1:
        first, last = r.diffs[0], r.diffs[-1]
        span = f"{fmt_size(last.n)}/{fmt_size(first.n)}"
        for name, a, b in (
            ("tree.diff", last.tree_diff, first.tree_diff),
            ("compare_versions", last.compare, first.compare),
        ):
            ratio = median_ms(a) / median_ms(b) if a and b else float("nan")
            print(
                f"\n- {name} {span}: {ratio:.2f} (goal < {FLAT_GOAL}: "
                f"{'PASS' if ratio < FLAT_GOAL else 'MISS'})"
            )
    if ingest.profile:
        print(f"\n## {backend}: where the cold ingest's time goes (cProfile)\n")
        print("```")
        print(ingest.profile.strip())
        print("```")


def report_summary(results: dict[str, BackendResult]) -> None:
    print("\n## Summary (paste-ready)\n")
    sizes = next(iter(results.values())).diffs
    heads = " | ".join(f"diff {fmt_size(d.n)} ms" for d in sizes)
    span = f"{fmt_size(sizes[-1].n)}/{fmt_size(sizes[0].n)}" if len(sizes) > 1 else ""
    print(
        f"| backend | ingest items/s | raw items/s | ingest/raw | enrichment items/s | "
        f"{heads} | diff {span} |"
    )
    print("|---|---:|---:|---:|---:|" + "---:|" * (len(sizes) + 1))
    for backend, r in results.items():
        ingest = r.ingest
        assert ingest is not None
        enrich = "n/a" if r.enrichment is None else f"{r.enrichment:,.1f}"
        diffs = " | ".join(f"{median_ms(d.tree_diff):.2f}" for d in r.diffs)
        ratio = (
            median_ms(r.diffs[-1].tree_diff) / median_ms(r.diffs[0].tree_diff)
            if len(r.diffs) > 1
            else float("nan")
        )
        print(
            f"| {backend} | {ingest.cold_rate:,.0f} | {ingest.raw_rate:,.0f} | "
            f"{ingest.cold_rate / ingest.raw_rate:.2f} | {enrich} | {diffs} | "
            f"x{ratio:.2f} |"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.operations", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--images", type=int, help=f"JPEGs to ingest (default {DEFAULT_IMAGES})")
    parser.add_argument("--sizes", help="comma-separated tree sizes for the diff")
    parser.add_argument("--repeat", type=int, help="timed runs per diff figure (default 15)")
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_IMAGES} images, sizes 1k,10k, fewer repeats"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile the cold ingest with cProfile and print the breakdown",
    )
    args = parser.parse_args(argv)
    images = args.images or (QUICK_IMAGES if args.quick else DEFAULT_IMAGES)
    sizes = parse_sizes(args.sizes, QUICK_SIZES if args.quick else DEFAULT_SIZES)
    repeat = args.repeat or (7 if args.quick else 15)
    backends = parse_backends(parser, args.backends)

    print("# snapset operations benchmark\n")
    print(
        f"{images:,} JPEGs; diff sizes {', '.join(fmt_size(n) for n in sizes)}; backends "
        f"{', '.join(backends)}; {repeat} timed runs per diff figure; {machine()}"
    )
    results: dict[str, BackendResult] = {}
    for backend in backends:
        results[backend] = measure_backend(backend, images, sizes, repeat, args.profile)
        report_backend(backend, results[backend], repeat)
        sys.stdout.flush()
    report_summary(results)
    print(f"\nLoad average at the end: {load_average()} (other processes share the machine).")
    log("done")
    return 0


def _constant(changes: dict[str, Any]) -> Callable[[DatasetDetails], dict[str, Any]]:
    """An item edit that changes the same items whatever the dataset holds."""
    return lambda _dataset: changes


if __name__ == "__main__":
    raise SystemExit(main())
