"""The Snapshot Catalog in a real browser: listing, search, create, edit, copy id, remove,
restore (with its preview of what would change), clone, the disabled cases, keyboard use of
the menu, API errors, and render time.

Expectations come from the JSON API (a Bearer client beside the page), never from the UI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Request, expect

from tests.browser import screens
from tests.browser.screens import (
    TASK_TIMEOUT_MS,
    Catalog,
    expect_images_loaded,
    ready_dataset,
    shot,
    snapshot_by_name,
)
from tests.e2e.helpers import finish
from tests.support.client import SnapsetClient
from tests.support.media import image
from tests.support.server import ServerProcess

client = screens.client


def two_snapshots(client: SnapsetClient, tmp_path: Path, name: str = "Street scenes") -> str:
    dataset_id = ready_dataset(client, tmp_path / "media", name, images=3, videos=1)
    client.create_snapshot(dataset_id, name="alpha", description="first labelling pass")
    client.create_snapshot(dataset_id, name="beta")
    return dataset_id


def alpha_in_the_catalog(
    page: Page, client: SnapsetClient, tmp_path: Path, name: str = "Street scenes"
) -> tuple[str, dict[str, Any], Catalog]:
    """``two_snapshots``' dataset open in the catalog, and its "alpha" as the API lists it."""
    dataset_id = two_snapshots(client, tmp_path, name)
    alpha = snapshot_by_name(client.snapshots(dataset_id), "alpha")
    return dataset_id, alpha, Catalog(page).open(dataset_id)


def alpha_gone_behind_the_pages_back(
    page: Page,
    client: SnapsetClient,
    tmp_path: Path,
) -> tuple[str, Catalog]:
    """``alpha_in_the_catalog``, then "alpha" removed through the API, so the page still
    offers it; the API path of "alpha", and the catalog."""
    dataset_id, alpha, catalog = alpha_in_the_catalog(page, client, tmp_path)
    client.delete_snapshot(dataset_id, alpha["snapshot_id"])
    return f"/dataset/{dataset_id}/snapshot/{alpha['snapshot_id']}", catalog


def test_the_catalog_lists_every_snapshot_newest_first_with_its_fields(
    signed_in_page: Page,
    client: SnapsetClient,
    tmp_path: Path,
    artifacts: Path,
) -> None:
    dataset_id = two_snapshots(client, tmp_path)
    listed = client.snapshots(dataset_id)
    assert [s["created_at"] for s in listed] == sorted(
        (s["created_at"] for s in listed), reverse=True
    )

    catalog = Catalog(signed_in_page).open(dataset_id)

    expect(catalog.rows).to_have_count(len(listed))
    assert catalog.names() == [s["snapshot_name"] for s in listed]
    for snapshot in listed:
        row = catalog.row_by_id(snapshot["snapshot_id"])
        status = row.locator(".snapshot-status")
        if snapshot["is_current"]:
            expect(status).to_have_text("Current Version")
        else:
            expect(status).to_have_text("")
        expect(row.locator(".snapshot-description")).to_have_text(snapshot["description"] or "—")
        expect(row.locator(".snapshot-items")).to_have_text(
            str(snapshot["n_images"] + snapshot["n_videos"])
        )
        expect(row.locator(".snapshot-author")).to_have_text(snapshot["created_by"])
        expect(row.locator(".snapshot-created time")).to_have_attribute(
            "datetime", snapshot["created_at"][:23] + "Z"
        )
    expect(catalog.dataset_status).to_have_text("READY")
    shot(signed_in_page, artifacts, "catalog")


