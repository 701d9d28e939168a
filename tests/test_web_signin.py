"""Signing in to the pages with a one-time link: used once, never by merely opening it, sessions that end,
forms that must come from the pages, and every step in the audit trail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from credo.cli.app import app as cli
from credo.domain.identifiers import mask_identifier
from credo.errors import NoActiveRulebookError
from credo.services import signin, subjects
from credo.services.actor import Actor
from credo.services.unit_of_work import unit_of_work
from credo.store.tables import audit_log, signin_links, web_sessions
from tests.apisupport import PERSON, Api
from tests.websupport import listed

ORIGIN = {"Origin": "http://testserver"}
OPERATOR = Actor("operator", "cli:test")


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with listed(tmp_path) as api:
        yield api


def link(api: Api, role: str, principal: str | None = None, expires: str = "15m") -> str:
    with unit_of_work(api.store) as uow:
        return signin.issue_link(uow, OPERATOR, role, principal, expires)


def actions(api: Api) -> list[str]:
    with api.store.begin() as connection:
        return list(connection.execute(sa.select(audit_log.c.action).order_by(audit_log.c.id)).scalars())


def test_opening_a_link_does_not_use_it_and_continue_signs_in_once(api: Api) -> None:
    code = link(api, "reviewer", "rita")
    for _ in range(2):  # a link preview, then the person
        page = api.client.get(f"/signin/{code}")
        assert page.status_code == 200 and "a reviewer of disputes" in page.text
    signed = api.client.post(f"/signin/{code}", headers=ORIGIN, follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == "/account"
    cookie = signed.headers["set-cookie"]
    assert "credo_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "rita" in api.client.get("/account").text
    again = api.client.post(f"/signin/{code}", headers=ORIGIN)
    assert again.status_code == 404 and "cannot be used" in again.text
    assert api.client.get(f"/signin/{code}").status_code == 404


def test_a_subject_sees_its_identifier_masked_and_its_sign_in_in_its_own_access_log(api: Api) -> None:
    code = link(api, "subject", PERSON)
    api.client.post(f"/signin/{code}", headers=ORIGIN)
    page = api.client.get("/account").text
    assert mask_identifier(PERSON) in page and PERSON not in page
    with api.store.begin() as connection:
        entry = connection.execute(sa.select(audit_log).where(audit_log.c.action == "signin")).one()
        assert entry.actor == "subject" and entry.subject_id is not None
        stored = [
            *connection.execute(sa.select(signin_links.c.principal_enc)).scalars(),
            *connection.execute(sa.select(web_sessions.c.principal_enc)).scalars(),
        ]
    assert len(stored) == 2 and all(PERSON.encode() not in bytes(value) for value in stored)  # kept encrypted


def test_signing_out_needs_the_sessions_token_and_ends_the_session(api: Api) -> None:
    api.client.post(f"/signin/{link(api, 'operator')}", headers=ORIGIN)
    page = api.client.get("/account").text
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    refused = api.client.post("/signout", data={"csrf": "forged"}, headers=ORIGIN)
    assert refused.status_code == 403
    assert "You are signed in" in api.client.get("/account").text
    out = api.client.post("/signout", data={"csrf": csrf}, headers=ORIGIN, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/signed-out"
    assert api.client.get("/account", follow_redirects=False).headers["location"] == "/signin"
    assert actions(api)[-3:] == ["signin.link", "signin", "signout"]


def test_a_post_from_another_origin_is_refused(api: Api) -> None:
    code = link(api, "operator")
    for headers in ({"Origin": "https://evil.example"}, {"Referer": "https://evil.example/page"}, {}):
        assert api.client.post(f"/signin/{code}", headers=headers).status_code == 403
    assert api.client.post(f"/signin/{code}", headers=ORIGIN, follow_redirects=False).status_code == 303


def test_a_session_ends_after_idle_time_and_a_link_after_its_expiry(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    code = link(api, "operator", expires="1m")
    api.client.post(f"/signin/{code}", headers=ORIGIN)
    assert "You are signed in" in api.client.get("/account").text
    monkeypatch.setattr(signin, "IDLE", dt.timedelta(0))
    assert api.client.get("/account", follow_redirects=False).status_code == 303
    stale = link(api, "operator", expires="1m")
    assert api.client.get(f"/signin/{stale}").status_code == 200
    with api.store.begin() as connection:  # as if its minute had passed
        connection.execute(sa.update(signin_links).values(expires_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))
    assert api.client.get(f"/signin/{stale}").status_code == 404
    assert api.client.post(f"/signin/{stale}", headers=ORIGIN).status_code == 404


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["subject", "12345"], "must be a valid identifier"),
        (["operator", "--expires", "9d"], "at most 7 days"),
        (["operator", "--expires", "soon"], "not a duration"),
        (["nobody"], "unknown role"),
    ],
)
def test_signin_link_refuses_bad_input_in_one_line(api: Api, args: list[str], said: str) -> None:
    url = str(api.store.engine.url)
    result = CliRunner().invoke(cli, ["--db", url, "signin-link", *args], env=_env(api))
    assert result.exit_code != 0 and said in result.output


def test_signin_link_prints_the_link_last(api: Api) -> None:
    url = str(api.store.engine.url)
    result = CliRunner().invoke(cli, ["--db", url, "signin-link", "reviewer", "rita", "--base-url", "https://credo.example/"],
                                env=_env(api))  # fmt: skip
    assert result.exit_code == 0, result.output
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("https://credo.example/signin/")
    assert api.client.get(last.removeprefix("https://credo.example")).status_code == 200


def _env(api: Api) -> dict[str, str]:
    return dict(api.store.environ or {})


def test_a_signed_in_subject_reads_its_report_and_the_read_is_in_its_access_log(api: Api) -> None:
    api.client.post(f"/signin/{link(api, 'subject', PERSON)}", headers=ORIGIN)
    before = actions(api).count("report.read")
    page = api.client.get("/me")
    assert page.status_code == 200
    report = api.client.get("/v1/me/report", headers=api.headers("subject", PERSON)).json()["subjects"][0]
    assert f"Your score is {report['score']:,}" in page.text
    assert "You are on the list: Dishonest judgment debtors." in page.text
    for c in report["contributions"]:
        if c["counting"]:
            assert f"{c['source']}/{c['record_id']}" in page.text
    assert PERSON not in page.text
    assert "<td>signed in</td>" in page.text  # its own sign-in, in plain words, in who read its data
    assert actions(api).count("report.read") == before + 2  # the page's read, then the API's


def test_without_a_rulebook_in_force_the_report_page_says_so(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    api.client.post(f"/signin/{link(api, 'subject', PERSON)}", headers=ORIGIN)

    def no_rulebook(*_args: object) -> None:
        raise NoActiveRulebookError("no rulebook version is in force on 2026-06-30")

    monkeypatch.setattr(subjects, "own_report", no_rulebook)
    page = api.client.get("/me")
    assert page.status_code == 200 and "No rulebook is in force yet" in page.text


def test_the_report_page_is_for_subjects_only(api: Api) -> None:
    assert api.client.get("/me", follow_redirects=False).headers["location"] == "/signin"
    api.client.post(f"/signin/{link(api, 'reviewer', 'rita')}", headers=ORIGIN)
    assert api.client.get("/me", follow_redirects=False).headers["location"] == "/signin"


@pytest.mark.parametrize(
    ("role", "principal", "start"),
    [("reviewer", "rita", "/review"), ("relying", "city-bank", "/counter"), ("operator", "olga", "/operator"),
     ("auditor", "ada", "/audit")],
)  # fmt: skip
def test_the_account_page_leads_each_role_to_its_own_pages_and_they_answer(
    api: Api, role: str, principal: str, start: str
) -> None:
    api.client.post(f"/signin/{link(api, role, principal)}", headers=ORIGIN)
    page = api.client.get("/account").text
    assert f'href="{start}"' in page
    for other in {"/review", "/counter", "/operator", "/audit", "/me"} - {start}:
        assert f'href="{other}"' not in page
    assert api.client.get(start, follow_redirects=False).status_code == 200
