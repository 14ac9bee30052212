"""Snapshot benchmarks: create, restore and clone latency against dataset size and history.

Run from the repository root:

    .venv/bin/python -m bench.snapshots [--sizes 1000,10000,100000,1000000]
        [--backends sqlite,postgres] [--repeat N] [--quick]

For each backend (SQLite in a temporary data directory; PostgreSQL in a fresh schema of the
database named by SNAPSET_BENCH_DATABASE_URL, default the local ``test`` database, dropped at
the end) and each dataset size n it seeds a dataset of n synthetic media records, starts the
real runtime (projector and worker threads), and measures the median latency of:

- create snapshot: the ``Datasets.create_snapshot`` command, call to return;
- restore: ``Datasets.restore_snapshot`` request to the task log row saying COMPLETED (the
  real worker claims and finishes it; alternating between two checkpoints whose content
  differs, so every restore really swaps the dataset's content);
- clone: ``Datasets.clone_snapshot`` request to the clone task COMPLETED in the task log and
  the media index caught up with it, so the clone is explorable; each clone's first page is
  then read (untimed in the clone figure, reported apart as "explore") and checked to hold
  all n items;
- raw save: ``Application.save`` of one event of a trivial aggregate on the same
  application, the floor every single-event command stands on.

Every timed operation starts from a quiet state (all read models caught up), so one
measurement does not pay for the previous one's projection. Create snapshot and the raw save
alternate, so their ratio compares like with like on a shared machine. On PostgreSQL the
bench ANALYZEs its schema after seeding, as autovacuum would in a deployment (the local test
server runs with autovacuum off), and takes a CHECKPOINT, so flushing the bulk load does not
land inside the timings. Then it compares create and
restore on a 1k dataset with 10k events of history against a fresh 1k dataset, and measures
single-event commands per second through HTTP (8 concurrent clients renaming snapshots on a
real ``snapset serve``) against raw saves per second.

It prints tables, ratios and PASS/MISS against the design's goals; it never fails on a MISS.
Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import httpx
from eventsourcing.domain import Aggregate, event

from adapters.http.auth import make_token
from adapters.runtime import Runtime, build_runtime
from adapters.settings import Settings
from adapters.signal import Signal
from adapters.views.media_index import MediaIndexView
from adapters.views.task_log import TaskLogView
from application.details import DatasetDetails
from bench.backends import analyze, backend_store, postgres_settings
from bench.options import parse_backends, parse_sizes
from bench.reports import fmt_size, load_average, log, machine, verdict
from bench.seeding import publish_dataset, register_user, synthetic_records
from bench.timing import median_ms, no_gc, p90_ms
from tests.support.server import start_server

T = TypeVar("T")
DEFAULT_SIZES = (1_000, 10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)
RATIO_GOAL = 1.5  # largest size against 1k; create snapshot against a raw save; history
TENS_OF_MS = 0.100  # restore and clone complete in tens of milliseconds
HISTORY_EVENTS = 10_000
HISTORY_BATCH = 500
HTTP_CLIENTS = 8


class Ping(Aggregate):
    """The smallest aggregate there is: one event, no state. Its save is the floor."""

    @event("Pinged")
    def ping(self) -> None:
        pass


# Measuring.


class Pulse:
    """Wakes a waiter whenever the runtime's projector commits a batch (no fixed sleeps).

    It chains onto ``runtime.projected``: reading the generation before checking a condition
    and waiting for it to change afterwards loses no wake-up in between.
    """

    def __init__(self, signal: Signal) -> None:
        self._cond = threading.Condition()
        self._generation = 0
        original = signal.pulse

        def pulse() -> None:
            original()
            with self._cond:
                self._generation += 1
                self._cond.notify_all()

        signal.pulse = pulse  # type: ignore[method-assign]

    def generation(self) -> int:
        with self._cond:
            return self._generation

    def wait_after(self, generation: int, timeout: float) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._generation != generation, timeout)


@dataclass
class Seeded:
    dataset_id: UUID
    checkpoint: UUID  # the creation checkpoint
    n: int
    build_seconds: float


@dataclass
class SizeResult:
    n: int
    create: list[float] = field(default_factory=list)
    restore: list[float] = field(default_factory=list)
    clone: list[float] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)
    explore: list[float] = field(default_factory=list)
    explore_ok: bool = True
    build_seconds: float = 0.0
    index_seconds: float = 0.0


class Harness:
    """One runtime on one backend, with a user, seeding and condition waits."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rt: Runtime = build_runtime(settings)
        self.app = self.rt.app
        self.pulse = Pulse(self.rt.projected)
        user = register_user(self.app)
        self.actor, self.api_key, self.api_secret = user.actor, user.api_key, user.api_secret
        self.running = False
        tasks, media = self.rt.backend.views["task_log"], self.rt.backend.views["media_index"]
        assert isinstance(tasks, TaskLogView)
        assert isinstance(media, MediaIndexView)
        self.tasks, self.media = tasks, media

    def start(self) -> None:
        if not self.running:
            self.rt.start(projections=True, worker=True)
            self.running = True

    def stop(self) -> None:
        self.rt.stop()
        self.running = False

    def close(self) -> None:
        self.rt.close()
        self.running = False

    # Waiting on conditions.

    def wait_until(self, check: Callable[[], T], timeout: float, what: str) -> T:
        deadline = time.monotonic() + timeout
        while True:
            generation = self.pulse.generation()
            result = check()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"timed out waiting for {what}")
            self.pulse.wait_after(generation, min(remaining, 0.25))

    def settle(self, timeout: float = 120.0) -> None:
        """Wait until every read model has processed every event recorded so far."""
        position = self.app.position()
        if not self.rt.positions.wait(position, timeout):
            raise TimeoutError(f"read models did not reach position {position}")

    def wait_task(self, task_id: UUID, timeout: float = 60.0) -> None:
        def done() -> bool:
            row = self.tasks.get(None, str(task_id))
            if row is not None and row["status"] in ("FAILED", "ABORTED"):
                raise RuntimeError(f"task {task_id} {row['status']}: {row['error_message']}")
            return row is not None and row["status"] == "COMPLETED"

        self.wait_until(done, timeout, f"task {task_id}")

    # Seeding (worker stopped, so the real worker never tries the "bench" source).

    def seed(self, tag: str, n: int) -> Seeded:
        assert not self.running, "seed with the worker stopped"
        started = time.perf_counter()
        with no_gc():
            root = self.app.tree.build(synthetic_records(tag, n))
        build_seconds = time.perf_counter() - started
        dataset_id = publish_dataset(self.app, self.actor, f"bench {tag}", root)
        dataset = self.app.get_dataset(self.actor, dataset_id)
        assert dataset.current_checkpoint is not None
        assert dataset.status == "READY"
        return Seeded(dataset_id, UUID(dataset.current_checkpoint), n, build_seconds)

    def add_history(self, seeded: Seeded, events: int) -> None:
        """``events`` renames of one checkpoint, decided by the aggregate, saved in batches."""
        assert not self.running
        done = 0
        while done < events:
            dataset = self.app.repository.get(seeded.dataset_id)
            for _ in range(min(HISTORY_BATCH, events - done)):
                name = "history a" if done % 2 else "history b"
                dataset.update_checkpoint(str(seeded.checkpoint), name, None, self.actor.email)
                done += 1
            self.app.save(dataset)

    def second_checkpoint(self, seeded: Seeded) -> UUID:
        """Edit one item and checkpoint it: a second checkpoint with different content."""

        def edit(dataset: DatasetDetails) -> dict[str, Any]:
            key, record = next(iter(self.app.tree.items(dataset.current["root"])))
            return {key: {**record, "tags": ["bench-edited"]}}

        self.app.edit_items(self.actor, seeded.dataset_id, edit, "bench edit")
        made = self.app.create_snapshot(self.actor, seeded.dataset_id, "edited").result
        self.settle(600)
        return made.snapshot_id

    # Timed operations. Each starts from a quiet state.

    def time_create(self, seeded: Seeded, label: str) -> float:
        self.settle()
        started = time.perf_counter()
        self.app.create_snapshot(self.actor, seeded.dataset_id, label)
        return time.perf_counter() - started

    def time_restore(self, seeded: Seeded, checkpoint: UUID) -> float:
        self.settle()
        started = time.perf_counter()
        task, _ = self.app.restore_snapshot(self.actor, seeded.dataset_id, str(checkpoint))
        self.wait_task(task)
        return time.perf_counter() - started

    def time_clone(self, seeded: Seeded, checkpoint: UUID) -> tuple[float, UUID]:
        self.settle()
        started = time.perf_counter()
        task, clone_id, _ = self.app.clone_snapshot(self.actor, seeded.dataset_id, checkpoint)
        self.wait_task(task)
        if not self.rt.positions.wait(self.app.position(), 60, ("media_index",)):
            raise TimeoutError("the media index did not catch up with the clone")
        return time.perf_counter() - started, clone_id

    def time_explore(self, clone_id: UUID, n: int) -> tuple[float, bool]:
        started = time.perf_counter()
        root = self.app.get_version(self.actor, clone_id, "current")["root"]
        known = self.app.tree.counts(root).items  # as GET .../media does
        rows, total = self.media.items(str(clone_id), "current", 1, 20, total=known)
        elapsed = time.perf_counter() - started
        return elapsed, bool(rows) and total == n

    def time_raw_save(self, ping: Ping) -> float:
        ping.ping()
        self.settle()
        started = time.perf_counter()
        self.app.save(ping)
        return time.perf_counter() - started

    def raw_save_rate(self, seconds: float) -> float:
        """Single-event saves per second, back to back, single-threaded (no views running)."""
        ping = Ping()
        self.app.save(ping)
        saved, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            ping.ping()
            self.app.save(ping)
            saved += 1
        return saved / (time.perf_counter() - started)


