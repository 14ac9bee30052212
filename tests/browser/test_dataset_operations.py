"""The dataset page's operations in a real browser: enrich, re-index, browse clusters and
filter the grid by one, propagate labels, import a metadata file with a bad row, export the
current version and a snapshot as zips, filter the media grid, and the operations disabled
with their reason for a viewer and while the dataset's status forbids them. A finished
operation's card in the Running tasks panel names its type and outcome until dismissed; a
user's exports are forgotten when their session ends, for whoever signs in next in the tab.

These run against an API-only server with a projector and a worker the test can stop
(tests/e2e/helpers.Deployment), so a task stays READ ONLY exactly as long as a test needs.
Expectations come from the JSON API (a Bearer client beside the page), never from the UI.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser import screens
from tests.browser.operations_screens import (
    WRITE_OPERATIONS,
    DatasetOperations,
    by_name,
    near_duplicate_photos,
)
from tests.browser.screens import TASK_TIMEOUT_MS, VIEWER_REASON, ready_dataset, shot
from tests.e2e import helpers
from tests.e2e.conftest import add_user
from tests.e2e.helpers import Deployment
from tests.support.client import SnapsetClient
from tests.support.media import folder_of_media
from tests.support.server import ServerProcess

deployment = helpers.deployment
client = screens.client
server = screens.deployment_server


def report_of(client: SnapsetClient, result: Any) -> dict[str, Any]:
    """The API's report of the task an outcome card shows."""
    task_id = result.get_attribute("data-task-id")
    body: dict[str, Any] = client.ok("GET", f"/tasks/{task_id}/report")
    assert body["status"] == "COMPLETED", body
    report: dict[str, Any] = body["report"]
    return report


