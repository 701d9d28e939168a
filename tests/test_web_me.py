"""The subject's portal beyond the report's first version: the forecast and history of the score as charts,
dimensions and decisions on /me; notices, consent and the e-mail address as pages and forms. Each page calls
the service its API route calls, so it is audited as the API is; every form refuses a post without the
session's token and anyone but a subject."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from credo.services import signin
from credo.services.actor import Actor
from credo.services.unit_of_work import unit_of_work
from credo.store.bootstrap import init_store, open_store
from credo.store.tables import audit_log
from credo.web.charts import steps
from tests.apisupport import API_YAML, ORG, PERSON, TODAY, Api, api_over, record
from tests.support import edit

ORIGIN = {"Origin": "http://testserver"}
CONSENT_YAML = edit(
    API_YAML, "score: {base: 1000, min: 0, max: 1300}", "score: {base: 1000, min: 0, max: 1300, requires_consent: true}"
)
FORMS = ("/me/consent", "/me/email", "/me/email/remove")
PAGES = ("/me", "/me/notices", "/me/consent", "/me/consent/saved?given=yes", "/me/email", "/me/email/remove")


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    """The rules ask persons for consent; PERSON gave it, volunteered, then got a judgment; a bank asked."""
    store = open_store(f"sqlite:///{tmp_path / 'credo.db'}", environ={"CREDO_TODAY": TODAY})
    init_store(store)
    with api_over(store, book=CONSENT_YAML) as api:
        given = api.client.post("/v1/me/consent", json={"given": True}, headers=api.headers("subject", PERSON))
        assert given.status_code == 200
        api.push(record("V-1", category="civic.volunteer_service", occurred_on="2026-05-01"))  # scored: grade A
        api.push(record("J-1"))  # grade B
        assert api.decide("high-consumption-restriction").status_code == 200
        yield api
    store.engine.dispose()


def sign_in(api: Api, role: str, principal: str | None = None) -> str:
    """Sign the client in (as the pages do, with a one-time link); the session's CSRF token."""
    with unit_of_work(api.store) as uow:
        code = signin.issue_link(uow, Actor("operator", "cli:test"), role, principal, "15m")
    assert api.client.post(f"/signin/{code}", headers=ORIGIN, follow_redirects=False).status_code == 303
    page = api.client.get("/account").text
    return page.split('name="csrf" value="')[1].split('"')[0]


def actions(api: Api) -> list[str]:
    with api.store.begin() as connection:
        return list(connection.execute(sa.select(audit_log.c.action).order_by(audit_log.c.id)).scalars())


def post(api: Api, path: str, **fields: str) -> object:
    return api.client.post(path, data=fields, headers=ORIGIN, follow_redirects=False)


def test_the_report_draws_the_forecast_and_the_history_each_beside_a_table_of_its_numbers(api: Api) -> None:
    sign_in(api, "subject", PERSON)
    before = len(actions(api))
    page = api.client.get("/me")
    assert page.status_code == 200
    text = page.text
    assert text.count('<svg class="chart steps" aria-hidden="true"') == 2  # hidden from screen readers
    forecast = text.split('id="forecast"')[1].split("</table>")[0]
    assert "28 February 2031" in forecast and "Records that stop counting" in forecast  # the judgment ends
    history = text.split('id="history"')[1].split("</table>")[0]
    assert "You were scored for the first time" in history and "Your grade went down" in history
    assert history.index("1,010") < history.index("910")  # oldest first: A on its first score, then B
    assert "Your score by part" in text and "legal" in text  # the dimensions
    assert "Legal basis: Provisions on restricting high consumption by judgment debtors" in text  # the measure's
    decisions = text.split("Decisions about you")[1].split("</table>")[0]
    assert "city-bank" in decisions and "High consumption restriction" in decisions and "Applies" in decisions
    assert PERSON not in text
    assert actions(api)[before:] == ["report.read", "history.read"]  # the API's entry, and the history read


def test_the_notices_page_shows_each_notice_and_is_audited_as_the_api_is(api: Api) -> None:
    sign_in(api, "subject", PERSON)
    page = api.client.get("/me/notices")
    assert page.status_code == 200
    assert "A record about you arrived" in page.text and "You consented to be scored" in page.text
    assert actions(api)[-1] == "notices.read"


def test_withdrawing_consent_asks_the_question_and_confirms_the_choice(api: Api) -> None:
    csrf = sign_in(api, "subject", PERSON)
    page = api.client.get("/me/consent").text
    assert "Do you agree to be scored?" in page and 'value="yes" checked' in page
    assert actions(api)[-1] == "consent.read"
    saved = post(api, "/me/consent", csrf=csrf, given="no")
    assert saved.status_code == 303 and saved.headers["location"] == "/me/consent/saved?given=no"
    assert actions(api)[-1] == "consent.withdraw"
    assert "Consent withdrawn" in api.client.get(saved.headers["location"]).text
    assert "You are not scored" in api.client.get("/me").text