# Phases.


def measure_sizes(backend: str, sizes: Sequence[int], repeat: int) -> list[SizeResult]:
    results: list[SizeResult] = []
    with backend_store(backend, "sizes") as settings:
        harness = Harness(settings)
        try:
            for n in sizes:
                results.append(measure_size(harness, backend, n, repeat))
        finally:
            harness.close()
    return results


def measure_size(harness: Harness, backend: str, n: int, repeat: int) -> SizeResult:
    harness.stop()
    log(f"{backend} n={n:,}: building and publishing the content tree")
    seeded = harness.seed(f"n{n}", n)
    result = SizeResult(n, build_seconds=seeded.build_seconds)
    log(f"{backend} n={n:,}: tree built in {seeded.build_seconds:.1f}s; indexing")
    started = time.perf_counter()
    harness.start()
    harness.settle(timeout=3600)
    result.index_seconds = time.perf_counter() - started
    log(f"{backend} n={n:,}: read models caught up in {result.index_seconds:.1f}s")
    analyze(harness.settings)

    # Create snapshot and the raw save alternate, so both see the same machine.
    ping = Ping()
    harness.app.save(ping)
    for i in range(repeat + 1):  # the first of each is the warm-up
        create = harness.time_create(seeded, f"bench {i}")
        raw = harness.time_raw_save(ping)
        if i:
            result.create.append(create)
            result.raw.append(raw)
    log(
        f"{backend} n={n:,}: create snapshot {median_ms(result.create):.2f} ms, raw save "
        f"{median_ms(result.raw):.2f} ms"
    )

    edited = harness.second_checkpoint(seeded)
    for i in range(repeat + 1):
        elapsed = harness.time_restore(seeded, seeded.checkpoint if i % 2 else edited)
        if i:
            result.restore.append(elapsed)
    log(f"{backend} n={n:,}: restore {median_ms(result.restore):.2f} ms")

    # Reading a page counts every item of the version; at large n check a few clones only.
    explore_every = n <= 100_000
    for i in range(repeat + 1):
        elapsed, clone_id = harness.time_clone(seeded, seeded.checkpoint if i % 2 else edited)
        if i:
            result.clone.append(elapsed)
        if explore_every or i in (1, 2, 3, repeat):
            seconds, ok = harness.time_explore(clone_id, n)
            result.explore.append(seconds)
            result.explore_ok = result.explore_ok and ok
    log(
        f"{backend} n={n:,}: clone {median_ms(result.clone):.2f} ms, first page "
        f"{median_ms(result.explore):.1f} ms, complete={result.explore_ok}"
    )
    return result