def as_shown(value: Any) -> str:
    """A JSON scalar as the page's text shows it (JavaScript's String())."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def label(client: SnapsetClient, dataset_id: str, media_id: str, class_name: str) -> None:
    client.ok(
        "POST",
        f"/dataset/{dataset_id}/media/labels",
        json={"media_ids": [media_id], "labels": [{"class_name": class_name}]},
    )


def test_enrich_reindex_and_propagate_show_their_reports_clusters_and_new_labels(
    signed_in_page: Page,
    client: SnapsetClient,
    deployment: Deployment,
    tmp_path: Path,
    artifacts: Path,
) -> None:
    files = near_duplicate_photos(tmp_path / "media")
    dataset_id = client.create_dataset("Pets", files=files)
    client.wait_status(dataset_id, "READY")
    items = by_name(client.media(dataset_id))
    label(client, dataset_id, items["a.png"]["media_id"], "cat")
    label(client, dataset_id, items["b.png"]["media_id"], "dog")
    ops = DatasetOperations(signed_in_page).open(dataset_id)
    expect(ops.button("Propagate labels…")).to_be_disabled()
    expect(ops.button("Propagate labels…")).to_have_attribute(
        "title", "The dataset has no clusters yet: re-index it first."
    )
    expect(ops.clusters).to_have_count(0)

    # Enrich with two models; the report's counts and an item's outputs show.
    ops.button("Enrich…").click()
    dialog = ops.dialog()
    dialog.get_by_role("button", name="Start enrichment").click()
    expect(dialog.get_by_role("alert")).to_have_text("Choose at least one model.")
    dialog.get_by_label("Image quality").check()
    dialog.get_by_label("Image properties").check()
    shot(signed_in_page, artifacts, "operations-enrich-dialog")
    ops.submit("Start enrichment")
    enriched = ops.result("enrich")
    report = report_of(client, enriched)
    assert report["models"] == {
        "IMAGE_QUALITY": "laplacian-quality-v1",
        "IMAGE_PROPERTIES": "image-properties-v1",
    }
    expect(enriched.locator(".op-summary")).to_have_text(
        f"{report['items']} items: {report['processed']} processed, {report['reused']} "
        f"outputs reused, {report['error_count']} errors."
    )
    assert report["processed"] == len(files)
    quality = client.ok("GET", f"/dataset/{dataset_id}/media/{items['c.png']['media_id']}")[
        "enrichment"
    ]["IMAGE_QUALITY"]
    details = ops.details("c.png")
    outputs = details.locator("#details-enrichment")
    expect(outputs).to_contain_text("IMAGE_QUALITY")
    for key, value in quality.items():
        expect(outputs).to_contain_text(f"{key}{as_shown(value)}")
    shot(signed_in_page, artifacts, "operations-item-details")
    ops.close_dialog()

    # Re-index with the worker stopped: READ ONLY, writes disabled, Export still enabled.
    deployment.stop("worker")
    ops.button("Re-index…").click()
    threshold = ops.dialog().get_by_label("Threshold (bits)")
    expect(threshold).to_have_value("8")
    threshold.fill("40")
    ops.dialog().get_by_role("button", name="Start re-index").click()
    expect(ops.dialog().get_by_role("alert")).to_have_text(
        "Enter a whole number of bits from 0 to 32."
    )
    threshold.fill("8")
    ops.submit("Start re-index")
    expect(ops.status).to_have_text("READ ONLY")
    for name in WRITE_OPERATIONS:
        expect(ops.button(name)).to_be_disabled()
        expect(ops.button(name)).to_have_attribute(
            "title", "A task is changing the dataset (READ ONLY); wait until it finishes."
        )
    expect(ops.button("Export…")).to_be_enabled()
    reindexing = signed_in_page.get_by_role("article", name="Re-indexing “Pets”")
    expect(reindexing).to_be_visible()
    shot(signed_in_page, artifacts, "operations-read-only")
    deployment.start("worker")

    reindexed = ops.result("reindex")
    expect(ops.status).to_have_text("READY")
    expect(reindexing.locator(".task-outcome")).to_have_text("Re-index completed.")
    report = report_of(client, reindexed)
    clusters = client.ok("GET", f"/dataset/{dataset_id}/clusters")
    assert report["clusters"] == clusters["total"] == 2
    expect(reindexed.locator(".op-summary")).to_contain_text(
        f"{report['clusters']} clusters of near-duplicates holding "
        f"{report['clustered_items']} items (threshold 8 bits)"
    )
    expect(ops.clusters).to_have_count(clusters["total"])
    first = clusters["clusters"][0]
    expect(ops.clusters.first.locator(".op-cluster-name")).to_contain_text(f"{first['size']} items")
    expect(ops.clusters.first.locator("img")).to_have_count(len(first["sample_media"]))
    expect(ops.button("Propagate labels…")).to_be_enabled()
    shot(signed_in_page, artifacts, "operations-clusters")

    # Choosing a cluster filters the grid to its members.
    members = sorted(
        m["file_name"] for m in client.media(dataset_id, cluster_id=first["cluster_id"])
    )
    ops.clusters.first.get_by_role("button").click()
    ops.expect_tiles(members)
    expect(ops.clusters.first.get_by_role("button")).to_have_attribute("aria-pressed", "true")
    expect(signed_in_page.get_by_label("Cluster", exact=True)).to_have_value(first["cluster_id"])
    ops.clusters.first.get_by_role("button").click()
    expect(ops.tiles).to_have_count(len(files))

    # Propagate the labels of a.png and b.png to their near-duplicates.
    ops.button("Propagate labels…").click()
    dialog = ops.dialog()
    expect(dialog.get_by_role("status")).to_have_text(
        "Found 2 items with labels of their own in 2 clusters."
    )
    expect(dialog.get_by_label("cat")).to_be_checked()
    expect(dialog.get_by_label("dog")).to_be_checked()
    ops.submit("Start propagation")
    propagated = ops.result("propagate")
    report = report_of(client, propagated)
    assert report["propagated_labels"] == 2
    expect(propagated.locator(".op-summary")).to_have_text(
        f"{report['propagated_labels']} labels propagated to {report['items_changed']} items, "
        f"{report['error_count']} errors."
    )
    cats = sorted(m["file_name"] for m in client.media(dataset_id, label="cat"))
    assert cats == ["a.png", "a_small.png"]
    ops.filter("Label class", "cat")
    ops.expect_tiles(cats)
    expect(ops.tiles.filter(has_text="a_small.png")).to_contain_text("Labels: cat")


def test_an_imported_csv_reports_its_rejected_row_and_exports_hold_each_versions_metadata(
    signed_in_page: Page,
    client: SnapsetClient,
    tmp_path: Path,
    artifacts: Path,
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "Scored", images=3)
    before = client.create_snapshot(dataset_id, name="before import")
    csv = tmp_path / "scores.csv"
    csv.write_text(
        "file_name,score,note\nimg000.png,0.5,sharp\nimg001.png,12abc,blurry\n"
        "img002.png,1.25,fine\n",
        encoding="utf-8",
    )
    ops = DatasetOperations(signed_in_page).open(dataset_id)

    # Import a CSV whose second row has a score that is not a number.
    ops.button("Import metadata…").click()
    dialog = ops.dialog()
    dialog.get_by_role("button", name="Start import").click()
    expect(dialog.get_by_role("alert")).to_have_text("Choose a CSV or JSON file.")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"file_name": "img000.png", "1st": "x"}]), encoding="utf-8")
    refused = client.request(
        "POST",
        f"/dataset/{dataset_id}/custom_metadata",
        json={
            "schema": {"1st": {"type": "string"}},
            "key": "file_name",
            "rows": json.loads(bad.read_text()),
        },
    )
    assert refused.status_code == 422, refused.text
    dialog.get_by_label("CSV or JSON file").set_input_files(bad)
    expect(dialog.get_by_label("Type of 1st")).to_have_value("string")
    dialog.get_by_role("button", name="Start import").click()
    expect(dialog.get_by_role("alert")).to_have_text(refused.json()["detail"])
    dialog.get_by_label("CSV or JSON file").set_input_files(csv)
    expect(dialog.locator("#import-fields tbody tr")).to_have_count(2)
    expect(dialog.get_by_label("Match rows to items by")).to_have_value("file_name")
    dialog.get_by_label("Type of score").select_option("float")
    expect(dialog.get_by_label("Type of note")).to_have_value("string")
    shot(signed_in_page, artifacts, "operations-import-dialog")
    ops.submit("Start import")

    imported = ops.result("metadata")
    report = report_of(client, imported)
    assert (report["inserted_rows"], report["rejected_rows"]) == (2, 1)
    [error] = report["errors"]
    assert (error["row"], error["field"]) == (2, "score")
    expect(imported.locator(".op-summary")).to_have_text("2 rows inserted, 1 rejected (1 error).")
    expect(imported.locator(".op-errors li")).to_have_text([f"Row 2, score: {error['detail']}"])
    shot(signed_in_page, artifacts, "operations-import-report")
    schema = client.ok("GET", f"/dataset/{dataset_id}/custom_metadata/schema")["schema"]
    assert schema == {"note": {"type": "string"}, "score": {"type": "float"}}
    details = ops.details("img002.png")
    expect(details.locator("#details-metadata")).to_contain_text("score1.25")
    expect(details.locator("#details-metadata")).to_contain_text("notefine")
    ops.close_dialog()

    # Export the current version: its metadata.json holds the imported fields.
    ops.button("Export…").click()
    version = ops.dialog().get_by_label("Version")
    expect(version.locator("option")).to_have_count(1 + len(client.snapshots(dataset_id)))
    ops.submit("Start export")
    current = ops.exports.filter(has_text="Current version, without media files")
    with ops.download(current, tmp_path) as archive:
        assert "metadata.json" in archive.namelist()
        assert not [n for n in archive.namelist() if n.startswith("media/")]
        exported = by_name(json.loads(archive.read("metadata.json"))["items"])
    assert exported["img002.png"]["metadata"] == {"score": 1.25, "note": "fine"}
    assert exported["img001.png"].get("metadata", {}) == {}

    # Export the snapshot from before the import, with its media files.
    ops.button("Export…").click()
    ops.dialog().get_by_label("Version").select_option(before["snapshot_id"])
    ops.dialog().get_by_label("Include the media files").check()
    ops.submit("Start export")
    snapshot = ops.exports.filter(has_text="Snapshot “before import”, with media files")
    with ops.download(snapshot, tmp_path) as archive:
        names = archive.namelist()
        exported = by_name(json.loads(archive.read("metadata.json"))["items"])
    assert all(not item.get("metadata") for item in exported.values())
    assert len([n for n in names if n.startswith("media/")]) == before["n_images"] == 3
    expect(ops.exports).to_have_count(2)
    shot(signed_in_page, artifacts, "operations-exports")


def running_task(page: Page, title: str) -> Locator:
    """The Running tasks panel's card of the task this page started under ``title``."""
    return page.locator("#activity").get_by_role("article", name=title, exact=True)


