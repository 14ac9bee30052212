"""The Snapshot Catalog while a restore or a clone is running: READ ONLY and Restoring shown,
the actions that cannot run disabled with their reason, and the page following the task to
its end.

These run against an API-only server with a projector process and a worker the test starts
and stops (tests/e2e/helpers.Deployment), so a task stays pending exactly as long as the test
needs: no timing, no sleeps.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser import screens
from tests.browser.screens import TASK_TIMEOUT_MS, Catalog, ready_dataset, snapshot_by_name
from tests.e2e import helpers
from tests.e2e.helpers import Deployment
from tests.support.client import SnapsetClient

deployment = helpers.deployment
client = screens.client


server = screens.deployment_server


def test_a_restore_shows_read_only_and_restoring_until_it_completes(
    signed_in_page: Page,
    client: SnapsetClient,
    deployment: Deployment,
    tmp_path: Path,
    artifacts: Path,
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "Harbour", images=3)
    alpha = client.create_snapshot(dataset_id, name="alpha")
    client.edit_media(dataset_id, client.media(dataset_id)[0]["media_id"], tags=["later"])
    client.create_snapshot(dataset_id, name="beta")
    deployment.stop("worker")
    catalog = Catalog(signed_in_page).open(dataset_id)

    catalog.choose("alpha", "Restore")
    catalog.confirm("Restore")

    card = catalog.task_card()
    expect(card).to_contain_text("Restoring “alpha” in “Harbour”")
    expect(card.locator("[data-role=task-dataset-status]")).to_have_text("READ ONLY")
    expect(catalog.dataset_status).to_have_text("READ ONLY")
    row = catalog.row_by_id(alpha["snapshot_id"])
    expect(row.locator(".snapshot-status")).to_have_text("Restoring")
    expect(catalog.create_button).to_be_disabled()
    reason = "Snapshots can be taken only when the dataset is READY; it is READ ONLY now."
    expect(catalog.create_button).to_have_attribute("title", reason)
    expect(signed_in_page.locator("#create-snapshot-reason")).to_have_text(reason)

    catalog.open_menu("alpha")
    for label in ("Restore", "Clone", "Remove"):
        expect(catalog.item(label)).to_have_attribute("aria-disabled", "true")
        expect(catalog.item(label)).to_have_attribute("title", "This snapshot is being restored.")
    signed_in_page.keyboard.press("Escape")
    catalog.open_menu("beta")
    expect(catalog.item("Clone")).to_have_attribute(
        "title", "The dataset is READ ONLY while a task runs; wait until it finishes."
    )
    signed_in_page.keyboard.press("Escape")
    signed_in_page.screenshot(path=str(artifacts / "ui-restore-running.png"), full_page=True)

    deployment.start("worker")

    expect(card).to_contain_text("Restore completed.", timeout=TASK_TIMEOUT_MS)
    expect(catalog.dataset_status).to_have_text("READY")
    expect(row.locator(".snapshot-status")).to_have_text("Current Version")
    expect(catalog.table.get_by_text("Current Version")).to_have_count(1)
    expect(catalog.create_button).to_be_enabled()
    listed = client.snapshots(dataset_id)
    assert snapshot_by_name(listed, "alpha")["is_current"] is True
    expect(catalog.rows).to_have_count(len(listed))  # the automatic checkpoint shows up
    assert [s["snapshot_name"] for s in listed] == catalog.names()


def test_a_running_clone_blocks_its_own_snapshot_and_restores_until_it_ends(
    signed_in_page: Page,
    client: SnapsetClient,
    deployment: Deployment,
    tmp_path: Path,
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "Quay", images=2)
    client.create_snapshot(dataset_id, name="alpha")
    client.create_snapshot(dataset_id, name="beta")
    deployment.stop("worker")
    catalog = Catalog(signed_in_page).open(dataset_id)

    catalog.choose("alpha", "Clone")
    catalog.confirm("Clone")

    card = catalog.task_card()
    expect(card).to_contain_text("Cloning “alpha” into “Quay (cloned)”")
    expect(card.locator("[data-role=task-dataset-status]")).to_have_text("INDEXING")
    expect(catalog.dataset_status).to_have_text("READY")  # a clone does not block its source
    expect(catalog.create_button).to_be_enabled()
    catalog.open_menu("alpha")
    for label in ("Clone", "Restore", "Remove"):
        expect(catalog.item(label)).to_have_attribute(
            "title", "A clone of this snapshot is running."
        )
    signed_in_page.keyboard.press("Escape")
    first = client.snapshots(dataset_id)[-1]["snapshot_name"]  # the one taken at creation
    catalog.open_menu(first)
    expect(catalog.item("Restore")).to_have_attribute(
        "title", "A clone from this dataset is running; wait until it finishes."
    )
    expect(catalog.item("Clone")).not_to_have_attribute("aria-disabled", "true")
    signed_in_page.keyboard.press("Escape")

    deployment.start("worker")

    expect(card).to_contain_text("Clone completed.", timeout=TASK_TIMEOUT_MS)
    catalog.open_menu("alpha")
    expect(catalog.item("Clone")).not_to_have_attribute("aria-disabled", "true")
    expect(catalog.item("Restore")).not_to_have_attribute("aria-disabled", "true")
    signed_in_page.keyboard.press("Escape")
    signed_in_page.goto("/#/datasets")
    expect(
        signed_in_page.locator("#datasets-table")
        .get_by_role("row")
        .filter(has_text="Quay (cloned)")
    ).to_contain_text("READY")


def test_create_is_disabled_with_its_reason_while_the_dataset_is_not_ready(
    signed_in_page: Page,
    client: SnapsetClient,
    deployment: Deployment,
    tmp_path: Path,
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "Pier", images=2)
    [creation] = client.snapshots(dataset_id)
    client.create_snapshot(dataset_id, name="alpha")
    deployment.stop("worker")
    started = client.restore(dataset_id, creation["snapshot_id"])  # not from this page
    catalog = Catalog(signed_in_page).open(dataset_id)

    expect(catalog.dataset_status).to_have_text("READ ONLY")
    expect(catalog.create_button).to_be_disabled()
    reason = "Snapshots can be taken only when the dataset is READY; it is READ ONLY now."
    expect(catalog.create_button).to_have_attribute("title", reason)
    expect(signed_in_page.get_by_text(reason)).to_be_visible()
    expect(catalog.row_by_id(creation["snapshot_id"]).locator(".snapshot-status")).to_have_text(
        "Restoring"
    )

    deployment.start("worker")
    assert client.wait_task(started["task_id"])["status"] == "COMPLETED"

    expect(catalog.dataset_status).to_have_text("READY", timeout=TASK_TIMEOUT_MS)
    expect(catalog.create_button).to_be_enabled()
    expect(signed_in_page.locator("#create-snapshot-reason")).to_have_text("")
    expect(catalog.row_by_id(creation["snapshot_id"]).locator(".snapshot-status")).to_have_text(
        "Current Version"
    )
