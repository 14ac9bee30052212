"""Page objects for the web UI's screens, and the API client the browser tests set up with.

Tests drive the page through what a person sees (roles, labels, visible text); these name
those things once. A module opts into the API client fixture with ``client = screens.client``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e import helpers
from tests.e2e.helpers import Deployment
from tests.support.client import SnapsetClient
from tests.support.server import ServerProcess

# What a viewer is told on every write action (adapters/web/static/access.js).
VIEWER_REASON = "You are a viewer of this dataset; only its editors and owners can change it."

TASK_TIMEOUT_MS = 30_000


@pytest.fixture
def client(server: ServerProcess) -> Iterator[SnapsetClient]:
    """The server's first admin, through the JSON API with a Bearer token."""
    c = SnapsetClient(server.base_url, server.api_key, server.api_secret)
    yield c
    c.close()


ready_dataset = helpers.ready_dataset


@pytest.fixture(name="server")
def deployment_server(deployment: Deployment) -> ServerProcess:
    """For modules that set ``server = screens.deployment_server``: the page's server is an
    API-only one whose worker the test can stop and start (tests.e2e.helpers.Deployment)."""
    deployment.start("worker")
    return deployment.server


def expect_images_loaded(images: Locator) -> None:
    """Each image finished loading and decoded to a picture (a broken one has no width).

    Waits with ``expect`` on each element: ``page.wait_for_function`` would evaluate a
    string in the page, which the UI's Content-Security-Policy (no 'unsafe-eval') refuses.
    """
    for index in range(images.count()):
        image = images.nth(index)
        expect(image).to_have_js_property("complete", True)
        assert image.evaluate("(img) => img.naturalWidth") > 0, image.get_attribute("src")


def shot(page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"ui-{name}.png"), full_page=True)


class Catalog:
    """The Snapshot Catalog of one dataset."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.table = page.locator("#snapshot-table")
        self.rows = page.locator("#snapshot-table tbody tr")
        self.visible_rows = page.locator("#snapshot-table tbody tr:visible")
        self.search = page.get_by_label("Search snapshots")
        self.create_button = page.get_by_role("button", name="Create a snapshot")
        self.dataset_status = page.locator("#dataset-status")

    def open(self, dataset_id: str) -> Catalog:
        self.page.goto(f"/#/datasets/{dataset_id}/snapshots")
        expect(self.rows.first).to_be_visible()
        return self

    def row(self, name: str) -> Locator:
        return self.rows.filter(
            has=self.page.locator("th .name-text", has_text=re.compile(f"^{re.escape(name)}$"))
        )

    def row_by_id(self, snapshot_id: str) -> Locator:
        return self.page.locator(f'#snapshot-table tbody tr[data-snapshot-id="{snapshot_id}"]')

    def names(self) -> list[str]:
        return self.visible_rows.locator("th .name-text").all_inner_texts()

    def menu_button(self, name: str) -> Locator:
        return self.page.get_by_role("button", name=f"Actions for {name}", exact=True)

    def open_menu(self, name: str) -> Locator:
        self.menu_button(name).click()
        menu = self.page.get_by_role("menu")
        expect(menu).to_be_visible()
        return menu

    def item(self, label: str) -> Locator:
        return (
            self.page.get_by_role("menu")
            .get_by_role("menuitem")
            .filter(
                has=self.page.locator(".menu-label", has_text=re.compile(f"^{re.escape(label)}$"))
            )
        )

    def choose(self, name: str, label: str) -> None:
        self.open_menu(name)
        self.item(label).click()

    def dialog(self) -> Locator:
        return self.page.locator("dialog[open]")

    def no_dialog(self) -> None:
        """Wait until every dialog is gone: closed, and its close handling done."""
        expect(self.page.locator("dialog")).to_have_count(0)

    def confirm(self, button: str) -> None:
        self.dialog().get_by_role("button", name=button, exact=True).click()
        self.no_dialog()

    def task_card(self) -> Locator:
        return self.page.locator("#activity .task-card").first


def snapshot_by_name(snapshots: list[dict[str, Any]], name: str) -> dict[str, Any]:
    [found] = [s for s in snapshots if s["snapshot_name"] == name]
    return found
