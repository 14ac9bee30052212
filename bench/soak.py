"""Soak: hours of a deployment's life in minutes, ending with a reconciliation.

Run from the repository root:

    .venv/bin/python -m bench.soak [--minutes 20] [--kill-every 4] [--clients 4]
        [--backend postgres|sqlite]

It runs the split deployment on PostgreSQL (API, projector and worker processes; see
bench/deployment.py; SQLite runs embedded and so skips the worker kills) under a steady
mixed load (bench/load.py's client loop, `--clients` connections). Every minute it restores
a snapshot and clones one, waiting for each task; every `--kill-every` minutes it SIGKILLs the
worker (mid-task when one is running) and starts a new one. Every 10 s it samples each
process's RSS and open files, the database's connections and the projection lag (events
stored minus the slowest view's tracking position).

It ends with the reconciliation, printed and written to test-artifacts/reliability/soak.json:
- stored events = every view's tracking position (no view behind, none ahead), and no
  view parked an event (see README: a projection that fails on one event parks it);
- dataset events stored = audit history rows (one row per event, no duplicate, none lost);
- every command the clients saw acknowledged has its audit row at the position it returned;
- every restore and clone task COMPLETED exactly once, and no dataset is left READ ONLY.
It exits non-zero when the reconciliation fails, so a soak can gate a release.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from adapters.backend import open_backend
from adapters.http.auth import make_token
from adapters.settings import Settings
from bench.backends import backend_store
from bench.deployment import Deployment
from bench.load import Tally, Target, client_loop, seed
from bench.reports import log, write_figures
from tests.support.media import folder_of_media

SAMPLE_SECONDS = 10.0


@dataclass
class Sample:
    at_s: float
    rss_mb: dict[str, float]
    open_files: dict[str, int]
    db_connections: int
    lag_events: int


@dataclass
class Soak:
    tasks: list[dict[str, Any]] = field(default_factory=list)
    acknowledged: list[int] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def proc_value(pid: int, key: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return float(line.split()[1])
    except OSError:
        pass
    return float("nan")


def open_files(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def db_connections(deployment: Deployment) -> int:
    """The deployment's own connections (its processes share one PGAPPNAME)."""
    if not deployment.settings.uses_postgres:
        return 0
    base = deployment.settings.database_url.split("?")[0]
    with psycopg.connect(base, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            (deployment.app_name,),
        ).fetchone()
    return int(row[0]) if row else -1


def projection_lag(settings: Settings) -> int:
    backend = open_backend(settings, migrate=False)
    try:
        stored = backend.app.recorder.max_notification_id() or 0
        return stored - min(store.position() for store in backend.stores.values())
    finally:
        backend.close()


def sample(deployment: Deployment, started: float) -> Sample:
    pids = deployment.pids()
    return Sample(
        at_s=round(time.monotonic() - started, 1),
        rss_mb={n: round(proc_value(p, "VmRSS") / 1024, 1) for n, p in pids.items()},
        open_files={n: open_files(p) for n, p in pids.items()},
        db_connections=db_connections(deployment),
        lag_events=projection_lag(deployment.settings),
    )


