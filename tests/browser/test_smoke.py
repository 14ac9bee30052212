"""The browser wiring itself: Chromium opens the page, and a page's problems are caught."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from adapters.http.routes.web import CSP
from tests.support.browser import PageWatch
from tests.support.server import ServerProcess


def test_the_page_loads_in_chromium_without_errors(page: Page, artifacts: Path) -> None:
    response = page.goto("/")

    assert response is not None
    assert response.status == 200
    assert response.headers["content-security-policy"] == CSP
    page.wait_for_load_state("load")
    assert page.title()
    shot = artifacts / "smoke-index.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0


def test_a_page_watch_catches_console_errors_uncaught_errors_5xx_and_missing_files(
    browser: Browser,
    server: ServerProcess,
) -> None:
    context = browser.new_context(base_url=server.base_url)
    try:
        page = context.new_page()
        watch = PageWatch(page)
        page.route("**/boom", lambda route: route.fulfill(status=503, body="down"))
        page.goto("/")
        page.evaluate("console.error('said so')")
        page.evaluate("setTimeout(() => { throw new Error('thrown late'); }, 0)")
        page.evaluate("new Promise(resolve => setTimeout(resolve, 0))")  # after the throw
        assert page.evaluate("fetch('/boom').then(r => r.status)") == 503
        assert page.evaluate("fetch('/ui/static/no-such.js').then(r => r.status)") == 404
        assert page.evaluate("fetch('/ui/session').then(r => r.status)") == 401  # handled

        with pytest.raises(AssertionError) as caught:
            watch.check()
    finally:
        context.close()

    report = str(caught.value)
    assert "console error: said so" in report
    assert "thrown late" in report
    assert "/boom answered 503" in report
    assert "/ui/static/no-such.js" in report
    assert "/ui/session" not in report


def test_signed_in_page_holds_a_strict_httponly_session(signed_in_page: Page) -> None:
    cookies = {c["name"]: c for c in signed_in_page.context.cookies()}

    session = signed_in_page.request.get("/ui/session")

    assert cookies["snapset_session"]["httpOnly"] is True
    assert cookies["snapset_session"]["sameSite"] == "Strict"
    assert cookies["snapset_csrf"]["httpOnly"] is False
    assert session.status == 200
    assert session.json()["csrf_token"] == cookies["snapset_csrf"]["value"]
