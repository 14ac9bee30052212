"""The Datasets page: the list (name, status, counts, owner) and creating a dataset by
uploading files, followed until it is READY.

An API-only server with a worker the test starts and stops (tests/e2e/helpers.Deployment)
keeps the new dataset INDEXING for as long as the test looks at it.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, Request, expect

from tests.browser import screens
from tests.browser.screens import TASK_TIMEOUT_MS, shot
from tests.e2e import helpers
from tests.e2e.helpers import ADMIN_EMAIL, Deployment
from tests.support.client import SnapsetClient
from tests.support.media import folder_of_media

deployment = helpers.deployment
client = screens.client


server = screens.deployment_server


def test_uploading_files_creates_a_dataset_the_list_follows_until_it_is_ready(
    signed_in_page: Page,
    client: SnapsetClient,
    deployment: Deployment,
    tmp_path: Path,
    artifacts: Path,
) -> None:
    files = sorted(folder_of_media(tmp_path / "upload", images=3, videos=1).iterdir())
    images = len([f for f in files if f.suffix == ".png"])
    videos = len([f for f in files if f.suffix == ".mp4"])
    deployment.stop("worker")
    page = signed_in_page

    page.get_by_label("Name").fill("Upload test")
    page.get_by_label("Files").set_input_files([str(f) for f in files])
    page.get_by_role("button", name="Create dataset").click()

    expect(
        page.get_by_role("status").filter(has_text="Dataset “Upload test” created")
    ).to_be_visible()
    [created] = client.ok("GET", "/datasets")["datasets"]
    row = page.locator(f'#datasets-table tr[data-dataset-id="{created["id"]}"]')
    expect(row.get_by_role("link")).to_have_text("Upload test")
    expect(row.locator(".badge")).to_have_text("INDEXING")
    expect(row).to_contain_text(ADMIN_EMAIL)

    deployment.start("worker")

    expect(row.locator(".badge")).to_have_text("READY", timeout=TASK_TIMEOUT_MS)
    expect(row.locator('[data-col="images"]')).to_have_text(str(images))
    expect(row.locator('[data-col="videos"]')).to_have_text(str(videos))
    expect(row.locator('[data-col="items"]')).to_have_text(str(images + videos))
    dataset = client.dataset(created["id"])
    assert (dataset["n_images"], dataset["n_videos"]) == (images, videos)
    shot(page, artifacts, "datasets")


def test_the_create_form_asks_for_a_name_and_files_before_sending_anything(
    signed_in_page: Page,
    tmp_path: Path,
) -> None:
    page = signed_in_page
    posts: list[Request] = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)

    page.get_by_role("button", name="Create dataset").click()
    expect(page.locator("#new-dataset-error")).to_have_text("Enter a name for the dataset.")
    page.get_by_label("Name").fill("No files")
    page.get_by_role("button", name="Create dataset").click()
    expect(page.locator("#new-dataset-error")).to_have_text("Choose at least one file to upload.")

    assert posts == []
