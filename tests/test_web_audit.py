"""The auditors' pages: the trail filtered by actor, action and day, a page at a time with the filters kept,
no identifier in clear, reading it audited as the API's reading is; the chain checked on a button, audited as
the API's check; forged posts and other roles refused."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from credo.services import signin
from credo.services.actor import Actor
from credo.services.unit_of_work import unit_of_work
from credo.store import audit as store_audit
from credo.store.audit import trail_names
from credo.store.tables import audit_log
from tests.apisupport import BANK, OTHER_PERSON, PERSON, Api
from tests.websupport import listed

ORIGIN = {"Origin": "http://testserver"}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with listed(tmp_path) as api:
        for _ in range(3):
            assert api.decide("high-consumption-restriction").status_code == 200
        assert api.decide("loan-fast-track", OTHER_PERSON).status_code == 200
        yield api


def sign_in(api: Api, role: str = "auditor", principal: str | None = "audit") -> str:
    with unit_of_work(api.store) as uow:
        code = signin.issue_link(uow, Actor("operator", "cli:test"), role, principal, "15m")
    assert api.client.post(f"/signin/{code}", headers=ORIGIN, follow_redirects=False).status_code == 303
    return api.client.get("/account").text.split('name="csrf" value="')[1].split('"')[0]


def rows(api: Api) -> list[Any]:
    with api.store.begin() as connection:
        return list(connection.execute(sa.select(audit_log).order_by(audit_log.c.id)).all())


def shown_ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr>\s*<td class="numeric">(\d+)</td>', page)]


def links(page: str) -> dict[str, str]:
    nav = page.split('class="pagination"')[1].split("</nav>", maxsplit=1)[0] if 'class="pagination"' in page else ""
    return {text: unescape(href) for href, text in re.findall(r'<a href="([^"]+)">([^<]+)</a>', nav)}


def test_the_trail_newest_first_with_no_identifier_and_the_read_audited(api: Api) -> None:
    sign_in(api)
    before = rows(api)
    page = api.client.get("/audit")
    assert page.status_code == 200
    ids = shown_ids(page.text)
    assert ids == sorted(ids, reverse=True) and ids[0] == before[-1].id
    assert PERSON not in page.text and OTHER_PERSON not in page.text
    read = rows(api)[-1]  # as GET /v1/audit/entries: a page that shows entries about subjects is logged
    assert (read.actor_role, read.actor, read.action, read.purpose) == ("auditor", "audit", "audit.read", "audit")
    assert read.subject_id is None and read.detail["entries"] == len(ids)


def test_filters_by_action_actor_and_day_and_keeps_them_in_the_page_links(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_in(api)
    from credo.web import pages_audit

    monkeypatch.setattr(pages_audit, "PAGE", 2)
    query = {"action": "decision", "actor": BANK, "day": rows(api)[-1].at.date().isoformat(), "order": "oldest"}
    first = api.client.get("/audit", params=query)
    assert first.status_code == 200
    decided = [r.id for r in rows(api) if r.action == "decision" and r.actor == BANK]
    assert len(decided) == 4 and shown_ids(first.text) == decided[:2]
    assert "selected>decision</option>" in first.text
    onward = links(first.text)["Next page"]
    for key, value in query.items():
        assert f"{key}={value}" in onward
    second = api.client.get(onward)
    assert shown_ids(second.text) == decided[2:]
    assert "Next page" not in links(second.text)
    back = api.client.get(links(second.text)["Previous page"])
    assert shown_ids(back.text) == decided[:2]
    other_day = api.client.get("/audit", params={**query, "day": "2001-01-01"})
    assert shown_ids(other_day.text) == [] and "No entry matches" in other_day.text


def test_newest_first_pages_back_and_forth(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    sign_in(api)
    from credo.web import pages_audit

    monkeypatch.setattr(pages_audit, "PAGE", 2)
    decided = [r.id for r in rows(api) if r.action == "decision"][::-1]
    first = api.client.get("/audit", params={"action": "decision"})
    assert shown_ids(first.text) == decided[:2] and "Previous page" not in links(first.text)
    second = api.client.get(links(first.text)["Next page"])
    assert shown_ids(second.text) == decided[2:4]
    assert shown_ids(api.client.get(links(second.text)["Previous page"]).text) == decided[:2]
    assert shown_ids(api.client.get(links(second.text)["Newest entries"]).text) == decided[:2]


@pytest.mark.parametrize("day", ["yesterday", "2026-02-30", "30/06/2026"])
def test_a_bad_day_gets_the_error_summary(api: Api, day: str) -> None:
    sign_in(api)
    page = api.client.get("/audit", params={"day": day})
    assert page.status_code == 400 and "<title>Error:" in page.text and 'href="#day"' in page.text


def test_verifying_the_chain_says_it_is_intact_and_is_audited_as_the_api_does(api: Api) -> None:
    csrf = sign_in(api)
    assert "Verify the chain now" in api.client.get("/audit/verify").text
    count = len(rows(api))
    page = api.client.post("/audit/verify", data={"csrf": csrf}, headers=ORIGIN)
    assert page.status_code == 200 and "The chain is intact" in page.text
    assert f"All {count} entries verify, up to entry {count}." in page.text
    entry = rows(api)[-1]
    assert (entry.actor_role, entry.actor, entry.action, entry.detail) == (
        "auditor",
        "audit",
        "audit.verify",
        {"intact": True},
    )
    by_api = api.client.get("/v1/audit/verify", headers=api.headers("auditor", "audit")).json()
    assert by_api["intact"] and by_api["entries"] == count + 1
    api_entry = rows(api)[-1]
    assert (api_entry.action, api_entry.purpose, api_entry.detail) == (entry.action, entry.purpose, entry.detail)


def test_a_broken_chain_is_shown_where_it_breaks(api: Api) -> None:
    csrf = sign_in(api)
    with api.store.begin() as connection:
        connection.execute(sa.update(audit_log).where(audit_log.c.id == 3).values(purpose="nothing to see"))
    page = api.client.post("/audit/verify", data={"csrf": csrf}, headers=ORIGIN)
    assert page.status_code == 200
    assert "The chain breaks at entry 3" in page.text and "The 2 entries before it verify." in page.text
    assert "does not match its hash" in page.text


def test_verifying_without_the_sessions_token_is_refused(api: Api) -> None:
    sign_in(api)
    count = len(rows(api))
    assert api.client.post("/audit/verify", data={"csrf": "forged"}, headers=ORIGIN).status_code == 403
    assert api.client.post("/audit/verify", headers=ORIGIN).status_code == 403
    assert len(rows(api)) == count


@pytest.mark.parametrize(("role", "principal"), [("operator", "alice"), ("relying", BANK), ("subject", PERSON)])
def test_other_roles_are_sent_to_sign_in(api: Api, role: str, principal: str) -> None:
    csrf = sign_in(api, role, principal)
    count = len(rows(api))
    for path in ("/audit", "/audit/verify"):
        assert api.client.get(path, follow_redirects=False).headers["location"] == "/signin"
    refused = api.client.post("/audit/verify", data={"csrf": csrf}, headers=ORIGIN, follow_redirects=False)
    assert refused.status_code == 303 and refused.headers["location"] == "/signin"
    assert len(rows(api)) == count


def test_the_day_is_a_utc_day(api: Api) -> None:
    sign_in(api)
    day = rows(api)[0].at
    today = api.client.get("/audit", params={"day": day.date().isoformat(), "order": "oldest"})
    assert shown_ids(today.text)[0] == 1
    after = (day.date() + dt.timedelta(days=1)).isoformat()
    assert shown_ids(api.client.get("/audit", params={"day": after}).text) == []


def test_the_choices_come_from_the_newest_entries_and_an_older_choice_is_still_offered(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    with api.store.begin() as connection:
        actions, actors = trail_names(connection, newest=1)
    last = rows(api)[-1]
    assert (actions, actors) == ([last.action], [last.actor])
    sign_in(api)
    monkeypatch.setattr(store_audit, "trail_names", functools.partial(trail_names, newest=1))
    page = api.client.get("/audit", params={"action": "record.new"})
    assert 'value="record.new" selected>' in page.text and shown_ids(page.text) == [2, 1]
    assert 'value="decision"' not in page.text  # not among the newest entry's
