"""UI benchmark: how long the Snapshot Catalog takes to show a dataset with many snapshots.

Run from the repository root (needs Debian's Chromium at /usr/bin/chromium):

    .venv/bin/python -m bench.ui_catalog [--snapshots 200] [--repeat 7]

It starts a real ``snapset serve`` on SQLite in a temporary data directory, creates a dataset
of two images with ``--snapshots`` snapshots in all through the JSON API, opens headless
Chromium (Playwright, ``executable_path``), signs in through the sign-in form, and opens the
dataset's Snapshot Catalog ``--repeat`` times, each time from the dataset list, after one
untimed warm-up. Each open is read from the marks the page itself records (catalog.js):

- build: ``snapset:catalog-render``, from the data in hand to every row laid out;
- fetch + build: ``snapset:catalog-load``, from the view starting (its reads of the dataset,
  the user's access and the snapshots) to the same end.

It prints a table of the median and max of both, how many rows were rendered, and whether
the goal (fetch + build under 1000 ms in every open) was met. It never fails on a miss.
Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from bench.reports import log
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, missing_chromium
from tests.support.client import SnapsetClient
from tests.support.media import folder_of_media
from tests.support.server import start_server

GOAL_MS = 1000.0
RENDER_MEASURE = "snapset:catalog-render"
LOAD_MEASURE = "snapset:catalog-load"
OPEN_TIMEOUT_MS = 60_000


def dataset_with_snapshots(client: SnapsetClient, folder: Path, snapshots: int) -> str:
    files = sorted(folder_of_media(folder, images=2, videos=0).iterdir())
    dataset_id = client.create_dataset("catalog bench", files=files)
    client.wait_status(dataset_id, "READY", timeout=120)
    for number in range(len(client.snapshots(dataset_id)), snapshots):
        client.create_snapshot(
            dataset_id, name=f"run {number:04d}", description=f"nightly evaluation number {number}"
        )
    return dataset_id


def sign_in(page: Page, client: SnapsetClient) -> None:
    page.goto("/")
    page.get_by_label("API key").fill(client.api_key)
    page.get_by_label("API secret").fill(client.api_secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#datasets-table")).to_be_visible(timeout=OPEN_TIMEOUT_MS)


def open_catalog(page: Page, dataset_id: str, snapshots: int) -> tuple[int, float, float]:
    """Open the catalog from the dataset list; (rows rendered, build ms, fetch + build ms)."""
    page.goto("/#/datasets")
    expect(page.locator("#datasets-table")).to_be_visible(timeout=OPEN_TIMEOUT_MS)
    page.evaluate("() => performance.clearMeasures()")
    page.goto(f"/#/datasets/{dataset_id}/snapshots")
    rows = page.locator("#snapshot-table tbody tr")
    expect(rows).to_have_count(snapshots, timeout=OPEN_TIMEOUT_MS)
    build, load = page.evaluate(
        "([render, load]) => [performance.getEntriesByName(render).at(-1).duration,"
        " performance.getEntriesByName(load).at(-1).duration]",
        [RENDER_MEASURE, LOAD_MEASURE],
    )
    return rows.count(), float(build), float(load)


def run(snapshots: int, repeat: int) -> int:
    if (why := missing_chromium()) is not None:
        print(why, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="snapset-ui-bench-") as folder:
        work = Path(folder)
        log("starting snapset serve on SQLite")
        server = start_server(work / "data")
        client = SnapsetClient(server.base_url, server.api_key, server.api_secret)
        try:
            log(f"creating a dataset with {snapshots} snapshots")
            dataset_id = dataset_with_snapshots(client, work / "media", snapshots)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
                )
                try:
                    page = browser.new_context(base_url=server.base_url).new_page()
                    sign_in(page, client)
                    log("warm-up open (not counted)")
                    open_catalog(page, dataset_id, snapshots)
                    results = []
                    for number in range(1, repeat + 1):
                        results.append(open_catalog(page, dataset_id, snapshots))
                        log(
                            f"open {number}/{repeat}: build {results[-1][1]:.1f} ms, "
                            f"fetch + build {results[-1][2]:.1f} ms"
                        )
                    version = browser.version
                finally:
                    browser.close()
        finally:
            client.close()
            server.stop()
    report(snapshots, results, version)
    return 0


def report(snapshots: int, results: list[tuple[int, float, float]], version: str) -> None:
    rendered = {rows for rows, _, _ in results}
    builds = [build for _, build, _ in results]
    loads = [load for _, _, load in results]
    met = max(loads) < GOAL_MS
    print(f"\n## Snapshot Catalog in Chromium {version}, SQLite, {len(results)} opens")
    print(
        "| snapshots | rows rendered | build median | build max | fetch + build median "
        "| fetch + build max | goal: fetch + build < 1000 ms |"
    )
    print("|---:|---:|---:|---:|---:|---:|---|")
    print(
        f"| {snapshots} | {', '.join(str(r) for r in sorted(rendered))} "
        f"| {statistics.median(builds):.1f} ms | {max(builds):.1f} ms "
        f"| {statistics.median(loads):.1f} ms | {max(loads):.1f} ms "
        f"| {'met' if met else 'MISSED'} |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ui_catalog", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--snapshots", type=int, default=200, help="snapshots of the dataset in all (default 200)"
    )
    parser.add_argument(
        "--repeat", type=int, default=7, help="timed opens of the catalog (default 7)"
    )
    args = parser.parse_args(argv)
    if args.snapshots < 1 or args.repeat < 1:
        parser.error("--snapshots and --repeat must be at least 1")
    return run(args.snapshots, args.repeat)


if __name__ == "__main__":
    sys.exit(main())