def test_creating_a_snapshot_needs_a_name_and_adds_it_as_the_current_version(
    signed_in_page: Page,
    client: SnapsetClient,
    tmp_path: Path,
) -> None:
    dataset_id = two_snapshots(client, tmp_path)
    catalog = Catalog(signed_in_page).open(dataset_id)
    posts: list[Request] = []
    signed_in_page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)

    catalog.create_button.click()
    dialog = catalog.dialog()
    expect(dialog.get_by_role("heading")).to_have_text("Create a snapshot")
    dialog.get_by_role("button", name="Create snapshot").click()
    expect(dialog.get_by_role("alert")).to_have_text("Enter a name.")
    assert posts == [], "an empty name never reaches the server"

    dialog.get_by_label("Name").fill("gamma")
    dialog.get_by_label("Description").fill("after review")
    dialog.get_by_role("button", name="Create snapshot").click()
    catalog.no_dialog()

    newest = client.snapshots(dataset_id)[0]
    assert (newest["snapshot_name"], newest["description"], newest["is_current"]) == (
        "gamma",
        "after review",
        True,
    )
    expect(catalog.rows.first).to_have_attribute("data-snapshot-id", newest["snapshot_id"])
    expect(catalog.rows.first.locator(".snapshot-status")).to_have_text("Current Version")
    expect(catalog.table.get_by_text("Current Version")).to_have_count(1)
    expect(
        signed_in_page.get_by_role("status").filter(has_text="Snapshot “gamma” created.")
    ).to_be_visible()


def test_a_snapshot_dialogs_error_clears_once_the_user_edits_a_field_as_in_every_form_dialog(
    signed_in_page: Page,
    client: SnapsetClient,
    tmp_path: Path,
) -> None:
    dataset_id = two_snapshots(client, tmp_path)
    catalog = Catalog(signed_in_page).open(dataset_id)
    catalog.create_button.click()
    dialog = catalog.dialog()
    dialog.get_by_role("button", name="Create snapshot").click()
    error = dialog.get_by_role("alert")
    expect(error).to_have_text("Enter a name.")
    expect(dialog.get_by_label("Name")).to_be_focused()

    signed_in_page.keyboard.type("g")

    expect(error).to_have_text("")
    dialog.get_by_role("button", name="Cancel").click()
    catalog.no_dialog()


def test_editing_a_snapshot_saves_its_name_and_description_in_place(
    signed_in_page: Page,
    client: SnapsetClient,
    tmp_path: Path,
) -> None:
    dataset_id, alpha, catalog = alpha_in_the_catalog(signed_in_page, client, tmp_path)
    order = catalog.names()
    reads: list[str] = []
    signed_in_page.on("request", lambda r: reads.append(r.url) if r.method == "GET" else None)

    catalog.choose("alpha", "Edit")
    dialog = catalog.dialog()
    expect(dialog.get_by_label("Name")).to_have_value("alpha")
    expect(dialog.get_by_label("Description")).to_have_value("first labelling pass")
    dialog.get_by_label("Name").fill("alpha reviewed")
    dialog.get_by_label("Description").fill("checked by two people")
    dialog.get_by_role("button", name="Save").click()
    catalog.no_dialog()

    row = catalog.row_by_id(alpha["snapshot_id"])
    expect(row.locator(".name-text")).to_have_text("alpha reviewed")
    expect(row.locator(".snapshot-description")).to_have_text("checked by two people")
    assert catalog.names() == [("alpha reviewed" if n == "alpha" else n) for n in order]
    saved = snapshot_by_name(client.snapshots(dataset_id), "alpha reviewed")
    assert (saved["snapshot_id"], saved["description"]) == (
        alpha["snapshot_id"],
        "checked by two people",
    )
    assert not [u for u in reads if u.endswith("/snapshot")], "saved in place, no reload"
    expect(catalog.menu_button("alpha reviewed")).to_be_focused()


def test_copy_snapshot_id_puts_the_id_on_the_clipboard_and_says_so(
    signed_in_page: Page,
    client: SnapsetClient,
    server: ServerProcess,
    tmp_path: Path,
) -> None:
    signed_in_page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=server.base_url
    )
    _, alpha, catalog = alpha_in_the_catalog(signed_in_page, client, tmp_path)

    catalog.choose("alpha", "Copy Snapshot ID")

    expect(
        signed_in_page.get_by_role("status").filter(has_text=alpha["snapshot_id"])
    ).to_contain_text("copied")
    assert signed_in_page.evaluate("navigator.clipboard.readText()") == alpha["snapshot_id"]


