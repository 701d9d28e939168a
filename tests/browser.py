"""Browser tests: Playwright for Python driving Debian's Chromium, one browser per test process.

Plugged in from tests/conftest.py. The browser is launched the first time a test asks for it (runs
that use no browser never start one) and closed at the end of the run; under pytest-xdist each
worker has its own. Each test gets fresh contexts (no cookies, no cache shared with another test).

- ``browsing``: opens pages on one origin, ``browsing.page(origin)`` with JavaScript on,
  ``browsing.page(origin, javascript=False)`` with it off. Every request any page makes is
  recorded; one to another origin is aborted (it never leaves the machine) and fails the test at
  its end; ``browsing.assert_same_origin()`` checks on demand.
- ``assert_accessible(page)``: axe-core (from the axe-playwright-python wheel, nothing
  downloaded) on the page as it is; fails with one line per violation and its targets.
- ``screenshot(page, path)``: a full-page PNG at ``path``, folders made.

Without /usr/bin/chromium (``CREDO_CHROMIUM`` names another) or the playwright package, the tests
that ask for a browser skip, naming what is missing; scripts/setup installs Debian's chromium
where it can (docs/architecture.md, "Browser tests").
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Request, Route

CHROMIUM = os.environ.get("CREDO_CHROMIUM", "/usr/bin/chromium")
# TOOLCHAIN.md: without the networking flags Chromium floods the closed network with refused connections.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_SCHEMES = frozenset({"data", "blob", "about"})  # no network behind these


def missing() -> str | None:
    """Why no browser can run here, or None when one can."""
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)) and shutil.which(CHROMIUM) is None:
        return f"browser tests need Chromium at {CHROMIUM} (Debian: apt-get install -y chromium; scripts/chromium does)"
    try:
        import axe_playwright_python  # noqa: F401
        import playwright  # noqa: F401
    except ImportError as exc:
        return f"browser tests need the dev extra's {exc.name} package (scripts/setup installs it)"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Chromium, launched once per test process on first use; skips (with the reason) where it cannot run."""
    reason = missing()
    if reason is not None:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = _launch(playwright)
        yield launched
        launched.close()


def _launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class Browsing:
    """This test's pages: each in a fresh context, every request recorded, other origins refused."""

    browser: Browser
    contexts: list[BrowserContext] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)  # every URL asked for, in order
    foreign: list[str] = field(default_factory=list)  # those of another origin than their page's (aborted)

    def page(self, origin: str, *, javascript: bool = True, **options: Any) -> Page:
        """A new page in a new context on ``origin`` (relative URLs in ``goto`` are resolved against it).

        ``options`` go to ``browser.new_context`` (locale, viewport, extra_http_headers ...).
        """
        home = origin_of(origin)
        context = self.browser.new_context(base_url=home, java_script_enabled=javascript, **options)
        self.contexts.append(context)

        def route(route: Route, request: Request) -> None:
            self.requested.append(request.url)
            scheme = urlsplit(request.url).scheme
            if scheme in LOCAL_SCHEMES or origin_of(request.url) == home:
                route.continue_()
            else:
                self.foreign.append(request.url)
                route.abort("blockedbyclient")

        context.route("**/*", route)
        context.route_web_socket(re.compile(".*"), lambda ws: self._socket(ws, home))
        page = context.new_page()
        page.set_default_timeout(15_000)  # a bound, so a broken page fails rather than hangs
        return page

    def _socket(self, ws: Any, home: str) -> None:
        url = ws.url
        self.requested.append(url)
        same = origin_of(url).replace("ws", "http", 1) == home
        if same:
            ws.connect_to_server()
        else:
            self.foreign.append(url)
            ws.close()

    def assert_same_origin(self) -> None:
        """Fails, listing them, if any page asked for anything from another origin."""
        if self.foreign:
            raise AssertionError("requests to another origin (aborted):\n" + "\n".join(f"  {u}" for u in self.foreign))

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture(autouse=True)
def _no_loop_left_running_by_the_browser(request: pytest.FixtureRequest) -> Iterator[None]:
    """Lift the browser's event loop from this thread for a test that does not use the browser.

    Playwright's sync API marks its event loop as running in the main thread for as long as the browser lives
    (the whole run, once a test started it), so a later test in the same process that runs a loop of its own
    (``asyncio.run``: the soak, the load generator) would be refused. The mark is put back after the test.
    """
    running = asyncio._get_running_loop()
    if running is None or "browser" in request.fixturenames:
        yield
        return
    asyncio._set_running_loop(None)
    try:
        yield
    finally:
        asyncio._set_running_loop(running)


@pytest.fixture
def browsing(browser: Browser) -> Iterator[Browsing]:
    """Pages for this test (``browsing.page(origin, javascript=...)``); a request to another origin fails it."""
    session = Browsing(browser)
    try:
        yield session
    finally:
        session.close()
    session.assert_same_origin()


def assert_accessible(page: Page, *, exclude: list[str] | None = None) -> None:
    """axe-core's rules on the page as it is now; fails with each violation (rule, impact, targets, help).

    axe runs in the page, so on a page with JavaScript off it runs on a copy: the DOM that page
    built (``<noscript>`` content rendered, page scripts removed), reopened at the same address in
    a JavaScript-on context of the same browser.
    """
    from axe_playwright_python.sync_playwright import Axe

    options: dict[str, Any] = {"resultTypes": ["violations"]}
    context: dict[str, Any] | None = {"exclude": [[selector] for selector in exclude]} if exclude else None
    if _javascript_on(page):
        results = Axe().run(page, context=context, options=options).response
    else:
        results = _axe_on_copy(page, context, options)
    violations = results["violations"]
    if violations:  # raised, not asserted: pytest's rewrite would repeat the whole axe answer after the list
        raise AssertionError(f"axe found {len(violations)} violation(s) on {page.url}:\n" + describe(violations))


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per violation (rule id, impact, help, its URL), then each target's selector."""
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} <{violation['helpUrl']}>")
        lines.extend(f"    {' '.join(node['target'])}" for node in violation["nodes"])
    return "\n".join(lines)


def _javascript_on(page: Page) -> bool:
    # Synchronous evaluation works with scripts off (timers, which axe needs, do not fire). The HTML
    # parser reads <noscript> as markup only where scripting is off: that tells which this page is.
    probe = "(() => { const d = document.createElement('div'); d.innerHTML = '<noscript><i></i></noscript>';"
    return not page.evaluate(probe + " return d.querySelector('i') !== null; })()")


def _axe_on_copy(page: Page, context: dict[str, Any] | None, options: dict[str, Any]) -> dict[str, Any]:
    from axe_playwright_python.sync_playwright import Axe

    html = page.content()
    html = re.sub(r"<script\b[^>]*>.*?</script\s*>", "", html, flags=re.DOTALL | re.IGNORECASE)
    html = re.sub(r"<(/?)noscript\b", r"<\1div", html, flags=re.IGNORECASE)
    url = page.url
    browser = page.context.browser
    assert browser is not None
    copy = browser.new_context(base_url=origin_of(url))
    try:

        def serve(route: Route, request: Request) -> None:
            if request.url == url:
                route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)
            elif request.resource_type == "script" or origin_of(request.url) != origin_of(url):
                route.abort("blockedbyclient")
            else:
                route.continue_()

        copy.route("**/*", serve)
        checked = copy.new_page()
        checked.goto(url)
        return dict(Axe().run(checked, context=context, options=options).response)
    finally:
        copy.close()


def screenshot(page: Page, path: Path) -> Path:
    """The whole page as a PNG at ``path`` (its folders made); ``path`` back."""
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path
