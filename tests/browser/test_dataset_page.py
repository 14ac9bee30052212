"""A dataset's page: the media thumbnail grid with paging, and the audit history timeline."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from adapters.views.media_search import SearchLimits
from tests.browser import screens
from tests.browser.screens import expect_images_loaded, ready_dataset, shot
from tests.e2e.helpers import ADMIN_EMAIL
from tests.support.client import SnapsetClient
from tests.support.media import image

client = screens.client
MEDIA_PAGE = 24
HISTORY_PAGE = 15
COUNTED_AT_MOST = SearchLimits().count_at_most


def test_the_media_grid_pages_through_loaded_thumbnails(
    signed_in_page: Page,
    client: SnapsetClient,
    tmp_path: Path,
    artifacts: Path,
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "Thirty", images=28, videos=2)
    names = [m["file_name"] for m in client.media(dataset_id)]  # the API's default order
    assert len(names) > MEDIA_PAGE
    page = signed_in_page
    page.set_viewport_size({"width": 1280, "height": 2400})  # every tile in view: none lazy
    page.goto(f"/#/datasets/{dataset_id}")
    tiles = page.locator("#media-grid .media-tile")

    expect(tiles).to_have_count(MEDIA_PAGE)
    assert tiles.locator(".file-name").all_inner_texts() == names[:MEDIA_PAGE]
    expect_images_loaded(tiles.locator("img"))
    expect(page.locator("#dataset-title")).to_have_text("Thirty")
    expect(page.locator(".dataset-facts")).to_contain_text("30 items (28 images, 2 videos)")
    shot(page, artifacts, "dataset")

    media_pager = page.get_by_role("navigation", name="Media pages")
    media_pager.get_by_role("button", name="Next").click()
    expect(tiles).to_have_count(len(names) - MEDIA_PAGE)
    assert tiles.locator(".file-name").all_inner_texts() == names[MEDIA_PAGE:]
    expect(media_pager).to_contain_text(
        f"Page 2 of 2 · {MEDIA_PAGE + 1}\N{EN DASH}{len(names)} of {len(names)}"
    )
    expect(media_pager.get_by_role("button", name="Next")).to_be_disabled()

    media_pager.get_by_role("button", name="Previous").click()
    expect(tiles.first.locator(".file-name")).to_have_text(names[0])
    expect(tiles).to_have_count(MEDIA_PAGE)


def test_the_history_timeline_says_who_did_what_and_when_newest_first(
    signed_in_page: Page,
    client: SnapsetClient,
    tmp_path: Path,
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "Logged", images=2)
    alpha = client.create_snapshot(dataset_id, name="alpha")
    client.edit_snapshot(dataset_id, alpha["snapshot_id"], name="alpha two")
    for number in range(12):
        client.create_snapshot(dataset_id, name=f"run {number}")
    client.create_snapshot(dataset_id, name="newest", description="the last one")
    events = client.ok("GET", f"/dataset/{dataset_id}/history", params={"page_size": 100})["events"]
    assert len(events) > HISTORY_PAGE
    newest_first = list(reversed(events))
    page = signed_in_page
    page.goto(f"/#/datasets/{dataset_id}")
    items = page.locator("#history-list .timeline-item")

    expect(items).to_have_count(HISTORY_PAGE)
    shown = [int(p) for p in items.evaluate_all("els => els.map(e => e.dataset.position)")]
    assert shown == [e["position"] for e in newest_first[:HISTORY_PAGE]]
    expect(items.first).to_contain_text(f"{ADMIN_EMAIL} created snapshot “newest”")
    expect(items.first.locator("time")).to_have_attribute(
        "datetime", newest_first[0]["at"][:23] + "Z"
    )

    renamed = items.filter(has_text="renamed a snapshot to “alpha two”")
    expect(renamed).to_contain_text(ADMIN_EMAIL)
    expect(renamed).to_have_attribute("data-event-type", "SnapshotUpdated")

    history_pager = page.get_by_role("navigation", name="History pages")
    expect(history_pager).to_contain_text(f"Page 1 of 2 · {len(events)} events, newest first")
    history_pager.get_by_role("button", name="Older").click()
    expect(items).to_have_count(len(events) - HISTORY_PAGE)
    shown = [int(p) for p in items.evaluate_all("els => els.map(e => e.dataset.position)")]
    assert shown == [e["position"] for e in newest_first[HISTORY_PAGE:]]
    expect(items.last).to_contain_text(f"{ADMIN_EMAIL} created the dataset “Logged”")


def test_a_filter_matching_more_than_is_counted_shows_a_lower_bound_and_pages_on(
    signed_in_page: Page,
    client: SnapsetClient,
    tmp_path: Path,
    artifacts: Path,
) -> None:
    # More matches than the server counts for a page (media_search: SearchLimits), so the
    # total it answers is a lower bound, flagged; the UI must say so and still page on.
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(COUNTED_AT_MOST + 100):
        image(folder / f"shot{i:04d}.png", 4, 4, (i * 37 % 256, 120 + i % 100, 200))
    dataset_id = client.create_dataset("Many", files=sorted(folder.iterdir()))
    client.wait_status(dataset_id, "READY", timeout=120)
    body = client.ok("GET", f"/dataset/{dataset_id}/media", params={"q": "shot", "page_size": 24})
    assert body["total_is_lower_bound"], body["total"]
    total = f"{body['total']:,}"
    page = signed_in_page
    page.goto(f"/#/datasets/{dataset_id}")
    tiles = page.locator("#media-grid .media-tile")
    expect(page.locator("#media-count")).to_have_text(f"{COUNTED_AT_MOST + 100:,} items")

    page.get_by_label("File name contains").fill("shot")

    expect(page.locator("#media-count")).to_have_text(f"{total}+ items match the filters.")
    media_pager = page.get_by_role("navigation", name="Media pages")
    expect(media_pager).to_contain_text(f"Page 1 · 1\N{EN DASH}24 of at least {total}")
    expect(tiles).to_have_count(MEDIA_PAGE)
    shot(page, artifacts, "dataset-lower-bound")
    media_pager.get_by_role("button", name="Next").click()
    expect(media_pager).to_contain_text(f"Page 2 · 25\N{EN DASH}48 of at least {total}")
    expect(tiles.first.locator(".file-name")).to_have_text("shot0024.png")
    expect(media_pager.get_by_role("button", name="Previous")).to_be_enabled()
