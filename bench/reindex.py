"""The REINDEX task against the number of items, once every image has its hash.

    .venv/bin/python -m bench.reindex [--sizes 100000,1000000] [--backends sqlite,postgres]

For each size, a child process seeds a READY dataset of synthetic records (every fifth a
video; every image with a stored PERCEPTUAL_HASH output, diverse, with a tenth of them near
duplicates of another) and starts a REINDEX; a second, fresh child runs that task through the
real worker and operation, and reports its seconds and its peak RSS (so the seeding's memory
is not counted). Printed: seconds, µs per item, the cost per item against the smallest size,
and the peak RSS of the process that ran the task.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np

from adapters.runtime import build_runtime
from adapters.settings import Settings
from application.actor import Actor
from bench.backends import backend_store
from bench.options import parse_backends, parse_sizes
from bench.reports import log, machine
from bench.seeding import publish_dataset, register_user, synthetic_records
from domain.tasks import REINDEX


def _records(n: int) -> Iterator[tuple[str, dict[str, Any]]]:
    rng = np.random.default_rng(3)
    hashes = rng.integers(0, 2**64 - 1, size=n, dtype=np.uint64, endpoint=True)
    copies = rng.integers(0, n, size=n // 5)
    hashes[copies[: n // 10]] = hashes[copies[n // 10 :]] ^ np.uint64(0b101)
    for i, (key, record) in enumerate(synthetic_records("r", n)):
        if record["kind"] == "image":
            phash = {"phash": f"{int(hashes[i]):016x}", "model_id": "phash-64-v1"}
            record["enrichment"] = {"PERCEPTUAL_HASH": phash}
        yield key, record


def seed(n: int, data: Path, database_url: str) -> None:
    runtime = build_runtime(Settings(data_dir=data, database_url=database_url))
    try:
        actor = register_user(runtime.app, admin=True).actor
        root = runtime.app.tree.build(_records(n))
        dataset_id = publish_dataset(runtime.app, actor, f"reindex {n}", root)
        task_id, _ = runtime.app.start_operation(actor, dataset_id, REINDEX, {"threshold": 8})
        spec = {"dataset": str(dataset_id), "task": str(task_id), "actor": actor.user_id}
        (data / "bench-reindex.json").write_text(json.dumps(spec))
    finally:
        runtime.close()


def run(data: Path, database_url: str) -> None:
    spec = json.loads((data / "bench-reindex.json").read_text())
    runtime = build_runtime(Settings(data_dir=data, database_url=database_url))
    try:
        started = time.perf_counter()
        runtime.worker.run_task(UUID(spec["dataset"]), spec["task"])
        seconds = time.perf_counter() - started
        actor = Actor(spec["actor"], "bench", is_admin=True)
        dataset = runtime.app.get_dataset(actor, UUID(spec["dataset"]))
        assert dataset.finished_tasks.get(spec["task"]) == "COMPLETED", dataset.fatal_error_msg
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(json.dumps({"seconds": seconds, "peak_mb": peak}))
    finally:
        runtime.close()


def _child(step: str, n: int, data: Path, database_url: str) -> str:
    command = [sys.executable, "-m", "bench.reindex", "--step", step, "--n", str(n)]
    command += ["--data", str(data), "--database-url", database_url]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reindex", description=__doc__)
    parser.add_argument("--sizes", help="comma-separated item counts (default 100k,1M)")
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--step", choices=["seed", "run"], help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step == "seed":
        seed(args.n, args.data, args.database_url)
        return 0
    if args.step == "run":
        run(args.data, args.database_url)
        return 0
    sizes = parse_sizes(args.sizes, (100_000, 1_000_000))
    print(f"REINDEX with stored hashes, threshold 8 ({machine()})\n")
    print("| backend | items | seconds | µs per item | per item vs smallest | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for backend in parse_backends(parser, args.backends):
        first: float | None = None
        for n in sizes:
            with backend_store(backend, f"reindex{n}") as settings:
                data, url = settings.data_dir, settings.database_url
                log(f"{backend}: seeding {n:,} items")
                _child("seed", n, data, url)
                log(f"{backend}: re-indexing {n:,} items")
                figures = json.loads(_child("run", n, data, url))
            per_item = figures["seconds"] / n * 1e6
            first = first or per_item
            print(
                f"| {backend} | {n:,} | {figures['seconds']:.1f} | {per_item:.1f} | "
                f"x{per_item / first:.2f} | {figures['peak_mb']} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
