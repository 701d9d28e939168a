"""The service counter's pages: a clerk of a relying party asks whether a measure applies, and gets the
answer the decisions API gives, kept and audited the same way; bad questions, forged posts and other roles
are refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from credo.api.app import create_app
from credo.domain.identifiers import mask_identifier
from credo.services import signin
from credo.services.actor import Actor
from credo.services.unit_of_work import unit_of_work
from credo.store.bootstrap import init_store, open_store
from credo.store.relying import add_relying
from credo.store.tables import audit_log, decisions, relying_parties
from tests.apisupport import BANK, NOW, ORG, OTHER_PERSON, PERSON, TODAY, Api
from tests.support import make_uscc
from tests.websupport import listed

ORIGIN = {"Origin": "http://testserver"}
MEASURE = "high-consumption-restriction"
STRANGER = make_uscc("91350100", "MA000099")  # an organisation Credo holds nothing about
WRONG_CHECK = PERSON[:-1] + ("1" if PERSON[-1] != "1" else "2")  # a check character that does not fit


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with listed(tmp_path) as api:
        yield api


def sign_in(api: Api, role: str = "relying", principal: str | None = BANK) -> str:
    """Sign the client in; the session's CSRF token."""
    with unit_of_work(api.store) as uow:
        code = signin.issue_link(uow, Actor("operator", "cli:test"), role, principal, "15m")
    assert api.client.post(f"/signin/{code}", headers=ORIGIN, follow_redirects=False).status_code == 303
    page = api.client.get("/account").text
    return page.split('name="csrf" value="')[1].split('"')[0]


def ask(api: Api, csrf: str | None, **fields: str) -> Any:
    data = {"subject": PERSON, "measure": MEASURE, **fields}
    if csrf is not None:
        data["csrf"] = csrf
    return api.client.post("/counter", data=data, headers=ORIGIN)


def decision_entries(api: Api) -> list[Any]:
    with api.store.begin() as connection:
        query = sa.select(audit_log).where(audit_log.c.action == "decision").order_by(audit_log.c.id)
        return list(connection.execute(query).all())


def shown_decision_id(page: str) -> str:
    found = re.search(r'id="decision-id">([0-9a-f-]{36})<', page)
    assert found is not None, page
    return found.group(1)


def test_the_form_offers_only_the_partys_measures(api: Api) -> None:
    sign_in(api)
    page = api.client.get("/counter")
    assert page.status_code == 200
    offered = set(re.findall(r'name="measure" type="radio" value="([^"]+)"', page.text))
    assert offered == {"high-consumption-restriction", "loan-fast-track"}  # not procurement-exclusion


@pytest.mark.parametrize("subject", [PERSON, OTHER_PERSON, STRANGER])
def test_the_pages_answer_is_the_apis_answer_kept_and_audited_the_same_way(api: Api, subject: str) -> None:
    """Asked on the page and through the API, the same question gets the same answer and the same entry."""
    csrf = sign_in(api)
    page = ask(api, csrf, subject=subject)
    assert page.status_code == 200, page.text
    assert subject not in page.text and mask_identifier(subject) in page.text
    by_api = api.decide(MEASURE, subject)
    assert by_api.status_code == 200
    answer = by_api.json()
    page_id = shown_decision_id(page.text)
    with api.store.begin() as connection:
        stored = {r.decision_id: r for r in connection.execute(sa.select(decisions)).all()}
    assert {page_id, answer["decision_id"]} <= set(stored)
    by_page, by_route = stored[page_id], stored[answer["decision_id"]]
    same = ("relying_id", "subject_id", "measure_id", "applies", "as_of", "rulebook_version")
    assert [getattr(by_page, k) for k in same] == [getattr(by_route, k) for k in same]
    assert by_page.explanation["reason"] == by_route.explanation["reason"] == answer["reason"]
    assert ("applies to" if answer["applies"] else "does not apply to") in page.text
    assert answer["reason"] in page.text and answer["legal_basis"] in page.text
    page_entry, api_entry = decision_entries(api)[-2:]
    assert page_entry.detail["decision_id"] == page_id and api_entry.detail["decision_id"] == answer["decision_id"]

    def entry(row: Any) -> tuple[Any, ...]:
        detail = {k: v for k, v in row.detail.items() if k != "decision_id"}
        return row.actor_role, row.actor, row.action, row.purpose, row.subject_id, detail

    assert entry(page_entry) == entry(api_entry) == entry(page_entry)
    assert page_entry.actor_role == "relying" and page_entry.actor == BANK