def acknowledged_writer(
    base_url: str, token: str, target: Target, deadline: float, soak: Soak
) -> None:
    """Edits whose acknowledged positions the reconciliation looks up in the audit history."""
    path = f"/api/v1/dataset/{target.dataset_id}/snapshot/{target.snapshots[0]}"
    with httpx.Client(
        base_url=base_url, timeout=60, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        n = 0
        while time.monotonic() < deadline:
            n += 1
            try:
                response = http.patch(path, json={"description": f"acknowledged {n}"})
            except httpx.HTTPError as error:
                soak.problems.append(f"acknowledged writer: {error}")
                continue
            if response.status_code == 200:
                soak.acknowledged.append(int(response.headers["X-Snapset-Position"]))
            else:
                soak.problems.append(f"acknowledged writer: {response.status_code}")
            time.sleep(0.05)


def wait_task(http: httpx.Client, task_id: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        task: dict[str, Any] = http.get(f"/api/v1/tasks/{task_id}").json()
        if task.get("status") in ("COMPLETED", "FAILED", "ABORTED") or time.monotonic() > deadline:
            return task
        time.sleep(0.2)


def minute_of_tasks(
    http: httpx.Client, deployment: Deployment, target: Target, kill: bool, soak: Soak
) -> None:
    """One restore and one clone; the worker is SIGKILLed while the restore runs if `kill`."""
    dataset = f"/api/v1/dataset/{target.dataset_id}"
    snapshot = target.snapshots[len(soak.tasks) % len(target.snapshots)]
    for action in ("restore", "clone"):
        response = http.post(f"{dataset}/snapshot/{snapshot}/{action}")
        if response.status_code != 202:
            soak.problems.append(f"{action}: {response.status_code} {response.text[:200]}")
            continue
        task_id = response.json()["task_id"]
        if kill and action == "restore":
            time.sleep(0.05)
            deployment.kill_worker()
            log(f"SIGKILLed the worker during restore {task_id}")
        task = wait_task(http, task_id)
        soak.tasks.append({"action": action, "task_id": task_id, "status": task.get("status")})
        if task.get("status") != "COMPLETED":
            soak.problems.append(f"{action} {task_id} ended {task.get('status')}")


def reconcile(settings: Settings, soak: Soak, http: httpx.Client) -> dict[str, Any]:
    backend = open_backend(settings, migrate=False)
    try:
        stored = backend.app.recorder.max_notification_id() or 0
        positions = {name: store.position() for name, store in backend.stores.items()}
        parked = {name: len(store.parked()) for name, store in backend.stores.items()}
        dataset_events = 0
        start = 1
        while True:
            batch = backend.app.recorder.select_notifications(start, 1000)
            if not batch:
                break
            dataset_events += sum(1 for n in batch if n.topic.startswith("snapset:Dataset."))
            start = batch[-1].id + 1
        with backend.stores["audit_history"].reading() as sql:
            audit_rows = int(sql.value("SELECT count(*) FROM {t}events"))
            audited = {int(r["position"]) for r in sql.all("SELECT position FROM {t}events")}
    finally:
        backend.close()
    missing = [p for p in soak.acknowledged if p not in audited]
    completions: dict[str, int] = {}
    for task in soak.tasks:
        completions[task["task_id"]] = completions.get(task["task_id"], 0) + 1
    listed = http.get("/api/v1/datasets?page_size=100").json()["datasets"]
    read_only = [d["id"] for d in listed if d["status"] == "READ ONLY"]
    return {
        "events_stored": stored,
        "view_positions": positions,
        "parked_events": parked,
        "dataset_events": dataset_events,
        "audit_rows": audit_rows,
        "acknowledged_commands": len(soak.acknowledged),
        "acknowledged_missing_from_audit": len(missing),
        "tasks": len(soak.tasks),
        "tasks_completed": sum(1 for t in soak.tasks if t["status"] == "COMPLETED"),
        "datasets_read_only": read_only,
        "ok": (
            all(p == stored for p in positions.values())
            and not any(parked.values())
            and dataset_events == audit_rows
            and not missing
            and not read_only
            and not soak.problems
            and all(c == 1 for c in completions.values())
        ),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    seconds = args.minutes * 60
    shape = "split" if args.backend == "postgres" else "embedded"
    soak = Soak()
    with (
        tempfile.TemporaryDirectory(prefix="snapset-soak-media-") as tmp,
        backend_store(args.backend, "soak") as store,
    ):
        settings = Settings(
            data_dir=store.data_dir, database_url=store.database_url, lease_seconds=2.0
        )
        media = sorted(folder_of_media(Path(tmp), images=6, videos=1).iterdir())
        with Deployment.start(settings, shape=shape) as deployment:
            token = make_token(deployment.api_key, deployment.api_secret, 24 * 3600)
            http = httpx.Client(
                base_url=deployment.base_url,
                timeout=60,
                headers={"Authorization": f"Bearer {token}"},
            )
            targets = seed(http, media, 3, 5)
            tasks_target, edit_target, load_targets = targets[0], targets[1], targets[1:]
            started = time.monotonic()
            deadline = started + seconds
            tally = Tally()
            threads = [
                threading.Thread(
                    target=client_loop,
                    args=(deployment.base_url, token, load_targets, i, deadline, tally),
                )
                for i in range(args.clients)
            ]
            threads.append(
                threading.Thread(
                    target=acknowledged_writer,
                    args=(deployment.base_url, token, edit_target, deadline, soak),
                )
            )
            for thread in threads:
                thread.start()
            minute = 0
            next_sample = started
            next_minute = started + 5
            while time.monotonic() < deadline:
                now = time.monotonic()
                if now >= next_sample:
                    soak.samples.append(sample(deployment, started))
                    log(str(soak.samples[-1]))  # the sample holds its own at_s
                    next_sample = now + SAMPLE_SECONDS
                if now >= next_minute:
                    minute += 1
                    kill = shape == "split" and minute % args.kill_every == 0
                    minute_of_tasks(http, deployment, tasks_target, kill, soak)
                    next_minute = started + 5 + minute * 60
                time.sleep(0.5)
            for thread in threads:
                thread.join()
            time.sleep(2)  # let the projector take in the last writes
            soak.samples.append(sample(deployment, started))
            result = reconcile(settings, soak, http)
            http.close()
            kills = deployment.worker_kills
    reads = tally.latencies.get("read", [])
    return {
        "backend": args.backend,
        "minutes": args.minutes,
        "worker_kills": kills,
        "requests": sum(len(v) for v in tally.latencies.values()),
        "read_p50_ms": round(statistics.median(reads), 2) if reads else None,
        "unexpected": len(tally.unexpected) + len(soak.problems),
        "problems": (tally.unexpected + soak.problems)[:20],
        "samples": [asdict(s) for s in soak.samples],
        "reconciliation": result,
    }


def report(figures: dict[str, Any]) -> None:
    samples = figures["samples"]
    first, last = samples[0], samples[-1]
    print(
        f"\n## Soak: {figures['backend']}, {figures['minutes']} min, "
        f"{figures['worker_kills']} worker SIGKILLs, {figures['requests']} load requests\n"
    )
    print("| process | RSS first MB | RSS last MB | RSS max MB | open files first | last |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in first["rss_mb"]:
        peak = max(s["rss_mb"].get(name, 0) for s in samples)
        print(
            f"| {name} | {first['rss_mb'][name]} | {last['rss_mb'].get(name)} | {peak} | "
            f"{first['open_files'][name]} | {last['open_files'].get(name)} |"
        )
    connections = [s["db_connections"] for s in samples]
    lags = [s["lag_events"] for s in samples]
    print(
        f"\ndatabase connections: first {connections[0]}, last {connections[-1]}, "
        f"max {max(connections)}; projection lag (events): max {max(lags)}, "
        f"last {lags[-1]}"
    )
    print(f"unexpected answers and problems: {figures['unexpected']}")
    for problem in figures["problems"]:
        print(f"  {problem}")
    print("\nReconciliation:")
    for key, value in figures["reconciliation"].items():
        print(f"- {key}: {value}")


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--kill-every", type=int, default=4, help="minutes between kills")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    figures = run(parser.parse_args())
    report(figures)
    write_figures("soak", figures)
    sys.exit(0 if figures["reconciliation"]["ok"] else 1)


if __name__ == "__main__":
    main()