def test_remove_asks_first_then_hides_the_snapshot_and_leaves_the_data_alone(
    signed_in_page: Page,
    client: SnapsetClient,
    tmp_path: Path,
    artifacts: Path,
) -> None:
    dataset_id, alpha, catalog = alpha_in_the_catalog(signed_in_page, client, tmp_path)
    media = client.media(dataset_id)

    catalog.choose("alpha", "Remove")
    dialog = catalog.dialog()
    expect(dialog.get_by_role("heading")).to_have_text("Remove “alpha”?")
    expect(dialog).to_contain_text("hidden from the catalog")
    expect(dialog).to_contain_text("are not touched")
    shot(signed_in_page, artifacts, "confirm-remove")
    catalog.confirm("Cancel")
    expect(catalog.row("alpha")).to_have_count(1)
    assert alpha["snapshot_id"] in [s["snapshot_id"] for s in client.snapshots(dataset_id)]

    catalog.choose("alpha", "Remove")
    catalog.confirm("Remove")

    expect(catalog.row("alpha")).to_have_count(0)
    assert alpha["snapshot_id"] not in [s["snapshot_id"] for s in client.snapshots(dataset_id)]
    assert client.media(dataset_id) == media


def test_the_current_snapshot_cannot_be_restored_or_removed_and_the_menu_says_why(
    signed_in_page: Page,
    client: SnapsetClient,
    tmp_path: Path,
    artifacts: Path,
) -> None:
    dataset_id = two_snapshots(client, tmp_path)
    current = [s for s in client.snapshots(dataset_id) if s["is_current"]]
    assert [s["snapshot_name"] for s in current] == ["beta"]
    catalog = Catalog(signed_in_page).open(dataset_id)

    catalog.open_menu("beta")
    shot(signed_in_page, artifacts, "menu-open")

    restore, remove = catalog.item("Restore"), catalog.item("Remove")
    expect(restore).to_have_attribute("aria-disabled", "true")
    expect(restore).to_have_attribute("title", "This snapshot is already the current version.")
    expect(restore).to_contain_text("This snapshot is already the current version.")
    expect(remove).to_have_attribute("aria-disabled", "true")
    expect(remove).to_have_attribute("title", "The current version cannot be removed.")
    for enabled in ("Edit", "Clone", "Copy Snapshot ID"):
        expect(catalog.item(enabled)).not_to_have_attribute("aria-disabled", "true")
    restore.click(force=True)  # Playwright would wait for it to be enabled
    remove.focus()
    signed_in_page.keyboard.press("Enter")
    catalog.no_dialog()
    expect(remove).to_be_focused()  # nothing happened: the menu stays open

    signed_in_page.keyboard.press("Escape")
    catalog.open_menu("alpha")
    expect(catalog.item("Restore")).not_to_have_attribute("aria-disabled", "true")
    expect(catalog.item("Remove")).not_to_have_attribute("aria-disabled", "true")


def test_search_filters_snapshots_by_name_or_description(
    signed_in_page: Page,
    client: SnapsetClient,
    tmp_path: Path,
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "search", images=2)
    client.create_snapshot(dataset_id, name="Nightly run", description="")
    client.create_snapshot(dataset_id, name="labels", description="after the NIGHT shift")
    client.create_snapshot(dataset_id, name="daytime", description="sunny images")
    listed = client.snapshots(dataset_id)
    catalog = Catalog(signed_in_page).open(dataset_id)

    for query in ("night", "SUNNY", "a", "zzz"):
        catalog.search.fill(query)
        wanted = [
            s["snapshot_name"]
            for s in listed
            if query.lower() in f"{s['snapshot_name']}\n{s['description']}".lower()
        ]
        expect(catalog.visible_rows).to_have_count(len(wanted))
        assert catalog.names() == wanted
        if wanted:
            expect(signed_in_page.locator("#snapshot-count")).to_have_text(
                f"{len(wanted)} of {len(listed)} snapshots match “{query}”"
            )
        else:
            expect(signed_in_page.get_by_text(f"No snapshot matches “{query}”.")).to_be_visible()

    catalog.search.fill("")
    expect(catalog.visible_rows).to_have_count(len(listed))