def test_a_person_on_the_black_list_is_refused_high_consumption(api: Api) -> None:
    page = ask(api, sign_in(api))
    assert "applies to" in page.text and "does not apply" not in page.text


@pytest.mark.parametrize(
    ("fields", "said", "field"),
    [
        ({"subject": ""}, "Enter the identifier of the person or organisation", "subject"),
        ({"subject": WRONG_CHECK}, "Enter a valid resident identity number", "subject"),  # check character
        ({"subject": "x" * 300}, "Enter a valid resident identity number", "subject"),
        ({"measure": ""}, "Choose a measure", "measure"),
        ({"measure": "procurement-exclusion"}, "Choose one of the measures listed", "measure"),
        ({"subject": PERSON, "kind": "organization"}, "Choose whether the identifier is", "kind"),
    ],
)
def test_a_bad_question_is_asked_again_with_an_error_summary_and_nothing_decided(
    api: Api, fields: dict[str, str], said: str, field: str
) -> None:
    page = ask(api, sign_in(api), **fields)
    assert page.status_code == 400
    assert "<title>Error:" in page.text and "There is a problem" in page.text
    assert f'href="#{field}"' in page.text and f'id="{field}"' in page.text and said in page.text
    assert decision_entries(api) == []


def test_both_errors_are_summarised_in_the_order_of_the_fields(api: Api) -> None:
    page = ask(api, sign_in(api), subject="", measure="")
    assert page.status_code == 400
    assert page.text.index('href="#subject"') < page.text.index('href="#measure"')


def test_a_post_without_the_sessions_token_is_refused(api: Api) -> None:
    sign_in(api)
    for csrf in (None, "forged"):
        assert ask(api, csrf).status_code == 403
    assert (
        api.client.post("/counter", data={"csrf": "x"}, headers={"Origin": "https://evil.example"}).status_code == 403
    )
    assert decision_entries(api) == []


@pytest.mark.parametrize(("role", "principal"), [("subject", PERSON), ("operator", "alice"), ("auditor", "audit")])
def test_another_role_is_sent_to_sign_in(api: Api, role: str, principal: str) -> None:
    csrf = sign_in(api, role, principal)
    assert api.client.get("/counter", follow_redirects=False).headers["location"] == "/signin"
    refused = ask(api, csrf)
    assert refused.status_code == 303 or refused.url.path == "/signin"
    assert decision_entries(api) == []


def test_nobody_signed_in_is_sent_to_sign_in(api: Api) -> None:
    assert api.client.get("/counter", follow_redirects=False).headers["location"] == "/signin"


def test_a_disabled_party_cannot_ask(api: Api) -> None:
    csrf = sign_in(api)
    with api.store.begin() as connection:
        connection.execute(sa.update(relying_parties).values(enabled=False))
    api.client.app.state.ctx.forget("relying", BANK)  # type: ignore[attr-defined]
    assert api.client.get("/counter").status_code == 403
    assert ask(api, csrf).status_code == 403
    assert decision_entries(api) == []


def test_an_organisation_is_looked_up_too(api: Api) -> None:
    page = ask(api, sign_in(api), subject=ORG, measure="loan-fast-track")
    assert page.status_code == 200 and mask_identifier(ORG) in page.text and ORG not in page.text


def test_without_a_rulebook_in_force_no_measure_is_offered(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'credo.db'}", environ={"CREDO_TODAY": TODAY})
    init_store(store)
    with store.begin() as connection:
        add_relying(connection, BANK, ["loan-fast-track"], {"loan-fast-track"}, NOW)
    with TestClient(create_app(store), raise_server_exceptions=False) as client:
        api = Api(store, client)
        csrf = sign_in(api)
        page = api.client.get("/counter")
        assert page.status_code == 200 and "registered for no measure" in page.text
        assert ask(api, csrf, measure="loan-fast-track").status_code == 400
    store.engine.dispose()
