"""Enrichment and re-index throughput on small JPEGs, inline against a thread pool.

Run from the repository root:

    .venv/bin/python -m bench.enrichment [--images 200] [--size 640x480] [--repeat 3]

It writes ``--images`` JPEGs of the given size (smooth gradients plus noise, so they
compress like photos) into a temporary blob folder, builds a content tree of their records
in memory, and times the real ``Enrichment`` operation (all three image models) and the
real ``Reindex`` (hashing every image, then clustering) with 1 and 2 threads: best of
``--repeat`` runs, alternating the two so a drifting machine load hits both alike, as items
per second and their ratio, with the CPU seconds used per wall second (how many cores
really worked: on a shared machine the second core may be busy elsewhere, which this makes
visible). It also times the clustering step alone on random 64-bit hashes. Timings only:
it never asserts.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

from adapters.enrichment.registry import default_registry
from adapters.storage.blobs import BlobFolder
from application.operations.base import Operation, TaskContext
from application.operations.enrichment import Enrichment
from application.operations.hash_clusters import hash_groups
from application.operations.reindex import Reindex
from domain.content_tree import EMPTY_ROOT, ContentTree
from domain.tasks import TaskState

IMAGE_MODELS = {
    "IMAGE_PROPERTIES": "image-properties-v1",
    "PERCEPTUAL_HASH": "phash-64-v1",
    "IMAGE_QUALITY": "laplacian-quality-v1",
}


class MemoryNodes:
    def __init__(self) -> None:
        self.nodes: dict[str, bytes] = {}

    def get_many(self, hashes: Iterable[str]) -> dict[str, bytes]:
        return {h: self.nodes[h] for h in hashes if h in self.nodes}

    def put_many(self, nodes: Mapping[str, bytes]) -> None:
        self.nodes.update(nodes)


def write_jpegs(folder: Path, count: int, width: int, height: int) -> list[Path]:
    rng = np.random.default_rng(7)
    ys, xs = np.mgrid[0:height, 0:width]
    paths = []
    for i in range(count):
        base = (xs * (i % 7 + 1) + ys * (i % 5 + 1)) % 256
        pixels = np.stack([base, (base + 85 * i) % 256, 255 - base], axis=-1)
        noisy = np.clip(pixels + rng.normal(0, 12, pixels.shape), 0, 255).astype(np.uint8)
        path = folder / f"img{i:05d}.jpg"
        Image.fromarray(noisy).save(path, quality=85)
        paths.append(path)
    return paths


def context(tree: ContentTree, root: str, task_type: str, params: dict[str, object]) -> TaskContext:
    task: TaskState = {
        "task_id": "bench",
        "task_type": task_type,
        "created_by": "bench",
        "params": params,
        "status": "RUNNING",
        "status_before": "READY",
        "start_time": datetime.now(UTC),
        "claimed_by": "bench",
        "lease_until": None,
        "progress": None,
    }
    return TaskContext(
        dataset_id="bench",
        dataset_name="bench",
        content_root=root,
        facets={"clustered": False, "models": {}, "schema": {}},
        task=task,
        tree=tree,
        progress=lambda percent, message: None,
    )


def rate(operation: Operation, task: TaskContext, items: int) -> tuple[float, float]:
    """Items per second of one run (call to returned outcome), and the CPU time it used per
    second of wall time: about 1 when one core did the work, about 2 when both did."""
    wall, cpu = time.perf_counter(), time.process_time()
    operation.run(task)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return items / wall, cpu / wall


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.enrichment", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    registry = default_registry()
    with tempfile.TemporaryDirectory(prefix="snapset-bench-") as tmp:
        folder = Path(tmp) / "jpegs"
        folder.mkdir()
        blobs = BlobFolder(Path(tmp) / "blobs")
        records = {}
        for number, path in enumerate(write_jpegs(folder, args.images, width, height)):
            sha256, size = blobs.put_file(path)
            media_id = f"m{number:06d}"
            records[media_id] = {
                "media_id": media_id,
                "kind": "image",
                "file_name": path.name,
                "blob": sha256,
                "size": size,
                "width": width,
                "height": height,
                "metadata": {},
                "tags": [],
                "labels": [],
                "enrichment": {},
                "cluster_id": None,
            }
        tree = ContentTree(MemoryNodes())
        root = tree.update(EMPTY_ROOT, records)
        mean_kb = sum(p.stat().st_size for p in folder.iterdir()) / args.images / 1024
        print(
            f"{args.images} JPEGs of {width}x{height} (mean {mean_kb:.0f} KB), "
            f"{os.cpu_count()} CPUs, best of {args.repeat}"
        )
        print(
            f"{'operation':<30}{'1 thread':>10}{'2 threads':>11}{'ratio':>7}"
            f"{'cores busy (1 / 2 threads)':>28}"
        )
        runs: list[tuple[str, str, dict[str, object]]] = [
            ("enrichment (3 image models)", "ENRICHMENT", {"models": IMAGE_MODELS})
        ]
        runs += [
            (f"enrichment ({t})", "ENRICHMENT", {"models": {t: i}}) for t, i in IMAGE_MODELS.items()
        ]
        runs.append(("reindex (hash + cluster)", "REINDEX", {"threshold": 8}))
        for label, task_type, params in runs:

            def make(threads: int, task_type: str = task_type) -> Operation:
                if task_type == "REINDEX":
                    return Reindex(blobs, registry, threads=threads)
                return Enrichment(blobs, registry, threads=threads)

            best = [(0.0, 0.0), (0.0, 0.0)]
            for _ in range(args.repeat):
                for index, threads in enumerate((1, 2)):
                    best[index] = max(
                        best[index],
                        rate(make(threads), context(tree, root, task_type, params), args.images),
                    )
            (one, busy_one), (two, busy_two) = best
            print(
                f"{label:<30}{one:>8.0f}/s{two:>9.0f}/s{two / one:>6.2f}x"
                f"{busy_one:>18.2f} / {busy_two:.2f}"
            )
    rng = random.Random(1)
    print(f"\n{'clustering n random hashes, t=8':<34}{'seconds':>12}")
    for n in (1_000, 10_000, 50_000):
        hashes = {f"k{i}": rng.getrandbits(64) for i in range(n)}
        started = time.perf_counter()
        hash_groups(hashes, 8)
        print(f"{n:<34}{time.perf_counter() - started:>12.2f}")


if __name__ == "__main__":
    main()