def test_the_snapshot_menu_works_from_the_keyboard(
    signed_in_page: Page,
    client: SnapsetClient,
    tmp_path: Path,
) -> None:
    dataset_id = two_snapshots(client, tmp_path)
    catalog = Catalog(signed_in_page).open(dataset_id)
    page = signed_in_page
    button = catalog.menu_button("alpha")
    items = ["Edit", "Clone", "Copy Snapshot ID", "Restore", "Remove"]

    expect(button).to_have_attribute("aria-haspopup", "menu")
    expect(button).to_have_attribute("aria-expanded", "false")
    button.focus()
    page.keyboard.press("Enter")
    menu = page.get_by_role("menu")
    expect(menu).to_be_visible()
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(menu).to_have_attribute("id", button.get_attribute("aria-controls") or "missing")
    expect(menu.get_by_role("menuitem")).to_have_count(len(items))
    assert [t.strip() for t in menu.locator(".menu-label").all_inner_texts()] == items
    expect(catalog.item("Edit")).to_be_focused()

    page.keyboard.press("ArrowDown")
    expect(catalog.item("Clone")).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    expect(catalog.item("Remove")).to_be_focused()  # wraps around
    page.keyboard.press("Home")
    expect(catalog.item("Edit")).to_be_focused()
    page.keyboard.press("End")
    expect(catalog.item("Remove")).to_be_focused()
    page.keyboard.press("r")
    expect(catalog.item("Restore")).to_be_focused()  # the next item starting with "r"

    page.keyboard.press("Escape")
    expect(menu).to_have_count(0)
    expect(button).to_be_focused()
    expect(button).to_have_attribute("aria-expanded", "false")

    page.keyboard.press(" ")
    expect(catalog.item("Edit")).to_be_focused()
    page.keyboard.press("Enter")  # Edit
    dialog = catalog.dialog()
    expect(dialog.get_by_label("Name")).to_be_focused()
    page.keyboard.press("Escape")
    catalog.no_dialog()
    expect(button).to_be_focused()

    page.keyboard.press("ArrowUp")  # opens on the last item
    expect(catalog.item("Remove")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("menu")).to_have_count(0)


def test_restore_asks_first_then_runs_to_completion_and_moves_the_current_version(
    signed_in_page: Page,
    client: SnapsetClient,
    tmp_path: Path,
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "restorable", images=3)
    alpha = client.create_snapshot(dataset_id, name="alpha")
    before = client.media(dataset_id)
    client.edit_media(dataset_id, before[0]["media_id"], tags=["changed"])
    client.create_snapshot(dataset_id, name="beta")
    catalog = Catalog(signed_in_page).open(dataset_id)

    catalog.choose("alpha", "Restore")
    dialog = catalog.dialog()
    expect(dialog.get_by_role("heading")).to_have_text("Restore “alpha”?")
    expect(dialog).to_contain_text("will be replaced with this snapshot's state")
    expect(dialog).to_contain_text("automatic checkpoint")
    catalog.confirm("Restore")

    card = catalog.task_card()
    expect(card).to_contain_text("Restore completed.", timeout=TASK_TIMEOUT_MS)
    expect(card.locator("progress")).to_have_attribute("value", "100")
    row = catalog.row_by_id(alpha["snapshot_id"])
    expect(row.locator(".snapshot-status")).to_have_text("Current Version")
    expect(catalog.table.get_by_text("Current Version")).to_have_count(1)
    expect(catalog.dataset_status).to_have_text("READY")
    assert client.media(dataset_id) == before
    assert snapshot_by_name(client.snapshots(dataset_id), "alpha")["is_current"] is True
    expect(catalog.row("beta")).to_have_count(1)  # later snapshots survive


