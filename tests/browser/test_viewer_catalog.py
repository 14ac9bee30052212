"""The Snapshot Catalog as the dataset's role allows: a viewer finds Create a snapshot and
the Edit, Clone, Restore and Remove actions disabled with the reason (read from
GET /dataset/{id}/access) and can still copy a snapshot's id; an editor who is not the owner
has every action the snapshot's state allows.

Users other than the server's admin sign in through the sign-in form.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser import screens
from tests.browser.screens import VIEWER_REASON, Catalog, ready_dataset
from tests.e2e.conftest import add_user
from tests.support.client import SnapsetClient
from tests.support.server import ServerProcess

client = screens.client
WRITES = ("Edit", "Clone", "Restore", "Remove")


@pytest.fixture
def shared(client: SnapsetClient, tmp_path: Path) -> str:
    """A dataset of the admin's with two snapshots, alpha and beta (current)."""
    dataset_id = ready_dataset(client, tmp_path / "media", "Shared set", images=2)
    client.create_snapshot(dataset_id, name="alpha")
    client.create_snapshot(dataset_id, name="beta")
    return dataset_id


@pytest.fixture
def sign_in_as(
    page: Page, server: ServerProcess, client: SnapsetClient
) -> Iterator[Callable[[str, str, str], SnapsetClient]]:
    """Create a user, give it a role on a dataset and sign in as it through the form."""
    made: list[SnapsetClient] = []

    def sign_in(email: str, role: str, dataset_id: str) -> SnapsetClient:
        user = add_user(server, email)
        made.append(user)
        client.ok("POST", f"/dataset/{dataset_id}/share", json={"user_email": email, "role": role})
        assert user.ok("GET", f"/dataset/{dataset_id}/access")["role"] == role
        page.goto("/")
        page.get_by_label("API key").fill(user.api_key)
        page.get_by_label("API secret").fill(user.api_secret)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#who")).to_have_text(email)
        return user

    yield sign_in
    for user in made:
        user.close()


def test_a_viewer_sees_the_write_actions_disabled_with_the_reason_and_can_copy_an_id(
    page: Page,
    server: ServerProcess,
    shared: str,
    artifacts: Path,
    sign_in_as: Callable[[str, str, str], SnapsetClient],
) -> None:
    viewer = sign_in_as("viewer@example.com", "viewer", shared)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base_url)
    alpha = next(s for s in viewer.snapshots(shared) if s["snapshot_name"] == "alpha")
    catalog = Catalog(page).open(shared)

    expect(catalog.create_button).to_be_disabled()
    expect(catalog.create_button).to_have_attribute("title", VIEWER_REASON)
    expect(page.locator("#create-snapshot-reason")).to_have_text(VIEWER_REASON)
    for name in ("alpha", "beta"):  # beta is current: the role is the reason given first
        catalog.open_menu(name)
        for label in WRITES:
            expect(catalog.item(label)).to_have_attribute("aria-disabled", "true")
            expect(catalog.item(label)).to_have_attribute("title", VIEWER_REASON)
        expect(catalog.item("Copy Snapshot ID")).not_to_have_attribute("aria-disabled", "true")
        if name == "alpha":
            page.screenshot(path=str(artifacts / "ui-viewer-menu.png"), full_page=True)
        page.keyboard.press("Escape")

    catalog.open_menu("alpha")
    catalog.item("Restore").click(force=True)  # a disabled item does nothing
    catalog.no_dialog()
    page.keyboard.press("Escape")
    catalog.choose("alpha", "Copy Snapshot ID")
    expect(page.get_by_role("status").filter(has_text=alpha["snapshot_id"])).to_contain_text(
        "copied"
    )
    assert page.evaluate("navigator.clipboard.readText()") == alpha["snapshot_id"]


def test_an_editor_who_is_not_the_owner_has_every_action_the_snapshot_allows(
    page: Page,
    shared: str,
    sign_in_as: Callable[[str, str, str], SnapsetClient],
) -> None:
    sign_in_as("editor@example.com", "editor", shared)
    catalog = Catalog(page).open(shared)

    expect(catalog.create_button).to_be_enabled()
    expect(page.locator("#create-snapshot-reason")).to_have_text("")
    catalog.open_menu("alpha")
    for label in (*WRITES, "Copy Snapshot ID"):
        expect(catalog.item(label)).not_to_have_attribute("aria-disabled", "true")
    page.keyboard.press("Escape")
    catalog.open_menu("beta")
    expect(catalog.item("Restore")).to_have_attribute(
        "title", "This snapshot is already the current version."
    )
    page.keyboard.press("Escape")
