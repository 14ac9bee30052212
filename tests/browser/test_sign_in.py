"""Signing in and out of the web UI: the session cookie, the CSRF token kept in memory and
read again after a reload, the API secret kept nowhere, and a page that has signed out."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.browser import screens
from tests.browser.screens import Catalog, ready_dataset, shot
from tests.e2e.helpers import ADMIN_EMAIL
from tests.support.client import SnapsetClient
from tests.support.server import ServerProcess

client = screens.client
KEY = 'input[name="api_key"]'
SECRET = 'input[name="api_secret"]'


def sign_in(page: Page, api_key: str, api_secret: str) -> None:
    page.get_by_label("API key").fill(api_key)
    page.get_by_label("API secret").fill(api_secret)
    page.get_by_role("button", name="Sign in").click()


def test_signing_in_shows_the_datasets_and_signing_out_ends_the_session(
    page: Page,
    server: ServerProcess,
    artifacts: Path,
) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in to snapset")).to_be_visible()
    expect(page.locator("#topbar")).to_be_hidden()
    shot(page, artifacts, "sign-in")

    sign_in(page, server.api_key, server.api_secret)

    expect(page.get_by_role("heading", name="Datasets", exact=True)).to_be_visible()
    expect(page.locator("#who")).to_have_text(ADMIN_EMAIL)
    stored = page.evaluate("""() => JSON.stringify([
        Object.entries(localStorage), Object.entries(sessionStorage), document.cookie])""")
    assert server.api_secret not in stored
    assert "snapset_session" not in page.evaluate("document.cookie"), "the session is HttpOnly"
    assert page.evaluate("fetch('/api/v1/datasets').then(r => r.status)") == 200

    page.get_by_role("button", name="Sign out").click()

    expect(page.get_by_role("heading", name="Sign in to snapset")).to_be_visible()
    expect(page.locator("#topbar")).to_be_hidden()
    assert page.evaluate("fetch('/api/v1/datasets').then(r => r.status)") == 401
    assert not [c for c in page.context.cookies() if c["name"].startswith("snapset_")]
    page.reload()
    expect(page.locator(KEY)).to_be_visible()


def test_a_wrong_secret_shows_the_servers_detail_and_clears_the_secret(
    page: Page,
    server: ServerProcess,
) -> None:
    detail = httpx.post(
        f"{server.base_url}/ui/session", json={"api_key": server.api_key, "api_secret": "wrong"}
    ).json()["detail"]
    page.goto("/")

    sign_in(page, server.api_key, "wrong")

    expect(page.get_by_role("alert")).to_have_text(detail)
    expect(page.locator(SECRET)).to_have_value("")
    expect(page.locator(SECRET)).to_be_focused()
    assert not page.context.cookies()


def test_after_a_reload_the_page_is_still_signed_in_and_writes_carry_the_csrf_token(
    signed_in_page: Page,
    client: SnapsetClient,
    tmp_path: Path,
) -> None:
    dataset_id = ready_dataset(client, tmp_path / "media", "reloaded", images=2)
    client.create_snapshot(dataset_id, name="alpha")
    signed_in_page.reload()
    catalog = Catalog(signed_in_page).open(dataset_id)
    csrf = {c["name"]: c["value"] for c in signed_in_page.context.cookies()}["snapset_csrf"]

    catalog.choose("alpha", "Edit")
    catalog.dialog().get_by_label("Description").fill("kept after a reload")
    with signed_in_page.expect_request(lambda r: r.method == "PATCH") as patch:
        catalog.dialog().get_by_role("button", name="Save").click()
    catalog.no_dialog()

    assert patch.value.headers.get("x-csrf-token") == csrf
    assert "authorization" not in patch.value.headers
    assert client.snapshots(dataset_id)[0]["description"] == "kept after a reload"


def test_a_page_whose_session_ended_goes_back_to_the_sign_in_page(
    signed_in_page: Page,
    server: ServerProcess,
) -> None:
    expect(signed_in_page.get_by_role("heading", name="Datasets", exact=True)).to_be_visible()
    signed_in_page.context.clear_cookies()

    signed_in_page.get_by_role("link", name="Task Manager").click()

    expect(signed_in_page.get_by_role("alert")).to_have_text(
        "Your session has ended. Sign in again."
    )
    expect(signed_in_page.locator(KEY)).to_be_visible()
    sign_in(signed_in_page, server.api_key, server.api_secret)
    expect(signed_in_page.get_by_role("heading", name="Task Manager")).to_be_visible()
