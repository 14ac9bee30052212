"""Browser tests: Playwright driving Debian's headless Chromium against a real server.

Every test here is marked ``browser`` and runs on SQLite and PostgreSQL. They never skip in
CI: a machine without /usr/bin/chromium fails them with the fix in the message, unless
SNAPSET_TEST_BROWSER=skip. A page fails its test on console errors, uncaught exceptions and
5xx answers (see tests/support/browser.py); a failing test leaves a screenshot in
test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.conftest import server
from tests.support.browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    PageWatch,
    browser_skipped,
    missing_chromium,
)
from tests.support.server import ServerProcess

HERE = Path(__file__).resolve().parent
WATCH = pytest.StashKey[PageWatch]()
FAILED = pytest.StashKey[bool]()
# The sign-in form, when the page has one; else signed_in_page signs in through the API.
SIGN_IN_KEY = 'input[name="api_key"]'
SIGN_IN_SECRET = 'input[name="api_secret"]'
SIGN_IN_FORM_WAIT_MS = 5000


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="SNAPSET_TEST_BROWSER=skip")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)
            if browser_skipped():
                item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """A test that passed still fails if its page reported a problem."""
    result = yield
    watch = item.stash.get(WATCH, None)
    if watch is not None:
        watch.check()
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if (why := missing_chromium()) is not None:
        pytest.fail(why)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield launched
    launched.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def page(
    browser: Browser, server: ServerProcess, request: pytest.FixtureRequest, artifacts: Path
) -> Iterator[Page]:
    """A fresh context and page on the server; problems it reports fail the test."""
    context = browser.new_context(base_url=server.base_url)
    opened = context.new_page()
    request.node.stash[WATCH] = PageWatch(opened)
    yield opened
    if request.node.stash.get(FAILED, False) and not opened.is_closed():
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
        opened.screenshot(path=str(artifacts / f"FAILED-{name}.png"), full_page=True)
    context.close()


@pytest.fixture
def signed_in_page(page: Page, server: ServerProcess) -> Page:
    """``page`` signed in as the server's first admin, showing ``/``.

    Through the sign-in form when the page shows one, else through POST /ui/session (the
    cookies land in the page's context either way).
    """
    page.goto("/")
    if _shows(page, SIGN_IN_KEY):
        page.fill(SIGN_IN_KEY, server.api_key)
        page.fill(SIGN_IN_SECRET, server.api_secret)
        with page.expect_response(
            lambda r: r.url.endswith("/ui/session") and r.request.method == "POST"
        ) as answer:
            page.press(SIGN_IN_SECRET, "Enter")
        assert answer.value.status == 200, answer.value.text()
        page.wait_for_selector(SIGN_IN_KEY, state="hidden")
    else:
        response = page.request.post(
            "/ui/session", data={"api_key": server.api_key, "api_secret": server.api_secret}
        )
        assert response.status == 200, response.text()
        page.goto("/")
    assert any(c["name"] == "snapset_session" for c in page.context.cookies())
    return page


def _shows(page: Page, selector: str) -> bool:
    try:
        page.wait_for_selector(selector, state="visible", timeout=SIGN_IN_FORM_WAIT_MS)
    except PlaywrightTimeout:
        return False
    return True


__all__ = ["server"]  # the e2e tier's real server, on SQLite and PostgreSQL
