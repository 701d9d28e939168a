"""Consent over the API, on both backends: given, withdrawn and given again, with what follows each time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from credo.cli.app import app as cli
from credo.domain.decisions import NOT_SCORED
from credo.store.bootstrap import init_store, open_store
from credo.store.tables import current_scores
from tests.apisupport import API_YAML, ORG, OTHER_PERSON, PERSON, TODAY, Api, api_over, record
from tests.conftest import Backend
from tests.support import edit

CONSENT_YAML = edit(
    API_YAML, "score: {base: 1000, min: 0, max: 1300}", "score: {base: 1000, min: 0, max: 1300, requires_consent: true}"
)
PENALTY, REWARD, LISTED = "high-consumption-restriction", "loan-fast-track", "dishonest-judgment-debtors"


@pytest.fixture
def api(backend: Backend) -> Iterator[Api]:
    store = open_store(backend.url, environ={**backend.environ, "CREDO_TODAY": TODAY})
    init_store(store)
    with api_over(store, book=CONSENT_YAML) as running:
        yield running
    store.engine.dispose()


def consent(api: Api, given: bool, subject: str = PERSON) -> Any:
    response = api.client.post("/v1/me/consent", json={"given": given}, headers=api.headers("subject", subject))
    assert response.status_code == 200, response.text
    return response.json()


def report(api: Api, subject: str = PERSON) -> Any:
    response = api.client.get("/v1/me/report", headers=api.headers("subject", subject))
    assert response.status_code == 200, response.text
    return response.json()["subjects"][0]


def decision(api: Api, measure: str, subject: str = PERSON) -> tuple[bool, str]:
    answer = api.decide(measure, subject).json()
    return answer["applies"], answer["reason"]


def standing(api: Api, subject: str = PERSON) -> tuple[Any, ...]:
    r = report(api, subject)
    return (
        r["score"],
        r["grade"],
        sorted(r["dimensions"]),
        [v["id"] for v in r["lists"]],
        [v["id"] for v in r["measures"]],
    )


VOLUNTEERING = [
    record(f"V-{i}", OTHER_PERSON, category="civic.volunteer_service", occurred_on="2026-05-01") for i in range(4)
]
DIMENSIONS = ["civic", "fiscal", "legal"]


def test_consent_given_withdrawn_and_given_again(api: Api) -> None:
    api.push(record("J-1"), *VOLUNTEERING)
    # Nobody has consented: no score, no grade, no reward; the court's list and its penalty apply.
    assert standing(api) == (None, None, [], [LISTED], [PENALTY])
    assert decision(api, PENALTY) == (True, f"on list {LISTED}")
    assert decision(api, REWARD, OTHER_PERSON) == (False, NOT_SCORED)
    assert standing(api, OTHER_PERSON) == (None, None, [], [], [])
    unscored = report(api)
    assert unscored["consent"] == {
        "required": True,
        "given": False,
        "scored": False,
        "message": unscored["consent"]["message"],
    }
    assert "not scored" in unscored["consent"]["message"] and "POST /v1/me/consent" in unscored["consent"]["message"]
    assert unscored["reasons"] == [] and unscored["forecast"] == []
    assert [c["record_id"] for c in unscored["contributions"]] == ["J-1"]  # the records are still shown
    seen = api.client.get("/v1/me/consent", headers=api.headers("subject", PERSON)).json()
    assert (seen["requires_consent"], seen["given"], seen["scored"], seen["history"]) == (True, False, False, [])

    # Given: scored at once, before the answer.
    given = consent(api, True)
    assert (given["given"], given["scored"], given["changed"], given["since"]) == (True, True, True, TODAY)
    assert standing(api) == (900, "B", DIMENSIONS, [LISTED], [PENALTY])
    assert consent(api, True)["changed"] is False  # giving it twice writes nothing
    consent(api, True, OTHER_PERSON)
    assert standing(api, OTHER_PERSON) == (1040, "AA", DIMENSIONS, ["honour-roll"], [REWARD])
    assert decision(api, REWARD, OTHER_PERSON) == (True, "grade AA or better")

    # Withdrawn: the score, grade and reward go; the list and the penalty stay.
    withdrawn = consent(api, False)
    assert (withdrawn["given"], withdrawn["scored"], withdrawn["changed"]) == (False, False, True)
    assert standing(api) == (None, None, [], [LISTED], [PENALTY])
    assert decision(api, PENALTY) == (True, f"on list {LISTED}")
    consent(api, False, OTHER_PERSON)
    assert standing(api, OTHER_PERSON) == (None, None, [], [], [])
    assert decision(api, REWARD, OTHER_PERSON) == (False, NOT_SCORED)

    # Given again.
    consent(api, True)
    assert standing(api) == (900, "B", DIMENSIONS, [LISTED], [PENALTY])
    history = api.client.get("/v1/me/consent", headers=api.headers("subject", PERSON)).json()["history"]
    assert [(h["given"], h["on"]) for h in history] == [(True, TODAY), (False, TODAY), (True, TODAY)]

    # Notices: each consent step, the score going and coming, never a grade event against a missing score.
    notices = api.client.get("/v1/me/notices", headers=api.headers("subject", PERSON)).json()["notices"]
    kinds = [n["kind"] for n in notices]
    assert kinds.count("consent_given") == 2 and kinds.count("consent_withdrawn") == 1
    assert kinds.count("first_scored") == 2 and kinds.count("unscored") == 1
    assert not {"grade_up", "grade_down"} & set(kinds)
    ids = [n["notice_id"] for n in notices if n["kind"].startswith("consent_")]
    assert len(set(ids)) == 3 and all(i.startswith("consent-") for i in ids)
    again = api.client.get("/v1/me/notices", headers=api.headers("subject", PERSON)).json()["notices"]
    assert [n["notice_id"] for n in again if n["kind"].startswith("consent_")] == ids  # stable

    # The audit trail: each step is the subject's, and the subject sees it in its report.
    actions = [(a["who"], a["action"]) for a in report(api)["accesses"]]
    assert actions.count(("you", "consent.give")) == 3  # the repeated one too
    assert actions.count(("you", "consent.withdraw")) == 1
    assert ("you", "consent.read") in actions

    # Statistics: the unconsented count as not scored, in no grade.
    stats = api.client.get("/v1/stats", headers=api.headers("operator", "ops")).json()
    assert (stats["scored"], stats["not_scored_without_consent"]) == (1, 1)
    assert stats["grades"] == {"B": 1}


def test_the_commands_agree_with_the_api_as_time_passes(api: Api, backend: Backend) -> None:
    api.push(record("J-1"), *VOLUNTEERING)
    consent(api, True)
    before = (standing(api), standing(api, OTHER_PERSON))
    runner = CliRunner()
    env = {**backend.environ, "CREDO_TODAY": TODAY}
    done = runner.invoke(cli, ["--db", backend.url, "rescore"], env=env)
    assert done.exit_code == 0, done.output
    assert "0 changed, 0 event(s) written" in " ".join(done.output.split()), done.output
    assert (standing(api), standing(api, OTHER_PERSON)) == before
    shown = runner.invoke(cli, ["--db", backend.url, "score", OTHER_PERSON], env=env)
    assert "not scored (no consent)" in shown.stdout
    later = {**backend.environ, "CREDO_TODAY": "2027-06-01"}  # the volunteering has stopped counting
    assert runner.invoke(cli, ["--db", backend.url, "refresh"], env=later).exit_code == 0
    shown = runner.invoke(cli, ["--db", backend.url, "score", PERSON, OTHER_PERSON, "--json"], env=later)
    assert shown.exit_code == 0, shown.output
    assert '"score": 900' in shown.stdout and '"score": null' in shown.stdout


def test_organisations_are_always_scored_and_cannot_be_asked(api: Api) -> None:
    api.push(record("J-9", ORG))
    headers = api.headers("subject", ORG, kind="organization")
    refused = api.client.post("/v1/me/consent", json={"given": False}, headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (422, "unprocessable")
    assert "only persons" in refused.json()["detail"]
    r = api.client.get("/v1/me/report", headers=headers).json()["subjects"][0]
    assert (r["score"], r["consent"]["required"], r["consent"]["scored"]) == (900, False, True)
    bad = api.client.post("/v1/me/consent", json={"given": "yes"}, headers=api.headers("subject", PERSON))
    assert bad.status_code == 422


def test_without_requires_consent_nothing_changes(backend: Backend) -> None:
    store = open_store(backend.url, environ={**backend.environ, "CREDO_TODAY": TODAY})
    init_store(store)
    with api_over(store) as api:
        api.push(record("J-1"))
        assert standing(api) == (900, "B", DIMENSIONS, [LISTED], [PENALTY])
        assert report(api)["consent"] == {"required": False, "given": False, "scored": True, "message": None}
        withdrawn = consent(api, False)  # nothing to withdraw: not written
        assert (withdrawn["requires_consent"], withdrawn["scored"], withdrawn["changed"]) == (False, True, False)
        consent(api, True)
        consent(api, False)
        assert standing(api) == (900, "B", DIMENSIONS, [LISTED], [PENALTY])
        notices = api.client.get("/v1/me/notices", headers=api.headers("subject", PERSON)).json()["notices"]
        told = [n["what"] for n in notices if n["kind"].startswith("consent_")]
        assert len(told) == 2 and all("does not ask for consent, so nothing changes now" in t for t in told)
    store.engine.dispose()


def test_consent_given_in_advance_is_kept_and_the_person_is_scored_from_its_first_record(backend: Backend) -> None:
    store = open_store(backend.url, environ={**backend.environ, "CREDO_TODAY": TODAY})
    init_store(store)
    with api_over(store, book=CONSENT_YAML) as api:
        given = consent(api, True)
        assert (given["given"], given["changed"]) == (True, True)
        with store.begin() as connection:
            assert connection.execute(sa.select(sa.func.count()).select_from(current_scores)).scalar_one() == 0
        api.push(record("J-1"))
        assert standing(api)[:2] == (900, "B")
    store.engine.dispose()
