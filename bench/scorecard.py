"""The reliability scorecard: what the last test run and the last bench runs showed.

Run from the repository root after the tests (`make reliability` does both):

    .venv/bin/python -m bench.scorecard [--junit test-artifacts/reliability/junit.xml]

It reads pytest's JUnit XML (cases passed, failed and skipped per part of the suite) and the
figures tests and bench scripts leave in test-artifacts/reliability/*.json (projection lag,
load, soak, fuzz, schemathesis, fault runs), and prints one table per heading: load held,
faults survived, bad inputs tried, models and contracts, reconciliation. A figure that no run
has produced yet is printed as "not run", never invented. Exits 1 when any case failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

from bench.reports import ARTIFACTS

# Heading -> (what, test module) rows.
PARTS: dict[str, list[tuple[str, str]]] = {
    "Faults survived": [
        ("workers SIGKILLed mid-task", "tests.reliability.test_worker_faults"),
        ("projector SIGKILLed mid catch-up", "tests.reliability.test_projection_kill"),
        ("PostgreSQL crash-stopped under load", "tests.reliability.test_postgres_crash"),
        ("older kill tests (restore, clone, abort)", "tests.process.test_worker_kill"),
    ],
    "Concurrency and read-your-writes": [
        ("16 clients racing on one dataset", "tests.reliability.test_concurrency"),
        ("1,000 create-then-list calls", "tests.reliability.test_read_your_writes"),
    ],
    "Bad inputs tried": [
        ("JWT matrix", "tests.reliability.test_jwt_matrix"),
        ("authorization matrix", "tests.reliability.test_authorization_matrix"),
        ("mass assignment", "tests.reliability.test_mass_assignment"),
        ("limits and archives", "tests.reliability.test_limits"),
        ("schemathesis on /openapi.json", "tests.reliability.test_schemathesis"),
        ("parser fuzz", "tests.reliability.test_parser_fuzz"),
        ("bad input (e2e)", "tests.e2e.test_bad_input"),
    ],
    "Models and contracts": [
        ("model-based state machine", "tests.reliability.test_model_based"),
        ("eventsourcing recorder contract", "tests.reliability.test_library_contract"),
        ("rebuild equivalence", "tests.reliability.test_rebuild_equivalence"),
        ("stored event fixtures (upcasting)", "tests.reliability.test_event_fixtures"),
    ],
}


def cases(junit: Path) -> dict[str, Counter[str]]:
    """Outcome counts per test module."""
    counts: dict[str, Counter[str]] = {}
    if not junit.exists():
        return counts
    for case in ET.parse(junit).iter("testcase"):
        module = case.get("classname", "")
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed"
            elif child.tag == "skipped":
                outcome = "skipped"
        # classname is "package.module" or "package.module.Class"
        key = next((m for m in _modules() if module == m or module.startswith(m + ".")), None)
        if key is not None:
            counts.setdefault(key, Counter())[outcome] += 1
    return counts


def _modules() -> list[str]:
    return [module for rows in PARTS.values() for _, module in rows]


def figures(name: str) -> dict[str, Any] | None:
    path = ARTIFACTS / f"{name}.json"
    if not path.exists():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def outcome(counter: Counter[str] | None) -> str:
    if not counter:
        return "not run"
    text = f"{counter['passed']} passed"
    if counter["failed"]:
        text += f", **{counter['failed']} FAILED**"
    if counter["skipped"]:
        text += f", {counter['skipped']} skipped"
    return text


def print_tests(counts: dict[str, Counter[str]]) -> None:
    for heading, rows in PARTS.items():
        print(f"\n### {heading}\n\n| what | cases | detail |\n|---|---|---|")
        for what, module in rows:
            detail = module_detail(module)
            print(f"| {what} | {outcome(counts.get(module))} | {detail} |")


# Tests that leave figures per backend: <name>-<backend>.json.
PER_BACKEND = {"tests.reliability.test_model_based": "model-based"}


def module_detail(module: str) -> str:
    """Figures a test left for the scorecard: test-artifacts/reliability/<module>.json, or
    one file per backend (PER_BACKEND)."""
    if module in PER_BACKEND:
        parts = []
        for backend in ("postgres", "sqlite"):
            found = figures(f"{PER_BACKEND[module]}-{backend}")
            if found:
                parts.append(
                    f"{backend}: "
                    + ", ".join(
                        f"{found[k]} {k}" for k in ("sequences", "steps", "requests") if k in found
                    )
                )
        return "; ".join(parts)
    found = figures(module.rsplit(".", 1)[-1])
    if not found:
        return ""
    return ", ".join(f"{k}: {v}" for k, v in found.items() if not isinstance(v, dict | list))


def print_load() -> None:
    print("\n### Load held (bench/load.py, bench/soak.py; not part of CI)\n")
    print("| run | req/s | p99 read ms | p99 write ms | lag p50/p99 ms | unexpected |")
    print("|---|---:|---:|---:|---:|---:|")
    for backend in ("postgres", "sqlite"):
        load = figures(f"load-{backend}")
        if load is None:
            print(f"| load, {backend} | not run | | | | |")
            continue
        print(
            f"| load, {backend}, {load['shape']}, {load['clients']} conn, "
            f"{load['seconds']} s | {load['req_s']} | {load['read_p99_ms']} | "
            f"{load['write_p99_ms']} | {load['projection_lag_p50_ms']}/"
            f"{load['projection_lag_p99_ms']} | {load['unexpected']} |"
        )
    for backend in ("postgres", "sqlite"):
        lag = figures(f"projection-lag-{backend}")
        if lag is not None:
            print(
                f"| natural projection lag under load (test), {backend} | | | | "
                f"{lag['lag_p50_ms']}/{lag['lag_p99_ms']} | |"
            )


def print_reconciliation() -> None:
    print("\n### Reconciliation (bench/soak.py)\n")
    soak = figures("soak")
    if soak is None:
        print("not run: `.venv/bin/python -m bench.soak` (20 minutes by default)")
        return
    result = soak["reconciliation"]
    print(
        f"{soak['minutes']} min on {soak['backend']}, {soak['worker_kills']} worker "
        f"SIGKILLs, {soak['requests']} load requests, {soak['unexpected']} unexpected.\n"
    )
    print(
        "| events stored | slowest view position | dataset events | audit rows | "
        "acknowledged commands | missing from audit | tasks completed | verdict |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    print(
        f"| {result['events_stored']} | {min(result['view_positions'].values())} | "
        f"{result['dataset_events']} | {result['audit_rows']} | "
        f"{result['acknowledged_commands']} | {result['acknowledged_missing_from_audit']} | "
        f"{result['tasks_completed']}/{result['tasks']} | "
        f"{'OK' if result['ok'] else 'MISMATCH'} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scorecard", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--junit", type=Path, default=ARTIFACTS / "junit.xml")
    args = parser.parse_args()
    counts = cases(args.junit)
    print("## snapset reliability scorecard")
    if not counts:
        print(f"\n(no test results at {args.junit}: run `make reliability`)")
    print_load()
    print_tests(counts)
    print_reconciliation()
    failed = sum(c["failed"] for c in counts.values())
    print(
        f"\n{'ALL PASSED' if not failed else f'{failed} FAILED'}: "
        f"{sum(sum(c.values()) for c in counts.values())} cases in the parts above."
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
