"""The operators' console in Chromium: an operator checks, publishes and activates a rulebook with JavaScript
off and on; every console page in English and Chinese has no violation axe can find and loads nothing from
another origin."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from credo.store.bootstrap import init_store, open_store
from credo.store.quarantine import quarantine_row
from credo.store.tables import deliveries
from tests.apisupport import API_YAML, PERSON, prepare
from tests.browser import Browsing, assert_accessible, screenshot
from tests.serving import Served, serving
from tests.websupport import signed_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

PAGES = ("/operator", "/operator/rulebooks", "/operator/rulebooks/check", "/operator/rulebooks/2026.1/activate",
         "/operator/sources", "/operator/sources/new", "/operator/sources/court/categories",
         "/operator/sources/court/disable", "/operator/relying", "/operator/relying/new",
         "/operator/relying/city-bank/disable", "/operator/quarantine", "/operator/quarantine/1",
         "/operator/deliveries", "/operator/audit")  # fmt: skip
CHINESE = ("/operator", "/operator/rulebooks", "/operator/rulebooks/check", "/operator/quarantine/1")  # the texts once
SHOTS = os.environ.get("CREDO_SHOTS")  # a folder: the pages' screenshots are saved there too


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, str]]:
    """``credo serve`` over the test store, with a quarantined row and a failed delivery to look at."""
    folder = tmp_path_factory.mktemp("console")
    url = f"sqlite:///{folder / 'credo.db'}"
    store = open_store(url, environ={})
    now = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)
    try:
        init_store(store)
        prepare(store)
        with store.begin() as connection:
            raw = {"source": "court", "record_id": "Q-1", "subject_id": PERSON, "category": "tax.arrears\x1b"}
            quarantine_row(
                connection, store.keys(connection), file="court.csv", row_number=7,
                reason="category tax.arrears is not registered for source court", raw=raw, now=now,
            )  # fmt: skip
            connection.execute(
                sa.insert(deliveries).values(
                    channel="webhook", party_kind="relying", party_id="city-bank", event_key="e-1",
                    event_type="dispute.opened", payload_enc=b"sealed", state="failed", attempts=8,
                    last_error="HTTP 503", created_at=now,
                )
            )  # fmt: skip
    finally:
        store.engine.dispose()
    with serving(url, {}, folder / "serve.log") as running:
        yield running, url


def shot(page: Page, name: str) -> None:
    if SHOTS:
        screenshot(page, Path(SHOTS) / f"{name}.png")


@pytest.mark.parametrize(("javascript", "version"), [(False, "2026.2"), (True, "2026.3")], ids=["js-off", "js-on"])
def test_an_operator_checks_publishes_and_activates_a_rulebook(
    browsing: Browsing, served: tuple[Served, str], tmp_path: Path, javascript: bool, version: str
) -> None:
    page = signed_in(browsing, served, "operator", "olga", javascript=javascript)
    broken = tmp_path / "broken.yaml"
    broken.write_text(API_YAML.replace("base: ", "base: -"), encoding="utf-8")
    good = tmp_path / "city.yaml"
    good.write_text(API_YAML.replace('version: "2026.1"', f'version: "{version}"'), encoding="utf-8")

    page.goto("/operator")
    page.get_by_role("link", name="Rulebooks").first.click()
    page.get_by_role("link", name="Check and publish a rulebook").click()
    page.get_by_role("button", name="Check the file").click()  # no file chosen
    assert page.title().startswith("Error: ")
    page.get_by_label("Rulebook file").set_input_files(str(broken))
    page.get_by_role("button", name="Check the file").click()
    assert page.get_by_role("heading", level=1).inner_text() == "The rulebook has problems"
    assert page.locator("tbody tr").count() >= 1
    assert_accessible(page)
    shot(page, f"rulebook-problems-{version}")

    page.get_by_role("link", name="Check another file").first.click()
    page.get_by_label("Rulebook file").set_input_files(str(good))
    page.get_by_role("button", name="Check the file").click()
    assert page.get_by_role("heading", level=1).inner_text() == "The rulebook is valid"
    assert_accessible(page)
    shot(page, f"rulebook-valid-{version}")
    page.get_by_role("button", name=f"Publish version {version}").click()
    page.wait_for_url("**/operator/rulebooks?done=published*")
    assert f"Version {version} is published" in page.inner_text("main")

    page.get_by_role("link", name=f"Activate version {version}").click()
    field = page.get_by_label(f"From which day should version {version} be in force?")
    field.fill("2027-13-01")
    page.get_by_role("button", name="Continue").click()
    assert page.title().startswith("Error: ")
    assert_accessible(page)
    shot(page, f"rulebook-activate-error-{version}")
    page.get_by_label(f"From which day should version {version} be in force?").fill("2027-01-01")
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_role("heading", level=1).inner_text() == f"Put version {version} in force?"
    assert_accessible(page)
    shot(page, f"rulebook-confirm-{version}")
    page.get_by_role("button", name=f"Activate version {version}").click()
    page.wait_for_url("**/operator/rulebooks?done=activated*")
    assert f"Version {version} is in force from 1 January 2027" in page.inner_text("main")
    assert_accessible(page)
    shot(page, f"rulebooks-{version}")
    browsing.assert_same_origin()


@pytest.mark.parametrize(
    ("lang", "paths", "javascript"), [("en", PAGES, True), ("zh", CHINESE, False)], ids=["en-on", "zh-off"]
)
def test_every_console_page_is_accessible(
    browsing: Browsing, served: tuple[Served, str], lang: str, paths: tuple[str, ...], javascript: bool
) -> None:
    """The pages have no script, so JavaScript on (axe runs in the page, at half the cost) sees what off does."""
    page = signed_in(browsing, served, "operator", "olga", javascript=javascript)
    for path in paths:
        answer = page.goto(f"{path}?lang={lang}")
        assert answer is not None and answer.status == 200, path
        assert page.locator("html").get_attribute("lang") == ("en" if lang == "en" else "zh-Hans")
        assert page.get_by_role("heading", level=1).count() == 1, path
        assert_accessible(page)
        shot(page, f"{lang}{path.replace('/', '-')}")
    browsing.assert_same_origin()