@dataclass
class HistoryResult:
    fresh_create: list[float] = field(default_factory=list)
    fresh_restore: list[float] = field(default_factory=list)
    long_create: list[float] = field(default_factory=list)
    long_restore: list[float] = field(default_factory=list)
    events: int = 0


def measure_history(backend: str, repeat: int, events: int) -> HistoryResult:
    result = HistoryResult(events=events)
    with backend_store(backend, "history") as settings:
        harness = Harness(settings)
        try:
            fresh = harness.seed("fresh1k", 1_000)
            long = harness.seed("long1k", 1_000)
            log(f"{backend} history: writing {events:,} events of renames")
            harness.add_history(long, events)
            harness.start()
            harness.settle(timeout=1800)
            analyze(harness.settings)
            log(f"{backend} history: read models caught up")
            pairs = [
                (fresh, result.fresh_create, result.fresh_restore),
                (long, result.long_create, result.long_restore),
            ]
            edited = {s.dataset_id: harness.second_checkpoint(s) for s, _, _ in pairs}
            for i in range(repeat + 1):  # interleaved, so both see the same machine
                for seeded, creates, _ in pairs:
                    elapsed = harness.time_create(seeded, f"bench {i}")
                    if i:
                        creates.append(elapsed)
            for i in range(repeat + 1):
                for seeded, _, restores in pairs:
                    target = seeded.checkpoint if i % 2 else edited[seeded.dataset_id]
                    elapsed = harness.time_restore(seeded, target)
                    if i:
                        restores.append(elapsed)
        finally:
            harness.close()
    log(
        f"{backend} history: create {median_ms(result.long_create):.2f} ms vs fresh "
        f"{median_ms(result.fresh_create):.2f} ms"
    )
    return result


