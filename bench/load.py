"""Mixed load against a real server: 70% reads, 20% edits, 10% creates, 8 connections.

Run from the repository root:

    .venv/bin/python -m bench.load [--backend postgres|sqlite] [--seconds 60] [--clients 8]
        [--shape embedded|split]

It starts `snapset serve` on a fresh store (PostgreSQL: a new schema of the database named by
SNAPSET_BENCH_DATABASE_URL, default the local `test` database, dropped at the end). The
`split` shape runs the deployment of DESIGN.md: an API-only server, a `snapset project`
process and a `snapset worker` process; `embedded` runs all three in one process. It seeds
4 ready datasets with 20 snapshots each through the API, then each client loops until the
deadline, picking by weight:

- read (70%): the snapshot list, the dataset, its media page or the task list, in turn;
- edit (20%): a snapshot's description (PATCH);
- create (10%): a new snapshot (POST).

It prints req/s and p50/p99 latency per kind, the projection lag writes report
(`Server-Timing: projection`), every unexpected answer (any 5xx, transport error, or a
status other than the one the API documents for that call), and PASS/MISS against the goals
(>= 200 req/s, p99 reads < 100 ms, p99 writes < 150 ms, 0 unexpected errors). It never fails
on a MISS; figures also go to test-artifacts/reliability/load-<backend>.json for
`make reliability`'s scorecard.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

import httpx

from adapters.http.auth import make_token
from bench.backends import backend_store
from bench.deployment import Deployment
from bench.reports import log, write_figures
from tests.support.media import folder_of_media

WEIGHTS = (("read", 70), ("edit", 20), ("create", 10))
GOALS = {"req_s": 200.0, "read_p99_ms": 100.0, "write_p99_ms": 150.0}
TIMING = re.compile(r"projection;dur=([0-9.]+)")


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    lags: list[float] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, lag: float | None) -> None:
        with self.lock:
            self.latencies[kind].append(seconds * 1000)
            if lag is not None:
                self.lags.append(lag)

    def fail(self, what: str) -> None:
        with self.lock:
            self.unexpected.append(what)


class KindFigures(TypedDict):
    requests: int
    req_s: float
    p50_ms: float | None
    p99_ms: float | None


class LoadFigures(TypedDict):
    """What a load run prints, and leaves as test-artifacts/reliability/load-<backend>.json."""

    backend: str
    shape: str
    clients: int
    seconds: float
    req_s: float
    kinds: dict[str, KindFigures]
    read_p99_ms: float | None
    write_p99_ms: float | None
    projection_lag_p50_ms: float | None
    projection_lag_p99_ms: float | None
    unexpected: int
    unexpected_samples: list[str]


@dataclass
class Target:
    dataset_id: str
    snapshots: list[str] = field(default_factory=list)


def seed(http: httpx.Client, media: list[Path], datasets: int, snapshots: int) -> list[Target]:
    """Ready datasets with `snapshots` snapshots each, made through the API."""
    targets: list[Target] = []
    for n in range(datasets):
        files = [("files", (p.name, p.read_bytes())) for p in media]
        created = http.post("/api/v1/dataset", data={"dataset_name": f"load {n}"}, files=files)
        created.raise_for_status()
        targets.append(Target(created.json()["dataset_id"]))
    for target in targets:
        deadline = time.monotonic() + 120
        while http.get(f"/api/v1/dataset/{target.dataset_id}").json()["status"] != "READY":
            if time.monotonic() > deadline:
                raise RuntimeError(f"dataset {target.dataset_id} never became READY")
            time.sleep(0.1)
        for k in range(snapshots):
            made = http.post(
                f"/api/v1/dataset/{target.dataset_id}/snapshot", json={"name": f"seed {k}"}
            )
            made.raise_for_status()
            target.snapshots.append(made.json()["snapshot_id"])
    return targets


def client_loop(
    base_url: str, token: str, targets: list[Target], seed_value: int, deadline: float, tally: Tally
) -> None:
    rng = random.Random(seed_value)
    kinds = [k for k, _ in WEIGHTS]
    weights = [w for _, w in WEIGHTS]
    reads = ("snapshot", "", "media?page_size=20", "tasks")
    n = 0
    with httpx.Client(
        base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        while time.monotonic() < deadline:
            n += 1
            target = rng.choice(targets)
            dataset = f"/api/v1/dataset/{target.dataset_id}"
            kind = rng.choices(kinds, weights)[0]
            if kind == "read":
                which = reads[n % len(reads)]
                method, path, body = (
                    "GET",
                    (
                        f"/api/v1/tasks?dataset_id={target.dataset_id}"
                        if which == "tasks"
                        else f"{dataset}/{which}".rstrip("/")
                    ),
                    None,
                )
            elif kind == "edit":
                method, path = "PATCH", f"{dataset}/snapshot/{rng.choice(target.snapshots)}"
                body = {"description": f"load edit {seed_value}-{n}"}
            else:
                method, path, body = "POST", f"{dataset}/snapshot", {"name": f"load {n}"}
            started = time.perf_counter()
            try:
                response = http.request(method, path, json=body)
            except httpx.HTTPError as error:
                tally.fail(f"{method} {path}: {type(error).__name__} {error}")
                continue
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                tally.fail(f"{method} {path}: {response.status_code} {response.text[:200]}")
                continue
            match = TIMING.search(response.headers.get("Server-Timing", ""))
            tally.add(kind, elapsed, float(match.group(1)) if match else None)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def run(backend: str, seconds: float, clients: int, shape: str) -> LoadFigures:
    with (
        tempfile.TemporaryDirectory(prefix="snapset-load-media-") as tmp,
        backend_store(backend, "load") as settings,
    ):
        media = sorted(folder_of_media(Path(tmp), images=4, videos=1).iterdir())
        with Deployment.start(settings, shape=shape) as deployment:
            token = make_token(deployment.api_key, deployment.api_secret, 3600)
            with httpx.Client(
                base_url=deployment.base_url,
                timeout=60,
                headers={"Authorization": f"Bearer {token}"},
            ) as http:
                log("seeding 4 datasets with 20 snapshots each")
                targets = seed(http, media, 4, 20)
            tally = Tally()
            log(f"{clients} clients for {seconds:.0f} s ({shape}, {backend})")
            started = time.monotonic()
            deadline = started + seconds
            threads = [
                threading.Thread(
                    target=client_loop,
                    args=(deployment.base_url, token, targets, i, deadline, tally),
                )
                for i in range(clients)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
    return summarize(backend, shape, clients, elapsed, tally)


def summarize(backend: str, shape: str, clients: int, elapsed: float, tally: Tally) -> LoadFigures:
    kinds: dict[str, KindFigures] = {}
    for kind, _ in WEIGHTS:
        values = tally.latencies.get(kind, [])
        kinds[kind] = {
            "requests": len(values),
            "req_s": round(len(values) / elapsed, 1),
            "p50_ms": round(statistics.median(values), 2) if values else None,
            "p99_ms": round(percentile(values, 0.99), 2) if values else None,
        }
    total = sum(len(v) for v in tally.latencies.values())
    writes = tally.latencies.get("edit", []) + tally.latencies.get("create", [])
    return {
        "backend": backend,
        "shape": shape,
        "clients": clients,
        "seconds": round(elapsed, 1),
        "req_s": round(total / elapsed, 1),
        "kinds": kinds,
        "read_p99_ms": round(percentile(tally.latencies["read"], 0.99), 2)
        if tally.latencies.get("read")
        else None,
        "write_p99_ms": round(percentile(writes, 0.99), 2) if writes else None,
        "projection_lag_p50_ms": round(statistics.median(tally.lags), 2) if tally.lags else None,
        "projection_lag_p99_ms": round(percentile(tally.lags, 0.99), 2) if tally.lags else None,
        "unexpected": len(tally.unexpected),
        "unexpected_samples": tally.unexpected[:10],
    }


def report(figures: LoadFigures) -> None:
    print(
        f"\n## Mixed load: {figures['backend']}, {figures['shape']}, "
        f"{figures['clients']} connections, {figures['seconds']} s\n"
    )
    print("| kind | requests | req/s | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|")
    for kind, row in figures["kinds"].items():
        print(
            f"| {kind} | {row['requests']} | {row['req_s']} | {row['p50_ms']} | {row['p99_ms']} |"
        )
    print(f"| **all** | | **{figures['req_s']}** | | |")
    print(
        f"\nprojection lag reported by writes: p50 {figures['projection_lag_p50_ms']} ms, "
        f"p99 {figures['projection_lag_p99_ms']} ms"
    )
    print(f"unexpected answers: {figures['unexpected']}")
    for sample in figures["unexpected_samples"]:
        print(f"  {sample}")
    checks = (
        ("req/s >= 200", figures["req_s"] >= GOALS["req_s"]),
        ("p99 reads < 100 ms", (figures["read_p99_ms"] or 1e9) < GOALS["read_p99_ms"]),
        ("p99 writes < 150 ms", (figures["write_p99_ms"] or 1e9) < GOALS["write_p99_ms"]),
        ("0 unexpected errors", figures["unexpected"] == 0),
    )
    print()
    for name, passed in checks:
        print(f"- {'PASS' if passed else 'MISS'}: {name}")


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--shape", choices=("embedded", "split"), default="embedded")
    args = parser.parse_args()
    figures = run(args.backend, args.seconds, args.clients, args.shape)
    report(figures)
    write_figures(f"load-{args.backend}", figures)


if __name__ == "__main__":
    main()
