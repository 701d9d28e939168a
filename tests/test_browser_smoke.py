"""The browser fixtures (tests/browser.py) on a real ``credo serve``: the API's reference page /v1/docs in Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from credo.store.bootstrap import init_store, open_store
from tests.browser import Browsing, assert_accessible, screenshot
from tests.serving import Served, serving


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``credo serve`` over a new SQLite store, shared by this module's tests."""
    folder = tmp_path_factory.mktemp("served")
    path = folder / "credo.db"
    path.touch()
    url = f"sqlite:///{path}"
    store = open_store(url, environ={})
    try:
        init_store(store)
    finally:
        store.engine.dispose()
    with serving(url, {}, folder / "serve.log") as running:
        yield running


def origin(served: Served) -> str:
    return f"http://127.0.0.1:{served.port}"


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_the_api_reference_page_renders_its_heading_from_its_own_origin_only(
    browsing: Browsing, served: Served, javascript: bool, tmp_path: Path
) -> None:
    page = browsing.page(origin(served), javascript=javascript)
    answer = page.goto("/v1/docs")
    assert answer is not None and answer.status == 200
    assert page.get_by_role("heading", level=1).inner_text() == "Credo API"
    if javascript:  # the script reads /v1/openapi.json and lists every route
        page.locator("section.op").first.wait_for()
        assert page.locator("section.op").count() > 10
    browsing.assert_same_origin()
    assert f"{origin(served)}/v1/docs" in browsing.requested
    picture = screenshot(page, tmp_path / "shots" / "docs.png")
    assert picture.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_the_api_reference_page_has_no_accessibility_violations(
    browsing: Browsing, served: Served, javascript: bool
) -> None:
    page = browsing.page(origin(served), javascript=javascript)
    page.goto("/v1/docs")
    assert_accessible(page)


def test_a_request_to_another_origin_is_refused_and_recorded(browsing: Browsing, served: Served) -> None:
    page = browsing.page(origin(served))
    page.goto("/v1/docs")
    page.evaluate("fetch('http://example.invalid/x').catch(() => null)")
    page.evaluate("new Promise(resolve => setTimeout(resolve, 50))")
    assert browsing.foreign == ["http://example.invalid/x"]
    with pytest.raises(AssertionError, match=r"example\.invalid"):
        browsing.assert_same_origin()
    browsing.foreign.clear()  # this test made it on purpose: the fixture's check at the end passes


def test_accessibility_violations_are_listed_by_rule_impact_and_target(browsing: Browsing, served: Served) -> None:
    for javascript in (True, False):
        page = browsing.page(origin(served), javascript=javascript)
        page.goto("/v1/docs")
        page.set_content('<html><body><main><img src="/healthz"></main></body></html>')
        with pytest.raises(AssertionError) as failed:
            assert_accessible(page)
        message = str(failed.value)
        assert "- image-alt (critical): Images must have alternative text" in message
        assert "\n    img\n" in message + "\n"
