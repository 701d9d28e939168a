"""The service counter and the auditors' pages in Chromium, as a clerk and an auditor use them: JavaScript off
and on, English and Chinese, nothing from another origin, and no accessibility violation axe can find."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from credo.domain.identifiers import mask_identifier
from credo.store.bootstrap import init_store, open_store
from tests.apisupport import BANK, PERSON, TODAY, api_over, record
from tests.browser import Browsing, assert_accessible
from tests.serving import Served, serving
from tests.websupport import signed_in

if TYPE_CHECKING:
    pass

WAYS = [(False, "en"), (True, "zh")]  # JavaScript off and on; Chinese checked once
IDS = ["off-en", "on-zh"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, str]]:
    """``credo serve`` over a store with the test rulebook, a bank, and a person with a court judgment."""
    folder = tmp_path_factory.mktemp("counter")
    url = f"sqlite:///{folder / 'credo.db'}"
    store = open_store(url, environ={"CREDO_TODAY": TODAY})
    try:
        init_store(store)
        with api_over(store) as api:
            api.push(record("J-1"))
    finally:
        store.engine.dispose()
    with serving(url, {}, folder / "serve.log") as running:
        yield running, url


@pytest.mark.parametrize(("javascript", "lang"), WAYS, ids=IDS)
def test_a_clerk_looks_up_a_measure_and_sees_the_answer(
    browsing: Browsing, served: tuple[Served, str], javascript: bool, lang: str
) -> None:
    page = signed_in(browsing, served, "relying", BANK, javascript=javascript)
    page.goto(f"/counter?lang={lang}")
    assert page.get_by_role("heading", level=1).inner_text() == (
        "Does a measure apply?" if lang == "en" else "某项措施是否适用？"
    )
    assert_accessible(page)
    page.locator("main form button[type=submit]").click()  # nothing filled in
    assert page.title().startswith("Error: " if lang == "en" else "错误")
    assert page.locator(".error-summary a").count() == 2
    assert_accessible(page)
    page.locator("#subject").fill(PERSON)
    page.locator("input[value=high-consumption-restriction]").check()
    page.locator("main form button[type=submit]").click()
    main = page.inner_text("main")
    assert mask_identifier(PERSON) in main and PERSON not in page.content()
    assert ("applies to" if lang == "en" else "适用于") in main
    assert len(page.locator("#decision-id").inner_text()) == 36
    assert PERSON not in page.url
    assert_accessible(page)
    browsing.assert_same_origin()


@pytest.mark.parametrize(("javascript", "lang"), WAYS, ids=IDS)
def test_an_auditor_filters_the_trail_and_verifies_the_chain(
    browsing: Browsing, served: tuple[Served, str], javascript: bool, lang: str
) -> None:
    page = signed_in(browsing, served, "auditor", "audit", javascript=javascript)
    page.goto(f"/audit?lang={lang}")
    assert_accessible(page)
    page.locator("#action").select_option("signin")
    page.locator("#day").fill("not a day")
    page.locator("main form button[type=submit]").click()
    assert page.locator(".error-summary a[href='#day']").count() == 1
    assert_accessible(page)
    page.locator("#day").fill("")
    page.locator("#order").select_option("oldest")
    page.locator("main form button[type=submit]").click()
    assert "action=signin" in page.url and "order=oldest" in page.url
    actions = page.locator("tbody tr td:nth-child(4) .code").all_inner_texts()
    assert actions and set(actions) == {"signin"}
    page.goto(f"/audit/verify?lang={lang}")
    assert_accessible(page)
    page.locator("main form button[type=submit]").click()
    assert page.locator(".panel").count() == 1
    assert ("The chain is intact" if lang == "en" else "日志链完整") in page.inner_text(".panel")
    assert_accessible(page)
    browsing.assert_same_origin()
