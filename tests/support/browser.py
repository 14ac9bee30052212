"""Headless Chromium for the browser tests: how it is launched, and what fails a page.

A page fails its test on any console error, uncaught exception or 5xx response. Chromium
also logs every 4xx a ``fetch`` gets as a console error ("Failed to load resource"); those
from the JSON API and ``/ui/session`` are answers the page handles (a 401 before sign-in, a
409 it shows), so they are not failures. Any other 4xx (a missing script or style) is.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import ConsoleMessage, Error, Page, Response

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SKIP_ENV = "SNAPSET_TEST_BROWSER"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
_HANDLED_4XX = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d")
_API_PATH = re.compile(r"^https?://[^/]+/(api/v1/|ui/session)")


def browser_skipped() -> bool:
    return os.environ.get(SKIP_ENV) == "skip"


def missing_chromium() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return None
    return (
        f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium), "
        f"or set {SKIP_ENV}=skip to skip the browser tests on this machine."
    )


@dataclass
class PageWatch:
    """Collects what must fail a test while it drives ``page``."""

    page: Page
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("console", self._on_console)
        self.page.on("pageerror", self._on_page_error)
        self.page.on("response", self._on_response)

    def check(self) -> None:
        """Raise if anything went wrong; first let events already sent arrive."""
        if not self.page.is_closed():
            self.page.evaluate("0")
        if self.problems:
            raise AssertionError("the page reported problems:\n  " + "\n  ".join(self.problems))

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "")
        if _HANDLED_4XX.match(message.text) and _API_PATH.match(url):
            return
        self.problems.append(f"console error: {message.text} (at {url or 'unknown'})")

    def _on_page_error(self, error: Error) -> None:
        self.problems.append(f"uncaught error: {error.message}\n{error.stack or ''}")

    def _on_response(self, response: Response) -> None:
        if response.status >= 500:
            self.problems.append(
                f"{response.request.method} {response.url} answered {response.status}"
            )