def test_the_restore_dialog_previews_what_the_restore_would_change(
    signed_in_page: Page,
    client: SnapsetClient,
    tmp_path: Path,
    artifacts: Path,
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "Preview", images=3)
    alpha = client.create_snapshot(dataset_id, name="alpha")
    at_alpha = client.media(dataset_id)
    tagged = at_alpha[0]
    client.edit_media(dataset_id, tagged["media_id"], tags=["later"])  # 1 item changes: tags
    added = [
        image(tmp_path / "more" / f"extra{i}.png", 20 + i, 14, (10, 20 * i, 90)) for i in range(2)
    ]  # 2 items the restore will remove
    finish(
        client,
        client.ok(
            "POST",
            f"/dataset/{dataset_id}/media",
            expect=202,
            files=[("files", (f.name, f.read_bytes())) for f in added],
        ),
    )
    client.create_snapshot(dataset_id, name="beta")
    catalog = Catalog(signed_in_page).open(dataset_id)

    catalog.choose("alpha", "Restore")
    dialog = catalog.dialog()
    preview = dialog.locator(".restore-preview")
    expect(preview).to_have_attribute("data-state", "ready")
    expect(preview.locator(".preview-text")).to_have_text(
        f"Restoring will remove {len(added)} items, change 1 (tags)."
    )
    cancel = dialog.get_by_role("button", name="Cancel")
    expect(cancel).to_be_focused()  # the preview arriving does not move the focus
    shot(signed_in_page, artifacts, "restore-preview")

    compare = dialog.get_by_role("button", name="Compare with current")
    compare.click()
    comparison = signed_in_page.locator("dialog[open]", has_text="Compare “alpha” with current")
    rows = comparison.locator("#comparison-table tbody tr")
    expect(rows).to_have_count(len(added) + 1)
    removed = comparison.locator('#comparison-table tr[data-change="removed"] th')
    assert sorted(removed.all_inner_texts()) == sorted(f.name for f in added)
    changed = comparison.locator('#comparison-table tr[data-change="changed"]')
    expect(changed).to_have_attribute("data-media-id", tagged["media_id"])
    expect(changed.locator("td").last).to_have_text("tags")
    shot(signed_in_page, artifacts, "restore-compare")
    signed_in_page.keyboard.press("Escape")  # closes the comparison only
    expect(comparison).to_have_count(0)
    expect(dialog).to_be_visible()
    expect(compare).to_be_focused()

    catalog.confirm("Restore")
    expect(catalog.task_card()).to_contain_text("Restore completed.", timeout=TASK_TIMEOUT_MS)
    assert client.media(dataset_id) == at_alpha  # what the preview said, and nothing else
    assert (
        snapshot_by_name(client.snapshots(dataset_id), "alpha")["snapshot_id"]
        == alpha["snapshot_id"]
    )


def test_the_restore_dialog_says_why_its_preview_is_unavailable_and_still_works(
    signed_in_page: Page,
    client: SnapsetClient,
    tmp_path: Path,
) -> None:
    alpha_path, catalog = alpha_gone_behind_the_pages_back(signed_in_page, client, tmp_path)
    restore_path = f"{alpha_path}/restore"
    preview_detail = client.request("POST", restore_path, params={"dry_run": "true"}).json()[
        "detail"
    ]

    catalog.choose("alpha", "Restore")
    dialog = catalog.dialog()
    preview = dialog.locator(".restore-preview")
    expect(preview).to_have_attribute("data-state", "unavailable")
    expect(preview).to_have_text(
        f"The preview of what would change is unavailable: {preview_detail}"
    )
    expect(dialog.get_by_role("button", name="Compare with current")).to_have_count(0)
    catalog.confirm("Cancel")
    expect(catalog.menu_button("alpha")).to_be_focused()

    catalog.choose("alpha", "Restore")
    expect(catalog.dialog().locator(".restore-preview")).to_have_attribute(
        "data-state", "unavailable"
    )
    catalog.confirm("Restore")
    restore_detail = client.request("POST", restore_path).json()["detail"]
    expect(signed_in_page.get_by_role("alert").filter(has_text=restore_detail)).to_contain_text(
        "Could not restore “alpha”"
    )