def test_a_finished_operation_stays_in_the_running_tasks_panel_worded_for_its_type(
    signed_in_page: Page,
    client: SnapsetClient,
    deployment: Deployment,
    tmp_path: Path,
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "Tidy", images=2)
    ops = DatasetOperations(signed_in_page).open(dataset_id)

    # A completed enrichment says so in its own words, and stays until dismissed.
    ops.button("Enrich…").click()
    ops.dialog().get_by_label("Image quality").check()
    ops.submit("Start enrichment")
    ops.result("enrich")
    enriching = running_task(signed_in_page, "Enriching “Tidy”")
    expect(enriching.locator(".task-outcome")).to_have_text("Enrichment completed.")
    expect(enriching.locator("progress")).to_have_attribute("value", "100")
    enriching.get_by_role("button", name="Dismiss").click()
    expect(enriching).to_have_count(0)

    # An aborted re-index reads as aborted, with the API's reason.
    deployment.stop("worker")
    ops.button("Re-index…").click()
    ops.submit("Start re-index")
    reindexing = running_task(signed_in_page, "Re-indexing “Tidy”")
    task_id = reindexing.get_attribute("data-task-id")
    client.ok("POST", f"/tasks/{task_id}/abort")
    outcome = reindexing.locator(".task-outcome")
    expect(outcome).to_contain_text("Re-index aborted: ", timeout=TASK_TIMEOUT_MS)
    task = client.ok("GET", f"/tasks/{task_id}")
    assert task["status"] == "ABORTED", task
    expect(outcome).to_have_text(
        f"Re-index aborted: {task['error_message'] or task['status_message']}"
    )
    expect(reindexing.get_by_role("button", name="Dismiss")).to_be_visible()


