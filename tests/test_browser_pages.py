"""The public pages and signing in, in Chromium, as a person uses them: JavaScript off and on, English and
Chinese, nothing loaded from another origin, and no accessibility violation axe can find."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from credo.store.bootstrap import init_store, open_store
from tests.apisupport import OTHER_PERSON, prepare
from tests.browser import Browsing, assert_accessible
from tests.serving import Served, serving
from tests.websupport import origin, sign_in_code

PAGES = ("/", "/rulebook", "/rulebook/versions", "/lists", "/lists/dishonest-judgment-debtors", "/statistics",
         "/due-process", "/signin")  # fmt: skip


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, str]]:
    """``credo serve`` over a store with the test rulebook in force; the store's URL, to issue sign-in links."""
    folder = tmp_path_factory.mktemp("pages")
    path = folder / "credo.db"
    url = f"sqlite:///{path}"
    store = open_store(url, environ={})
    try:
        init_store(store)
        prepare(store)
    finally:
        store.engine.dispose()
    with serving(url, {}, folder / "serve.log") as running:
        yield running, url


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize(
    ("javascript", "lang"), [(False, "en"), (False, "zh"), (True, "en")], ids=["off-en", "off-zh", "on-en"]
)
def test_every_public_page_is_accessible_and_loads_only_from_its_origin(
    browsing: Browsing, served: tuple[Served, str], path: str, javascript: bool, lang: str
) -> None:
    page = browsing.page(origin(served), javascript=javascript)
    answer = page.goto(f"{path}?lang={lang}")
    assert answer is not None and answer.status == 200
    assert page.locator("html").get_attribute("lang") == ("en" if lang == "en" else "zh-Hans")
    assert page.get_by_role("heading", level=1).count() == 1
    assert_accessible(page)
    browsing.assert_same_origin()


def test_a_person_signs_in_with_a_link_and_out_again_without_javascript(
    browsing: Browsing, served: tuple[Served, str]
) -> None:
    code = sign_in_code(served, "reviewer", "rita")
    page = browsing.page(origin(served), javascript=False)
    page.goto(f"/signin/{code}")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/account")
    assert "rita" in page.inner_text("main")
    assert_accessible(page)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signed-out")
    page.goto("/account")
    assert page.url.endswith("/signin")  # signed out for good
    page.goto(f"/signin/{code}")
    assert "cannot be used" in page.inner_text("h1")


def test_a_bad_search_shows_the_error_summary_and_keeps_what_was_typed(
    browsing: Browsing, served: tuple[Served, str]
) -> None:
    page = browsing.page(origin(served), javascript=False)
    page.goto("/lists/dishonest-judgment-debtors")
    page.get_by_label("Search by identifier").fill("12345")
    page.get_by_role("button", name="Search").click()
    assert page.title().startswith("Error: ")
    summary = page.locator(".error-summary")
    assert "Enter a valid resident identity number" in summary.inner_text()
    assert page.get_by_label("Search by identifier").input_value() == "12345"
    assert_accessible(page)


def test_a_subjects_report_page_is_accessible_without_javascript(
    browsing: Browsing, served: tuple[Served, str]
) -> None:
    code = sign_in_code(served, "subject", OTHER_PERSON)
    page = browsing.page(origin(served), javascript=False)
    page.goto(f"/signin/{code}")
    page.get_by_role("button", name="Continue").click()
    page.goto("/me?lang=zh")
    assert page.get_by_role("heading", level=1).inner_text() == "您的报告"
    assert_accessible(page)
    browsing.assert_same_origin()
