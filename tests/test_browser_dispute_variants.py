"""The dispute pages the main journey (tests/test_browser_disputes.py) does not reach, in Chromium with axe:
the reviewers' empty queue, an application for early repair from its question to its confirmation, a repair
case and its decision, and a case already decided."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from credo.store.bootstrap import init_store, open_store
from tests.apisupport import OTHER_SOURCE, PERSON, TODAY, api_over, record
from tests.browser import Browsing, assert_accessible
from tests.serving import Served, serving
from tests.test_web_disputes import REPAIRABLE
from tests.websupport import signed_in


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, str]]:
    """``credo serve`` over rules that let a late tax payment be repaired 30 days after it was paid, and one such
    payment, paid long enough ago; the store's URL."""
    folder = tmp_path_factory.mktemp("variants")
    url = f"sqlite:///{folder / 'credo.db'}"
    store = open_store(url, environ={"CREDO_TODAY": TODAY})
    try:
        init_store(store)
        with api_over(store, book=REPAIRABLE) as api:
            paid = record("T-1", occurred_on="2026-01-10", resolved_on="2026-05-20", category="tax.late_payment")
            api.push(paid, source=OTHER_SOURCE)
    finally:
        store.engine.dispose()
    with serving(url, {}, folder / "serve.log") as running:
        yield running, url


def checked(page: Page) -> None:
    assert page.get_by_role("heading", level=1).count() == 1
    assert_accessible(page)


def test_the_empty_queue_a_repair_from_question_to_decision_and_a_decided_case(
    browsing: Browsing, served: tuple[Served, str]
) -> None:
    reviewer = signed_in(browsing, served, "reviewer", "rita", javascript=False)
    for lang in ("en", "zh"):
        reviewer.goto(f"/review?lang={lang}")
        checked(reviewer)
    reviewer.goto("/review?lang=en")
    assert "Take the next one" not in reviewer.inner_text("main")  # nothing to take

    subject = signed_in(browsing, served, "subject", PERSON, javascript=False)
    subject.goto("/me/disputes/new?source=tax-office&record=T-1&kind=repair&lang=en")
    assert "Why should this record stop counting early?" in subject.inner_text("main")
    checked(subject)
    subject.fill("#statement", "Paid in full with the surcharge on 20 May.")
    subject.get_by_role("button", name="Continue").click()
    checked(subject)
    subject.get_by_role("button", name="Send the application").click()
    assert "Application sent" in subject.inner_text("main")
    checked(subject)

    reviewer.goto("/review?lang=en")
    checked(reviewer)
    reviewer.get_by_role("button", name="Take the next one").click()
    case = reviewer.url
    checked(reviewer)
    reviewer.get_by_label("Refused: the record counts until its time").check()
    reviewer.fill("#reasons", "The surcharge was paid after the period the rules allow.")
    reviewer.get_by_role("button", name="Record the decision").click()
    checked(reviewer)
    for lang in ("en", "zh"):
        reviewer.goto(f"{case}?lang={lang}")  # decided already
        checked(reviewer)
    browsing.assert_same_origin()
