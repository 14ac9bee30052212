"""Scale ladder: every dataset operation at 10k, 100k and 1M items, on both backends.

Run from the repository root:

    .venv/bin/python -m bench.scale [--sizes 10000,100000,1000000]
        [--backends sqlite,postgres] [--quick] [--step-timeout SECONDS]

For each backend and size, a fresh store (a temporary SQLite data directory, or a new
PostgreSQL schema) and a data set built through the real task code: n distinct 16x16 PNGs
(images only, no videos; one in ten a near-duplicate of the one before, see
``bench/image_files.py``) under an import root, ingested by a DATASET_CREATION task that a
real ``Worker`` runs. Then, in order: the views catch up (the media index indexes n items);
enrichment with PERCEPTUAL_HASH; re-index; a metadata import of one JSON row per item; a
tag on one item in 32 and labels on ten sources (``edit_items``); explore queries as the
HTTP routes run them (p50 and p99 of 20); create snapshot; a diff against a snapshot after
editing 100 items; restore and clone to COMPLETED; export (no media); label propagation;
and ``snapset rebuild`` of every view (``bench/scale_steps.py`` says what each does).

Each step runs in a fresh process (``--step``), so its peak RSS is its own and a crash or a
step that outlives ``--step-timeout`` (then it is stopped, and a task it left running is
aborted) costs one row, not the ladder. After the 100k size (with --quick: the largest
size) a real server (``snapset serve``) answers the same explore queries over HTTP, with
its RSS from /proc. The ingest is also compared with one process reading, hashing and
decoding a sample of the same files.

It prints one table per backend, with per-item cost against the smallest size, and a PASS
or MISS per bound of issue 10 it can judge, and leaves the figures in
test-artifacts/reliability/scale.json. It never fails on a figure.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from adapters.http.auth import make_token
from adapters.settings import Settings
from bench.backends import analyze, backend_store, postgres_settings
from bench.image_files import write_pngs
from bench.operations import raw_rate
from bench.options import parse_backends, parse_sizes
from bench.reports import fmt_size, load_average, log, machine, write_figures
from bench.scale_report import SizeRun, report_backend, report_bounds
from bench.scale_steps import (
    EXPLORE_REPEAT,
    STEPS,
    State,
    explore_queries,
    model_rate,
    percentile_ms,
    process_mb,
    run_step,
)
from tests.support.server import start_server

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)
HTTP_SIZE = 100_000
LADDER = (
    "ingest",
    "index",
    "enrich",
    "reindex",
    "metadata",
    "tag",
    "explore",
    "create",
    "diff",
    "restore",
    "clone",
    "export",
    "propagate",
    "rebuild",
)
RECOVER_SECONDS = 300.0


def run_child(name: str, state_path: Path, work: Path, timeout: float) -> dict[str, Any]:
    """Run one step in a fresh process; its figures, or ``error`` saying why there are none."""
    out, errors = work / f"{name}.json", work / f"{name}.log"
    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", "bench.scale", "--step", name]
    command += ["--state", str(state_path), "--out", str(out)]
    started = time.monotonic()
    with errors.open("w") as stderr:
        try:
            done = subprocess.run(
                command, check=False, stdout=stderr, stderr=stderr, timeout=timeout, cwd=ROOT
            )
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout:.0f} s (stopped)"}
    if done.returncode != 0 or not out.exists():
        tail = [line for line in errors.read_text().splitlines() if line.strip()][-12:]
        why = tail[-1] if tail else f"exit status {done.returncode}"
        return {"error": f"failed: {why}", "stderr": tail}
    figures: dict[str, Any] = json.loads(out.read_text())
    figures["process_seconds"] = time.monotonic() - started
    return figures


def measure_size(backend: str, n: int, timeout: float, http: bool) -> SizeRun:
    run = SizeRun(n)
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix=f"snapset-scale-{fmt_size(n)}-") as tmp,
        backend_store(backend, f"scale{fmt_size(n).lower()}") as settings,
    ):
        work = Path(tmp)
        folder = work / "images"
        log(f"{backend} {fmt_size(n)}: writing {n:,} PNGs")
        sample = write_pngs(folder, n)
        run.raw_rate, _ = raw_rate(sample)
        run.model_rate = model_rate(sample)
        log(
            f"{backend} {fmt_size(n)}: raw decode+hash {run.raw_rate:,.0f} items/s, "
            f"the enrichment model alone {run.model_rate:,.0f} items/s"
        )
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        state = State(n, str(settings.data_dir), settings.database_url, str(work), str(folder))
        state_path = work / "state.json"
        state.save(state_path)
        for name in LADDER:
            if name != "ingest" and "error" in run.steps["ingest"]:
                run.steps[name] = {"error": "not run: the ingest did not finish"}
                continue
            run.steps[name] = run_child(name, state_path, work, timeout)
            figures = run.steps[name]
            log(f"{backend} {fmt_size(n)}: {name}: {_brief(figures)}")
            if "error" in figures and name != "ingest":
                recovered = run_child("recover", state_path, work, RECOVER_SECONDS)
                log(f"{backend} {fmt_size(n)}: recover: {_brief(recovered)}")
        if http:
            run.http = http_pass(State.load(state_path), settings)
            log(f"{backend} {fmt_size(n)}: http: {_brief(run.http)}")
    run.wall = time.monotonic() - started
    return run


def http_pass(state: State, settings: Settings) -> dict[str, Any]:
    """The explore queries through a real ``snapset serve`` on the store, and its RSS."""
    if not state.dataset_id:
        return {"error": "not run: the ingest did not finish"}
    try:
        analyze(settings)
        extra = ("--embedded",) if settings.uses_postgres else ()
        server = start_server(
            settings.data_dir, database_url=settings.database_url, extra_args=extra, timeout=120
        )
    except Exception as error:  # a bench reports what broke and goes on to the next size
        traceback.print_exc()
        return {"error": f"failed: the server did not start ({error})"}
    try:
        token = make_token(state.api_key, state.api_secret, 3600)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=300) as client:
            return _http_queries(client, server.process.pid, state)
    except Exception as error:  # as above: the row says what broke
        traceback.print_exc()
        return {"error": f"failed: {type(error).__name__}: {error}"}
    finally:
        server.stop()


def _http_queries(client: httpx.Client, pid: int, state: State) -> dict[str, Any]:
    base = f"/api/v1/dataset/{state.dataset_id}"
    deadline = time.monotonic() + 600
    while (answer := client.get(base + "/media")).status_code == 503:  # still catching up
        if time.monotonic() > deadline:
            raise TimeoutError("the server's media index did not catch up in 600 s")
        time.sleep(0.5)
    results = {}
    for query in explore_queries(state.n):
        path = base + ("/clusters" if query.clusters else "/media")
        samples = []
        for attempt in range(EXPLORE_REPEAT + 1):  # the first is a warm-up
            started = time.perf_counter()
            answer = client.get(path, params=query.http)
            elapsed = time.perf_counter() - started
            if answer.status_code != 200:
                raise RuntimeError(f"{query.name}: {answer.status_code} {answer.text[:300]}")
            if attempt:
                samples.append(elapsed)
        results[query.name] = {
            "p50_ms": percentile_ms(samples, 0.5),
            "p99_ms": percentile_ms(samples, 0.99),
            "matching": answer.json()["total"],
        }
    rss, peak = process_mb(pid)
    return {"queries": results, "rss_mb": rss, "peak_mb": peak}


def _brief(figures: dict[str, Any]) -> str:
    if "error" in figures:
        return str(figures["error"])
    shown = {
        k: round(v, 3) if isinstance(v, float) else v
        for k, v in figures.items()
        if not isinstance(v, dict | list)
    }
    return json.dumps(shown)


def http_size(sizes: Sequence[int]) -> int:
    """Where the HTTP pass runs: 100k, else the largest size below it, else the smallest."""
    if HTTP_SIZE in sizes:
        return HTTP_SIZE
    below = [n for n in sizes if n < HTTP_SIZE]
    return max(below) if below else min(sizes)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--sizes", help="comma-separated item counts (default 10k,100k,1M)")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--quick", action="store_true", help="sizes 1k,10k (a few minutes)")
    parser.add_argument(
        "--step-timeout",
        type=float,
        help="seconds a step may take before it is stopped (default 3600; 300 with --quick)",
    )
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--state", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        run_step(args.step, args.state, args.out)
        return 0
    sizes = sorted(parse_sizes(args.sizes, QUICK_SIZES if args.quick else DEFAULT_SIZES))
    backends = parse_backends(parser, args.backends)
    timeout = args.step_timeout or (300.0 if args.quick else 3600.0)
    at = http_size(sizes)

    print("# snapset scale ladder\n")
    print(
        f"sizes {', '.join(fmt_size(n) for n in sizes)}; backends {', '.join(backends)}; "
        f"step timeout {timeout:.0f} s; HTTP pass at {fmt_size(at)}; {machine()}"
    )
    if "postgres" in backends:
        print(f"PostgreSQL {postgres_settings()}")
    started = time.monotonic()
    results: dict[str, list[SizeRun]] = {}
    for backend in backends:
        results[backend] = []
        for n in sizes:
            try:
                results[backend].append(measure_size(backend, n, timeout, http=n == at))
            except Exception as error:  # say what broke (disk full, say) and go on
                traceback.print_exc()
                results[backend].append(SizeRun(n, failed=f"{type(error).__name__}: {error}"))
        report_backend(backend, results[backend], at)
        sys.stdout.flush()
    verdicts = report_bounds(results)
    minutes = (time.monotonic() - started) / 60
    print(f"\nThe whole run took {minutes:.1f} min; load average at the end {load_average()}.")
    write_figures(
        "scale",
        {
            "machine": machine(),
            "step_timeout": timeout,
            "minutes": minutes,
            "backends": {b: [r.figures() for r in runs] for b, runs in results.items()},
            "bounds": verdicts,
        },
    )
    log("done")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
