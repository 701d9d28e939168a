"""The subject's portal in Chromium, as a person uses it: the report with its charts, an e-mail address given
(a mistake first) and removed again, consent withdrawn with its confirmation, the notices read. JavaScript
off and on, English and Chinese, axe on every page, nothing loaded from another origin."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from credo.domain.identifiers import make_resident_id
from credo.store.bootstrap import init_store, open_store
from tests.apisupport import OTHER_PERSON, PERSON, TODAY, api_over, record
from tests.browser import Browsing, assert_accessible
from tests.serving import Served, serving
from tests.test_web_me import CONSENT_YAML
from tests.websupport import signed_in

if TYPE_CHECKING:
    pass

THIRD_PERSON = make_resident_id("440106", dt.date(1979, 11, 3), 18)
# One subject per journey: each journey changes its subject's consent and address.
JOURNEYS = {"off-en": PERSON, "on-en": OTHER_PERSON, "off-zh": THIRD_PERSON}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, str]]:
    """``credo serve`` over a store whose rules ask for consent; each subject consented, then got a judgment."""
    folder = tmp_path_factory.mktemp("portal")
    url = f"sqlite:///{folder / 'credo.db'}"
    store = open_store(url, environ={"CREDO_TODAY": TODAY})
    try:
        init_store(store)
        with api_over(store, book=CONSENT_YAML) as api:
            for n, subject in enumerate(JOURNEYS.values()):
                given = api.client.post("/v1/me/consent", json={"given": True}, headers=api.headers("subject", subject))
                assert given.status_code == 200
                api.push(record(f"J-{n}", subject=subject))
    finally:
        store.engine.dispose()
    with serving(url, {}, folder / "serve.log") as running:
        yield running, url


@pytest.mark.parametrize("journey", list(JOURNEYS))
def test_a_subject_reads_its_report_gives_an_address_withdraws_consent_and_reads_its_notices(
    browsing: Browsing, served: tuple[Served, str], journey: str
) -> None:
    javascript, lang = journey.startswith("on"), journey.split("-")[1]
    zh = lang == "zh"
    page = signed_in(browsing, served, "subject", JOURNEYS[journey], javascript=javascript)
    page.goto(f"/me?lang={lang}")
    assert page.locator("h1").inner_text() == ("您的报告" if zh else "Your report")
    assert page.locator("svg.chart.steps[aria-hidden=true]").count() == 2
    assert_accessible(page)

    page.get_by_role("link", name="您接收通知的电子邮件地址" if zh else "Your e-mail address for notices").click()
    field = page.get_by_label("电子邮件地址" if zh else "E-mail address", exact=True)
    field.fill("not an address")
    page.get_by_role("button", name="保存地址" if zh else "Save address").click()
    assert page.title().startswith("错误：" if zh else "Error: ")
    assert_accessible(page)
    page.locator(".error-summary a").click()
    field.fill("me@example.org")
    page.get_by_role("button", name="保存地址" if zh else "Save address").click()
    page.wait_for_url("**/me/email?done=saved")
    assert "me@example.org" in page.locator("main").inner_text()
    assert_accessible(page)
    page.get_by_role("link", name="删除此地址" if zh else "Remove this address").click()
    assert_accessible(page)
    page.get_by_role("button", name="删除地址" if zh else "Remove address").click()
    page.wait_for_url("**/me/email?done=removed")
    assert "me@example.org" not in page.locator("main").inner_text()

    page.goto("/me/consent")
    assert_accessible(page)
    page.get_by_label("否，不要对我评分" if zh else "No, do not score me").check()
    page.get_by_role("button", name="保存您的选择" if zh else "Save your choice").click()
    page.wait_for_url("**/me/consent/saved?given=no")
    assert page.locator("h1").inner_text() == ("已撤回同意" if zh else "Consent withdrawn")
    assert_accessible(page)

    page.goto("/me/notices")
    notices = page.locator("main").inner_text()
    assert ("您撤回了对评分的同意" if zh else "You withdrew your consent to be scored") in notices
    assert_accessible(page)
    browsing.assert_same_origin()