@dataclass
class HttpResult:
    raw_rate: float
    # (scenario, req/s, errors, the server process's CPU ms per request)
    scenarios: list[tuple[str, float, int, float]]


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_http(backend: str, seconds: float) -> HttpResult:
    with backend_store(backend, "http") as settings:
        harness = Harness(settings)
        try:
            targets = [harness.seed(f"http{i}", 100) for i in range(HTTP_CLIENTS)]
            raw_rate = harness.raw_save_rate(min(3.0, seconds))
            api_key, api_secret = harness.api_key, harness.api_secret
        finally:
            harness.close()
        log(f"{backend} http: raw save {raw_rate:,.0f} events/s; starting a server")
        extra = ("--embedded",) if settings.uses_postgres else ()
        server = start_server(
            settings.data_dir, database_url=settings.database_url, extra_args=extra
        )
        try:
            token = make_token(api_key, api_secret, 3600)
            scenarios = []
            pid = server.process.pid
            for name, chosen in (
                ("1 client", targets[:1]),
                (f"{HTTP_CLIENTS} clients, 1 dataset each", targets),
                (f"{HTTP_CLIENTS} clients, all on 1 dataset", [targets[0]] * HTTP_CLIENTS),
            ):
                rate, ok, errors, cpu = hammer(
                    server.base_url, token, chosen, seconds, lambda: process_cpu_seconds(pid)
                )
                scenarios.append((name, rate, errors, cpu * 1000 / max(ok, 1)))
                log(f"{backend} http: {name}: {rate:,.0f} req/s ({errors} errors)")
        finally:
            server.stop()
    return HttpResult(raw_rate, scenarios)