@pytest.mark.parametrize("ending", ["signing out", "the session ending"])
def test_the_exports_of_a_user_whose_session_ended_are_never_shown_to_the_next_one_in_the_tab(
    signed_in_page: Page,
    server: ServerProcess,
    client: SnapsetClient,
    tmp_path: Path,
    ending: str,
) -> None:
    page = signed_in_page
    dataset_id = ready_dataset(client, tmp_path / "media", "Handed over", images=2)
    successor = add_user(server, "successor@example.com")
    client.ok(
        "POST",
        f"/dataset/{dataset_id}/share",
        json={"user_email": "successor@example.com", "role": "viewer"},
    )
    ops = DatasetOperations(page).open(dataset_id)
    ops.button("Export…").click()
    ops.submit("Start export")
    expect(ops.exports.get_by_role("link", name=re.compile("^Download the export"))).to_be_visible(
        timeout=TASK_TIMEOUT_MS
    )
    page.evaluate("() => { window.sameDocument = true; }")  # a reload would forget it

    if ending == "signing out":
        page.get_by_role("button", name="Sign out").click()
    else:
        page.context.clear_cookies()
        page.get_by_role("link", name="Task Manager").click()
    page.get_by_label("API key").fill(successor.api_key)
    page.get_by_label("API secret").fill(successor.api_secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#who")).to_have_text("successor@example.com")
    successor.close()
    ops.open(dataset_id)

    assert page.evaluate("() => window.sameDocument") is True, "the page was reloaded"
    expect(ops.button("Export…")).to_be_visible()
    expect(ops.exports).to_have_count(0)
    ops.button("Export…").click()
    ops.submit("Start export")
    expect(ops.exports).to_have_count(1)


def test_filters_narrow_the_grid_by_kind_name_tag_and_label_and_keep_paging(
    signed_in_page: Page,
    client: SnapsetClient,
    tmp_path: Path,
    artifacts: Path,
) -> None:
    files = sorted(folder_of_media(tmp_path / "media", images=27, videos=2).iterdir())
    dataset_id = client.create_dataset("Many", files=files)
    client.wait_status(dataset_id, "READY")
    items = by_name(client.media(dataset_id))
    tagged = [items[f"img00{n}.png"]["media_id"] for n in (1, 2, 3)]
    client.ok(
        "POST", f"/dataset/{dataset_id}/media/tags", json={"media_ids": tagged, "add": ["night"]}
    )
    client.ok(
        "POST", f"/dataset/{dataset_id}/media/tags", json={"media_ids": tagged[:2], "add": ["rain"]}
    )
    label(client, dataset_id, tagged[2], "boat")
    ops = DatasetOperations(signed_in_page).open(dataset_id)
    expect(ops.media_count).to_have_text(f"{len(files)} items")

    def names(**query: str) -> list[str]:
        return [m["file_name"] for m in client.media(dataset_id, **query)]

    images = names(kind="image")
    ops.filter("Kind", "image")
    expect(ops.media_count).to_have_text(f"{len(images)} items match the filters.")
    ops.expect_tiles(images[:24])
    pages = signed_in_page.get_by_role("navigation", name="Media pages")
    pages.get_by_role("button", name="Next").click()
    ops.expect_tiles(images[24:])
    expect(pages).to_contain_text(f"Page 2 of 2 · 25\N{EN DASH}{len(images)} of {len(images)}")

    ops.filter("Kind", "video")
    ops.expect_tiles(names(kind="video"))
    ops.filter("Kind", "")
    ops.filter("File name contains", "IMG01")
    ops.expect_tiles(names(q="IMG01"))
    ops.filter("File name contains", "")
    ops.filter("Tags", "night, rain")
    ops.expect_tiles(names(tag="night,rain"))
    assert len(names(tag="night,rain")) == 2
    shot(signed_in_page, artifacts, "operations-filters")
    signed_in_page.get_by_role("button", name="Clear filters").click()
    ops.filter("Label class", "boat")
    ops.expect_tiles(names(label="boat"))
    ops.filter("Label class", "no such label")
    expect(signed_in_page.locator("#media-grid .empty")).to_have_text(
        "No media matches the filters."
    )


def test_writes_are_disabled_with_the_reason_on_a_draft_dataset_and_for_a_viewer_who_may_export(
    page: Page,
    server: ServerProcess,
    client: SnapsetClient,
    tmp_path: Path,
    artifacts: Path,
) -> None:
    draft_id = client.create_dataset("Empty")
    assert client.dataset(draft_id)["status"] == "DRAFT"
    dataset_id = ready_dataset(client, tmp_path / "media", "Shared", images=2)
    viewer = add_user(server, "viewer@example.com")
    client.ok(
        "POST",
        f"/dataset/{dataset_id}/share",
        json={"user_email": "viewer@example.com", "role": "viewer"},
    )

    sign_in(page, client)
    ops = DatasetOperations(page).open(draft_id)
    expect(ops.status).to_have_text("DRAFT")
    for name in WRITE_OPERATIONS:
        expect(ops.button(name)).to_be_disabled()
        expect(ops.button(name)).to_have_attribute(
            "title", "The dataset has no media yet; add media first."
        )
    expect(ops.button("Export…")).to_be_enabled()
    expect(page.locator("#cluster-count")).to_have_text(
        "No clusters yet. Re-index the dataset to group near-duplicate images."
    )

    sign_in(page, viewer)
    viewer.close()
    ops.open(dataset_id)
    reason = VIEWER_REASON
    for name in WRITE_OPERATIONS:
        expect(ops.button(name)).to_be_disabled()
        expect(ops.button(name)).to_have_attribute("title", reason)
    expect(ops.reason).to_contain_text(reason)
    expect(ops.button("Export…")).to_be_enabled()
    shot(page, artifacts, "operations-viewer")

    ops.button("Export…").click()
    ops.submit("Start export")
    with ops.download(ops.exports.first, tmp_path) as archive:
        assert "metadata.json" in archive.namelist()


def sign_in(page: Page, user: SnapsetClient) -> None:
    """Sign ``page`` in as ``user`` through POST /ui/session, then load the app afresh."""
    answer = page.request.post(
        "/ui/session", data={"api_key": user.api_key, "api_secret": user.api_secret}
    )
    assert answer.status == 200, answer.text()
    page.goto("about:blank")
