"""Page objects for the dataset page's operations: the Operations panel and its dialogs, the
Clusters section, the media grid's filters and the item details dialog."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.browser.screens import TASK_TIMEOUT_MS
from tests.support.media import photo

WRITE_OPERATIONS = ("Enrich…", "Re-index…", "Propagate labels…", "Import metadata…")


class DatasetOperations:
    """A dataset's page, seen through its operations."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.status = page.locator("#dataset-status")
        self.reason = page.locator("#operations-reason")
        self.results = page.locator("#operation-results .op-result")
        self.tiles = page.locator("#media-grid .media-tile")
        self.media_count = page.locator("#media-count")
        self.clusters = page.locator("#cluster-list .op-cluster")
        self.exports = page.locator("#export-list .op-export")

    def open(self, dataset_id: str) -> DatasetOperations:
        self.page.goto(f"/#/datasets/{dataset_id}")
        expect(self.page.locator("#media-grid")).not_to_have_attribute("aria-busy", "true")
        expect(self.page.locator("#cluster-list")).not_to_have_attribute("aria-busy", "true")
        return self

    def button(self, label: str) -> Locator:
        return self.page.get_by_role("group", name="Dataset operations").get_by_role(
            "button", name=label, exact=True
        )

    def dialog(self) -> Locator:
        return self.page.locator("dialog[open]")

    def no_dialog(self) -> None:
        expect(self.page.locator("dialog")).to_have_count(0)

    def submit(self, label: str) -> None:
        self.dialog().get_by_role("button", name=label, exact=True).click()
        self.no_dialog()

    def result(self, kind: str) -> Locator:
        """The newest outcome of an operation kind (enrich, reindex, propagate, metadata),
        once its report has been read."""
        found = self.page.locator(f'#operation-results .op-result[data-kind="{kind}"]').first
        expect(found).to_be_visible(timeout=TASK_TIMEOUT_MS)
        expect(found.locator(".op-summary")).not_to_have_text("Reading the report…")
        return found

    def tile_names(self) -> list[str]:
        return self.tiles.locator(".file-name").all_inner_texts()

    def expect_tiles(self, names: list[str]) -> None:
        expect(self.tiles.locator(".file-name")).to_have_text(names)

    def filter(self, label: str, value: str) -> None:
        field = self.page.get_by_role("search", name="Filter the media").get_by_label(
            label, exact=True
        )
        if field.evaluate("(el) => el.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
            field.press("Enter")

    def details(self, file_name: str) -> Locator:
        self.page.get_by_role("button", name=f"Details of {file_name}", exact=True).click()
        dialog = self.dialog()
        expect(dialog.get_by_role("heading", level=2)).to_have_text(file_name)
        return dialog

    def close_dialog(self) -> None:
        self.dialog().get_by_role("button", name="Close").click()
        self.no_dialog()

    def download(self, export: Locator, into: Path) -> zipfile.ZipFile:
        link = export.get_by_role("link", name=re.compile("^Download the export"))
        expect(link).to_be_visible(timeout=TASK_TIMEOUT_MS)
        with self.page.expect_download() as started:
            link.click()
        target = into / started.value.suggested_filename
        started.value.save_as(target)
        return zipfile.ZipFile(target)


def near_duplicate_photos(folder: Path) -> list[Path]:
    """Five photos: two pairs of near-duplicates (a resized copy each) and one loner."""
    return [
        photo(folder / "a.png", seed=1),
        photo(folder / "a_small.png", seed=1, width=64, height=64),
        photo(folder / "b.png", seed=2),
        photo(folder / "b_small.png", seed=2, width=72, height=72),
        photo(folder / "c.png", seed=3),
    ]


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["file_name"]: item for item in items}