def hammer(
    base_url: str, token: str, targets: Sequence[Seeded], seconds: float, cpu: Callable[[], float]
) -> tuple[float, int, int, float]:
    """Concurrent PATCH renames until the deadline; returns (req/s, ok, errors, server CPU s)."""
    barrier = threading.Barrier(len(targets) + 1)
    deadline = [0.0]
    counts = [(0, 0)] * len(targets)

    def client(index: int, target: Seeded) -> None:
        path = f"/api/v1/dataset/{target.dataset_id}/snapshot/{target.checkpoint}"
        with httpx.Client(
            base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
        ) as http:
            http.patch(path, json={"name": f"warm {index}"})
            barrier.wait()
            ok = errors = k = 0
            while time.monotonic() < deadline[0]:
                response = http.patch(path, json={"name": f"rename {index}-{k}"})
                k += 1
                if response.status_code == 200:
                    ok += 1
                else:
                    errors += 1
            counts[index] = (ok, errors)

    threads = [threading.Thread(target=client, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + 3600  # provisional, until every client is warm
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait(timeout=120)
    cpu_before = cpu()
    started = time.monotonic()
    deadline[0] = started + seconds
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    ok = sum(c[0] for c in counts)
    errors = sum(c[1] for c in counts)
    return ok / elapsed, ok, errors, cpu() - cpu_before


# Reporting.


def report_sizes(backend: str, results: list[SizeResult], repeat: int) -> list[str]:
    """Prints the per-size table; returns the goal lines for the summary."""
    print(
        f"\n## {backend}: latency against dataset size "
        f"(median and p90 in ms, {repeat} runs each after a warm-up)\n"
    )
    print(
        "| n | create snapshot | restore | clone | raw save | create / raw | "
        "explore 1st page* | seed: build / index (s) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {fmt_size(r.n)} | {median_ms(r.create):.2f} ({p90_ms(r.create):.2f}) | "
            f"{median_ms(r.restore):.1f} ({p90_ms(r.restore):.1f}) | "
            f"{median_ms(r.clone):.1f} ({p90_ms(r.clone):.1f}) | "
            f"{median_ms(r.raw):.2f} ({p90_ms(r.raw):.2f}) | "
            f"{median_ms(r.create) / median_ms(r.raw):.2f} | "
            f"{median_ms(r.explore):.1f}{'' if r.explore_ok else ' INCOMPLETE'} | "
            f"{r.build_seconds:.1f} / {r.index_seconds:.1f} |"
        )
    print(
        "\n*explore: one `media_index.items(clone, 'current', 1, 20)` call on a finished "
        "clone (first page plus total), checked to return all n items; not part of the "
        "clone figure."
    )
    goals: list[str] = []
    first, last = results[0], results[-1]
    if last.n != first.n:
        span = f"{fmt_size(last.n)}/{fmt_size(first.n)}"
        print(f"\nRatios {span} (goal: at most {RATIO_GOAL}):\n")
        for name, a, b in (
            ("create snapshot", last.create, first.create),
            ("restore", last.restore, first.restore),
            ("clone", last.clone, first.clone),
            ("raw save", last.raw, first.raw),
            ("explore 1st page (no goal)", last.explore, first.explore),
        ):
            ratio = median_ms(a) / median_ms(b)
            mark = "" if "no goal" in name else f"  {verdict(ratio <= RATIO_GOAL)}"
            print(f"- {name}: {ratio:.2f}{mark}")
            if not mark:
                continue
            goals.append(f"{backend}: {name} {span} = {ratio:.2f} (<= {RATIO_GOAL}){mark}")
    worst_create = max(median_ms(r.create) / median_ms(r.raw) for r in results)
    slowest_restore = max(median_ms(r.restore) for r in results)
    slowest_clone = max(median_ms(r.clone) for r in results)
    complete = all(r.explore_ok for r in results)
    goals += [
        f"{backend}: create snapshot / raw save, worst size = {worst_create:.2f} "
        f"(<= {RATIO_GOAL})  {verdict(worst_create <= RATIO_GOAL)}",
        f"{backend}: restore, slowest median = {slowest_restore:.1f} ms "
        f"(< {TENS_OF_MS * 1000:.0f} ms)  {verdict(slowest_restore < TENS_OF_MS * 1000)}",
        f"{backend}: clone, slowest median = {slowest_clone:.1f} ms "
        f"(< {TENS_OF_MS * 1000:.0f} ms)  {verdict(slowest_clone < TENS_OF_MS * 1000)}",
        f"{backend}: every checked clone explorable with all n items  {verdict(complete)}",
    ]
    print()
    for line in goals[-4:]:
        print(f"- {line}")
    return goals


def report_history(backend: str, h: HistoryResult) -> list[str]:
    print(f"\n## {backend}: 1k items, fresh against {h.events:,} events of history (median ms)\n")
    print("| dataset | create snapshot | restore |")
    print("|---|---:|---:|")
    print(f"| fresh | {median_ms(h.fresh_create):.2f} | {median_ms(h.fresh_restore):.1f} |")
    print(
        f"| {h.events:,} events | {median_ms(h.long_create):.2f} | "
        f"{median_ms(h.long_restore):.1f} |"
    )
    goals = []
    for name, long, fresh in (
        ("create snapshot", h.long_create, h.fresh_create),
        ("restore", h.long_restore, h.fresh_restore),
    ):
        ratio = median_ms(long) / median_ms(fresh)
        goals.append(
            f"{backend}: {name} with history / fresh = {ratio:.2f} "
            f"(<= {RATIO_GOAL}, flat in history)  {verdict(ratio <= RATIO_GOAL)}"
        )
    print()
    for line in goals:
        print(f"- {line}")
    return goals


def report_http(backend: str, h: HttpResult, seconds: float) -> None:
    print(
        f"\n## {backend}: single-event commands through HTTP (PATCH snapshot rename, "
        f"{seconds:.0f} s) against raw saves\n"
    )
    print("| scenario | HTTP req/s | errors | server CPU ms/req | raw save events/s | HTTP / raw |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, rate, errors, cpu_ms in h.scenarios:
        print(
            f"| {name} | {rate:,.0f} | {errors} | {cpu_ms:.1f} | {h.raw_rate:,.0f} | "
            f"{rate / h.raw_rate:.3f} |"
        )
    print(
        "\nHTTP: each PATCH is one SnapshotUpdated event; the server answers after every read "
        "model has processed it (read-your-writes), as `snapset serve` does. Raw save: "
        "back-to-back `Application.save` of one event, single-threaded, in-process, no "
        "read models running. Server CPU: the snapset process only (not PostgreSQL)."
    )


def report_summary(
    sizes: dict[str, list[SizeResult]],
    history: dict[str, HistoryResult],
    http: dict[str, HttpResult],
    goals: list[str],
) -> None:
    print("\n## Summary (paste-ready)\n")
    print("| backend | n | create snapshot ms | restore ms | clone ms | raw save ms | create/raw |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for backend, results in sizes.items():
        for r in results:
            print(
                f"| {backend} | {fmt_size(r.n)} | {median_ms(r.create):.2f} | "
                f"{median_ms(r.restore):.1f} | {median_ms(r.clone):.1f} | "
                f"{median_ms(r.raw):.2f} | {median_ms(r.create) / median_ms(r.raw):.2f} |"
            )
        if len(results) > 1:
            first, last = results[0], results[-1]

            def ratio(a: list[float], b: list[float]) -> str:
                return f"x{median_ms(a) / median_ms(b):.2f}"

            print(
                f"| {backend} | {fmt_size(last.n)}/{fmt_size(first.n)} | "
                f"{ratio(last.create, first.create)} | {ratio(last.restore, first.restore)} | "
                f"{ratio(last.clone, first.clone)} | {ratio(last.raw, first.raw)} | |"
            )
        if backend in history:
            h = history[backend]
            print(
                f"| {backend} | 1k + {h.events // 1000}k events | "
                f"{median_ms(h.long_create):.2f} "
                f"(x{median_ms(h.long_create) / median_ms(h.fresh_create):.2f} of fresh) | "
                f"{median_ms(h.long_restore):.1f} "
                f"(x{median_ms(h.long_restore) / median_ms(h.fresh_restore):.2f}) | | | |"
            )
    if http:
        print("\n| backend | HTTP scenario | req/s | raw save events/s | HTTP / raw |")
        print("|---|---|---:|---:|---:|")
        for backend, result in http.items():
            for name, rate, _, _ in result.scenarios:
                print(
                    f"| {backend} | {name} | {rate:,.0f} | {result.raw_rate:,.0f} | "
                    f"{rate / result.raw_rate:.3f} |"
                )
    print("\nGoals:\n")
    for line in goals:
        print(f"- {line}")
    misses = sum(line.endswith("MISS") for line in goals)
    print(f"\n{len(goals) - misses} of {len(goals)} goals met.")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.snapshots", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--sizes", help="comma-separated dataset sizes (default 1k..1M)")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--repeat", type=int, help="timed runs per figure (default 15)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="sizes 1k,10k, fewer repeats, shorter HTTP run (about a minute)",
    )
    parser.add_argument("--history-events", type=int)
    parser.add_argument("--http-seconds", type=float)
    args = parser.parse_args(argv)
    sizes = parse_sizes(args.sizes, QUICK_SIZES if args.quick else DEFAULT_SIZES)
    repeat = args.repeat or (9 if args.quick else 15)
    history_events = args.history_events or HISTORY_EVENTS
    http_seconds = args.http_seconds or (2.0 if args.quick else 5.0)
    backends = parse_backends(parser, args.backends)

    print("# snapset snapshot benchmark\n")
    print(
        f"sizes {', '.join(fmt_size(n) for n in sizes)}; backends {', '.join(backends)}; "
        f"{repeat} timed runs per figure; {machine()}"
    )
    if "postgres" in backends:
        print(
            f"PostgreSQL {postgres_settings()}; the bench ANALYZEs its schema after each "
            "seeding, as autovacuum would, and takes a CHECKPOINT before timing."
        )
    sizes_results: dict[str, list[SizeResult]] = {}
    history: dict[str, HistoryResult] = {}
    http: dict[str, HttpResult] = {}
    goals: list[str] = []
    for backend in backends:
        sizes_results[backend] = measure_sizes(backend, sizes, repeat)
        goals += report_sizes(backend, sizes_results[backend], repeat)
        history[backend] = measure_history(backend, repeat, history_events)
        goals += report_history(backend, history[backend])
        http[backend] = measure_http(backend, http_seconds)
        report_http(backend, http[backend], http_seconds)
        sys.stdout.flush()
    report_summary(sizes_results, history, http, goals)
    print(f"\nLoad average at the end: {load_average()} (other processes share the machine).")
    log("done")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