def test_clone_runs_until_the_clone_appears_in_the_dataset_list(
    signed_in_page: Page,
    client: SnapsetClient,
    tmp_path: Path,
) -> None:
    _, alpha, catalog = alpha_in_the_catalog(signed_in_page, client, tmp_path, name="Harbour")

    catalog.choose("alpha", "Clone")
    dialog = catalog.dialog()
    expect(dialog).to_contain_text("A new dataset “Harbour (cloned)” will be created")
    expect(dialog).to_contain_text("“Harbour” itself is not changed.")
    catalog.confirm("Clone")

    card = catalog.task_card()
    expect(card).to_contain_text("Clone completed.", timeout=TASK_TIMEOUT_MS)
    clones = [
        d
        for d in client.ok("GET", "/datasets")["datasets"]
        if d["display_name"] == "Harbour (cloned)"
    ]
    assert len(clones) == 1
    clone = clones[0]
    assert (clone["status"], clone["n_images"], clone["n_videos"]) == (
        "READY",
        alpha["n_images"],
        alpha["n_videos"],
    )

    card.get_by_role("link", name="Open “Harbour (cloned)”").click()
    expect(signed_in_page.locator("#dataset-title")).to_have_text("Harbour (cloned)")
    main_nav = signed_in_page.get_by_role("navigation", name="Main")
    main_nav.get_by_role("link", name="Datasets").click()
    row = signed_in_page.locator(f'#datasets-table tr[data-dataset-id="{clone["id"]}"]')
    expect(row.get_by_role("link")).to_have_text("Harbour (cloned)")
    expect(row).to_contain_text("READY")
    expect(row.locator('[data-col="items"]')).to_have_text(
        str(alpha["n_images"] + alpha["n_videos"])
    )


def test_api_errors_show_the_servers_detail(
    signed_in_page: Page,
    client: SnapsetClient,
    tmp_path: Path,
) -> None:
    path, catalog = alpha_gone_behind_the_pages_back(signed_in_page, client, tmp_path)
    patch_detail = client.request("PATCH", path, json={"name": "x"}).json()["detail"]
    delete_detail = client.request("DELETE", path).json()["detail"]

    catalog.choose("alpha", "Edit")
    dialog = catalog.dialog()
    dialog.get_by_label("Name").fill("renamed")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_role("alert")).to_have_text(patch_detail)
    dialog.get_by_role("button", name="Cancel").click()

    catalog.choose("alpha", "Remove")
    catalog.confirm("Remove")
    expect(signed_in_page.get_by_role("alert").filter(has_text=delete_detail)).to_contain_text(
        "Could not remove “alpha”"
    )


def test_a_catalog_of_200_snapshots_renders_every_row_from_three_reads(
    signed_in_page: Page,
    client: SnapsetClient,
    tmp_path: Path,
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "large catalog", images=2)
    for number in range(200):
        client.create_snapshot(
            dataset_id, name=f"run {number:03d}", description=f"nightly evaluation number {number}"
        )
    total = len(client.snapshots(dataset_id))
    page = signed_in_page
    page.goto(f"/#/datasets/{dataset_id}")
    expect(page.locator("#dataset-title")).to_have_text("large catalog")
    expect(page.locator("#history-list")).not_to_have_attribute("aria-busy", "true")
    expect(page.locator("#media-grid img")).to_have_count(2)
    expect_images_loaded(page.locator("#media-grid img"))
    api_calls: list[str] = []
    page.on(
        "request",
        lambda r: api_calls.append(f"{r.method} {r.url}") if "/api/v1/" in r.url else None,
    )

    page.get_by_role("button", name="Snapshots").click()
    catalog = Catalog(page)
    expect(catalog.rows).to_have_count(total)

    render_ms, load_ms = page.evaluate("""() => [
        performance.getEntriesByName('snapset:catalog-render').at(-1).duration,
        performance.getEntriesByName('snapset:catalog-load').at(-1).duration]""")
    # A figure to read, not an assertion: speed is measured, never asserted as wall time.
    print(
        f"\ncatalog of {total} snapshots: DOM render {render_ms:.1f} ms, "
        f"fetch + render {load_ms:.1f} ms"
    )
    origin = page.evaluate("location.origin")
    assert sorted(api_calls) == [
        f"GET {origin}/api/v1/dataset/{dataset_id}",
        f"GET {origin}/api/v1/dataset/{dataset_id}/access",
        f"GET {origin}/api/v1/dataset/{dataset_id}/snapshot",
    ], "one read each of the dataset, the user's access and the snapshots, nothing per row"