def test_consent_without_a_choice_shows_the_error_summary(api: Api) -> None:
    csrf = sign_in(api, "subject", PERSON)
    answer = post(api, "/me/consent", csrf=csrf)
    assert answer.status_code == 400
    assert "<title>Error: " in answer.text and 'href="#given-yes"' in answer.text
    assert "consent.give" not in actions(api)[-3:] and "consent.withdraw" not in actions(api)


def test_an_organisation_is_told_it_is_not_asked_for_consent(api: Api) -> None:
    csrf = sign_in(api, "subject", ORG)
    assert "Organisations are always scored" in api.client.get("/me/consent").text
    assert "Organisations are always scored" in post(api, "/me/consent", csrf=csrf, given="no").text
    assert "consent.withdraw" not in actions(api)


@pytest.mark.parametrize(
    ("typed", "said"),
    [("", "Enter your e-mail address"), ("not an address", "in the correct format"), ("a@b@c.org", "correct format")],
)
def test_a_bad_address_is_refused_beside_its_field(api: Api, typed: str, said: str) -> None:
    csrf = sign_in(api, "subject", PERSON)
    answer = post(api, "/me/email", csrf=csrf, email=typed)
    assert answer.status_code == 400
    assert "<title>Error: " in answer.text and 'href="#email"' in answer.text and said in answer.text
    assert "contact.set" not in actions(api)


def test_an_address_is_given_changed_and_removed_after_a_confirmation(api: Api) -> None:
    csrf = sign_in(api, "subject", PERSON)
    assert "You have not given an address" in api.client.get("/me/email").text
    saved = post(api, "/me/email", csrf=csrf, email=" first@example.org ")
    assert saved.status_code == 303 and saved.headers["location"] == "/me/email?done=saved"
    assert actions(api)[-1] == "contact.set"
    page = api.client.get(saved.headers["location"]).text
    assert "first@example.org" in page and "Your address is saved" in page
    post(api, "/me/email", csrf=csrf, email="second@example.org")
    assert "second@example.org" in api.client.get("/v1/me/contact", headers=api.headers("subject", PERSON)).text
    assert "Remove your e-mail address?" in api.client.get("/me/email/remove").text
    removed = post(api, "/me/email/remove", csrf=csrf)
    assert removed.status_code == 303 and removed.headers["location"] == "/me/email?done=removed"
    assert actions(api)[-1] == "contact.remove"
    assert "You have not given an address" in api.client.get("/me/email").text
    again = post(api, "/me/email/remove", csrf=csrf)  # nothing left to remove: back to the page
    assert again.status_code == 303 and again.headers["location"] == "/me/email"


@pytest.mark.parametrize("path", FORMS)
def test_a_form_posted_without_the_sessions_token_is_refused(api: Api, path: str) -> None:
    sign_in(api, "subject", PERSON)
    before = actions(api)
    for fields in ({}, {"csrf": "forged"}):
        answer = post(api, path, given="no", email="x@example.org", **fields)
        assert answer.status_code == 403 and "could not be sent" in answer.text
    assert actions(api) == before


@pytest.mark.parametrize("path", PAGES)
def test_anyone_but_a_subject_is_sent_to_sign_in(api: Api, path: str) -> None:
    assert api.client.get(path, follow_redirects=False).headers["location"] == "/signin"  # nobody signed in
    sign_in(api, "operator", "alice")
    assert api.client.get(path, follow_redirects=False).headers["location"] == "/signin"


@pytest.mark.parametrize("path", FORMS)
def test_another_role_cannot_post_a_subjects_form(api: Api, path: str) -> None:
    csrf = sign_in(api, "reviewer", "rita")
    before = actions(api)
    answer = post(api, path, csrf=csrf, given="no", email="x@example.org")
    assert answer.status_code == 303 and answer.headers["location"] == "/signin"
    assert actions(api) == before


def test_a_step_chart_breaks_where_nothing_is_scored_and_marks_the_grades_within_its_axis() -> None:
    day = dt.date(2026, 1, 1)
    points = [(day, 900), (day + dt.timedelta(days=10), 1010), (day + dt.timedelta(days=20), None)]
    drawn = steps(points, [("AA", 1030), ("A", 960), ("B", 0)], (0, 1300))
    assert drawn.path == f"M 56 {drawn.dots[0].y} H 268 V {drawn.dots[1].y} H 480"  # no tail: unscored from 480
    assert (drawn.low, drawn.high) == (873, 1037)  # the values with a margin, not the whole scale
    assert [level.grade for level in drawn.levels] == ["AA", "A"]  # B begins below the axis
    assert drawn.dots[0].y > drawn.levels[1].y > drawn.dots[1].y > drawn.levels[0].y  # 900 < 960 < 1010 < 1030
    alone = steps([(day, 1000)], [], (0, 1300))
    assert alone.path == f"M 56 {alone.dots[0].y} H 512" and alone.first == alone.last
