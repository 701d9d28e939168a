"""The published lists as pages: every list, a list's public entries, and a search by identifier.

The search is the API's public lookup, so it tells nothing beyond the list (tests/test_public_lists.py holds
that); here: what a person sees, masked identifiers only, GOV.UK's error summary for a bad identifier.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from credo.domain.identifiers import make_resident_id, mask_identifier
from credo.store.tables import audit_log
from tests.apisupport import PERSON, Api
from tests.websupport import listed

BLACK = "dishonest-judgment-debtors"
UNKNOWN = make_resident_id("440301", dt.date(1970, 2, 3), 7)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with listed(tmp_path) as api:
        yield api


def test_the_lists_page_names_every_list_of_the_rules_in_force(api: Api) -> None:
    page = api.client.get("/lists")
    assert page.status_code == 200
    assert f'href="/lists/{BLACK}"' in page.text and 'href="/lists/honour-roll"' in page.text


def test_a_list_shows_its_public_entries_masked(api: Api) -> None:
    page = api.client.get(f"/lists/{BLACK}").text
    assert mask_identifier(PERSON) in page
    assert PERSON not in page


def test_a_search_says_whether_the_identifier_is_on_the_list_without_showing_it(api: Api) -> None:
    found = api.client.get(f"/lists/{BLACK}", params={"subject": f"  {PERSON} "})
    assert found.status_code == 200
    assert f"{mask_identifier(PERSON)} is on this list" in found.text
    assert "30 June 2026" in found.text and PERSON not in found.text
    missing = api.client.get(f"/lists/{BLACK}", params={"subject": UNKNOWN})
    assert f"{mask_identifier(UNKNOWN)} is not among the published entries" in missing.text
    assert UNKNOWN not in missing.text


def test_a_search_that_finds_someone_is_in_the_access_log_and_one_that_finds_nobody_is_not(api: Api) -> None:
    def lookups() -> int:
        with api.store.begin() as connection:
            query = sa.select(sa.func.count()).where(audit_log.c.action == "list.lookup")
            return int(connection.execute(query).scalar_one())

    before = lookups()
    api.client.get(f"/lists/{BLACK}", params={"subject": UNKNOWN})
    assert lookups() == before
    api.client.get(f"/lists/{BLACK}", params={"subject": PERSON})
    assert lookups() == before + 1


@pytest.mark.parametrize(
    ("typed", "message"),
    [("", "Enter an identifier to search for"), ("12345", "Enter a valid resident identity number")],
)
def test_a_bad_search_is_refused_with_an_error_summary(api: Api, typed: str, message: str) -> None:
    page = api.client.get(f"/lists/{BLACK}", params={"subject": typed})
    assert page.status_code == 400
    assert "<title>Error: " in page.text
    assert 'class="error-summary"' in page.text and 'href="#subject"' in page.text
    assert page.text.count(message) == 2  # in the summary and beside the field


def test_an_unknown_list_is_a_page_not_found(api: Api) -> None:
    page = api.client.get("/lists/no-such-list")
    assert page.status_code == 404
    assert "Page not found" in page.text and page.headers["content-type"].startswith("text/html")


def test_the_list_pages_are_in_chinese_too(api: Api) -> None:
    page = api.client.get(f"/lists/{BLACK}", params={"subject": PERSON, "lang": "zh"}).text
    assert '<html lang="zh-Hans">' in page and "在本名单上" in page and "2026年6月30日" in page
