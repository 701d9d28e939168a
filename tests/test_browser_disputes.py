"""A dispute's whole journey in Chromium, JavaScript off and on, in English and in Chinese: a subject disputes
a record and sees its score change, a reviewer takes and decides it, the subject reads the outcome. axe on
every page on the way; nothing is loaded from another origin."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from credo.store.bootstrap import init_store, open_store
from tests.apisupport import OTHER_PERSON, PERSON, api_over, record
from tests.browser import Browsing, assert_accessible
from tests.serving import Served, serving
from tests.websupport import signed_in


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, str]]:
    """``credo serve`` over the test rulebook, a court judgment against each of two people; the store's URL."""
    folder = tmp_path_factory.mktemp("disputes")
    url = f"sqlite:///{folder / 'credo.db'}"
    store = open_store(url, environ={})
    try:
        init_store(store)
        with api_over(store) as api:
            api.push(record("J-1"), record("J-2", subject=OTHER_PERSON))
    finally:
        store.engine.dispose()
    with serving(url, {}, folder / "serve.log") as running:
        yield running, url


def score(page: Page) -> int:
    page.goto("/me")
    return int(re.sub(r"\D", "", page.locator(".panel h2").inner_text()))


def checked(page: Page) -> None:
    assert page.get_by_role("heading", level=1).count() == 1
    assert_accessible(page)


@pytest.mark.parametrize(
    ("javascript", "lang", "mine"),
    [(False, "en", (PERSON, "J-1")), (True, "zh", (OTHER_PERSON, "J-2"))],
    ids=["off-en", "on-zh"],
)
def test_a_dispute_from_the_report_to_the_outcome(
    browsing: Browsing, served: tuple[Served, str], javascript: bool, lang: str, mine: tuple[str, str]
) -> None:
    who, record_id = mine  # a person, and the record against it
    zh = lang == "zh"
    subject = signed_in(browsing, served, "subject", who, javascript=javascript)
    subject.goto(f"/me?lang={lang}")
    before = score(subject)
    subject.locator(f"a[href='/me/disputes/new?source=court&record={record_id}']").click()
    checked(subject)
    subject.locator("form[action='/me/disputes/new'] button.button").click()  # nothing written: asked again
    assert subject.title().startswith("错误：" if zh else "Error:")
    subject.locator(".error-summary a[href='#statement']").click()
    checked(subject)
    subject.fill("#statement", "I paid that debt in full.\nThe court closed the case.")
    subject.locator("form[action='/me/disputes/new'] button.button").click()
    assert subject.get_by_role("heading", level=1).inner_text() == ("核对您的回答" if zh else "Check your answers")
    checked(subject)
    subject.locator("button[name='change']").click()
    assert subject.input_value("#statement").startswith("I paid that debt in full.")
    subject.locator("form[action='/me/disputes/new'] button.button").click()
    subject.locator("form[action='/me/disputes'] button").click()
    subject.wait_for_url(re.compile(r"/me/disputes/[0-9a-f-]{36}/filed$"))
    reference = subject.locator(".reference").inner_text()
    assert ("异议已提交" if zh else "Dispute sent") in subject.locator("h1").inner_text()
    checked(subject)
    assert score(subject) > before  # the disputed record stopped counting at once
    subject.goto("/me/disputes")
    checked(subject)

    reviewer = signed_in(browsing, served, "reviewer", "rita", javascript=javascript)
    reviewer.goto(f"/review?lang={lang}")
    assert reviewer.locator(f"a[href='/review/{reference}']").count() == 1
    checked(reviewer)
    reviewer.locator("form[action='/review/next'] button").click()
    reviewer.wait_for_url(re.compile(r"/review/[0-9a-f-]{36}$"))
    assert "I paid that debt in full." in reviewer.locator(".statement").first.inner_text()
    assert who not in reviewer.content()  # no identifier in clear
    checked(reviewer)
    reviewer.check(f"input[value='{'removed' if javascript else 'upheld'}']")
    reviewer.locator("form[action^='/review/'] button.button").click()  # no reasons: refused, as the API does
    assert reviewer.locator(".error-summary a[href='#reasons']").count() == 1
    checked(reviewer)
    reviewer.fill("#reasons", "Checked with the court.")
    reviewer.locator("form[action^='/review/'] button.button").click()
    reviewer.wait_for_url("**/decided")
    checked(reviewer)

    subject.goto("/me/disputes")
    subject.locator("tbody a").first.click()
    assert "Checked with the court." in subject.locator("main").inner_text()
    checked(subject)
    after = score(subject)
    assert after > before if javascript else after == before  # removed: it no longer counts; upheld: it counts
    browsing.assert_same_origin()
