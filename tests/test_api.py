"""The HTTP API end to end on both backends: sources push, relying parties ask, subjects read, all audited."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from credo.api.app import create_app
from credo.api.routes_relying import DecisionAnswer
from credo.domain.identifiers import make_resident_id, problem_with_identifier
from credo.store.audit import verify
from credo.store.bootstrap import open_store
from credo.store.errors import StoreError
from credo.store.rotate import rotate_keys
from credo.store.tables import audit_log, current_scores, decisions, quarantine, records, subjects
from tests.apisupport import BANK, ORG, OTHER_PERSON, OTHER_SOURCE, PERSON, SOURCE, TODAY, Api, record
from tests.conftest import Backend

ANSWER_KEYS = {"applies", "measure", "kind", "reason", "legal_basis", "since", "rulebook_version", "decision_id"}


def test_a_push_answers_each_record_and_a_resend_changes_nothing(api: Api) -> None:
    first = api.push(record("J-1"), record("J-2", OTHER_PERSON), record("J-3", subject_kind="martian"))
    assert [r["outcome"] for r in first["results"]] == ["new", "new", "rejected"]
    assert first["results"][2]["reason"] == "subject_kind must be person or organization"
    assert (first["new"], first["rejected"], first["received"]) == (2, 1, 3)
    again = api.push(record("J-1"), record("J-2", OTHER_PERSON, amount=5))
    assert [(r["outcome"], r["version"]) for r in again["results"]] == [("unchanged", 1), ("version", 2)]
    with api.store.begin() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(records)).scalar() == 3
        kept = connection.execute(sa.select(quarantine.c.file, quarantine.c.row_number, quarantine.c.reason)).all()
    assert [(f.split(":")[:2], n, r) for f, n, r in kept] == [
        (["api", SOURCE], 3, "subject_kind must be person or organization")
    ]
    api.push(record("J-3", subject_kind="martian"))  # the same bad record again: kept once
    with api.store.begin() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(quarantine)).scalar() == 1


def test_json_lines_and_an_omitted_source_are_accepted(api: Api) -> None:
    line = {"record_id": "L-1", "subject_id": PERSON, "subject_kind": "person", "category": "civic.volunteer_service"}
    body = json.dumps({**line, "occurred_on": "2026-05-01"}) + "\n\n"
    response = api.client.post(
        "/v1/records",
        content=body,
        headers={**api.headers("source", SOURCE), "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["results"] == [{"index": 0, "outcome": "new", "record_id": "L-1", "version": 1}]


def test_a_source_sends_only_its_own_records_in_its_categories(api: Api) -> None:
    answer = api.push(
        record("X-1", source=OTHER_SOURCE),
        record("X-2", category="tax.late_payment"),
        source=SOURCE,
    )
    assert [r["reason"] for r in answer["results"]] == [
        "source is not the caller's source",
        f"category tax.late_payment is not registered for source {SOURCE}",
    ]
    response = api.client.post(f"/v1/records/{OTHER_SOURCE}/X-1/withdraw", headers=api.headers("source", SOURCE))
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_withdrawing_a_record_rescores_at_once(api: Api) -> None:
    api.push(record("J-1"))
    assert api.decide("high-consumption-restriction").json()["applies"] is True
    response = api.client.post(f"/v1/records/{SOURCE}/J-1/withdraw", headers=api.headers("source", SOURCE))
    assert response.json() == {"index": 0, "outcome": "version", "record_id": "J-1", "version": 2}
    assert api.decide("high-consumption-restriction").json()["applies"] is False
    again = api.client.post(f"/v1/records/{SOURCE}/J-1/withdraw", headers=api.headers("source", SOURCE))
    assert again.json()["outcome"] == "unchanged"
    missing = api.client.post(f"/v1/records/{SOURCE}/NOPE/withdraw", headers=api.headers("source", SOURCE))
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_a_decision_is_yes_or_no_with_reason_and_basis_and_nothing_more(api: Api) -> None:
    api.push(record("J-1"))
    yes = api.decide("high-consumption-restriction")
    assert yes.status_code == 200, yes.text
    body = yes.json()
    assert set(body) == ANSWER_KEYS == set(DecisionAnswer.model_fields)  # what the OpenAPI document promises
    DecisionAnswer.model_validate(body)
    assert body["applies"] is True
    assert body["kind"] == "penalty"
    assert body["reason"] == "on list dishonest-judgment-debtors"
    assert body["legal_basis"] == "Provisions on restricting high consumption by judgment debtors"
    assert body["since"] == TODAY  # the record arrived today, so the measure applies from today
    assert body["rulebook_version"] == "2026.1"
    no = api.decide("loan-fast-track").json()
    assert (no["applies"], no["reason"], no["since"]) == (False, "grade below AA", None)
    with api.store.begin() as connection:
        stored = connection.execute(sa.select(decisions).order_by(decisions.c.id)).all()
    assert [d.decision_id for d in stored] == [body["decision_id"], no["decision_id"]]
    made_on = stored[0].explanation
    assert made_on["state"]["lists"] == ["dishonest-judgment-debtors"]
    assert made_on["trigger"] == {"on_list": "dishonest-judgment-debtors"}
    with api.store.begin() as connection:
        assert made_on["records_up_to"] == connection.execute(sa.select(sa.func.max(records.c.id))).scalar()


def test_purpose_limits_unknown_subjects_and_bad_identifiers(api: Api) -> None:
    api.push(record("J-1"))
    forbidden = api.decide("procurement-exclusion")
    assert (forbidden.status_code, forbidden.json()["code"]) == (403, "forbidden")
    unknown = api.decide("loan-fast-track", subject=ORG)  # answered as a subject with no records: no 404 (ADR 0008)
    assert (unknown.status_code, unknown.json()["applies"]) == (200, False)
    bad = api.decide("loan-fast-track", subject=PERSON[:-1] + ("0" if PERSON[-1] != "0" else "1"))
    assert (bad.status_code, bad.json()["code"]) == (422, "unprocessable")
    assert PERSON[:-1] not in bad.text
    stranger = api.decide("loan-fast-track", relying="unknown-bank")
    assert stranger.status_code == 403


def test_a_subject_sees_their_report_with_who_asked_and_only_themselves(api: Api) -> None:
    api.push(record("J-1"), record("V-1", OTHER_PERSON, category="civic.volunteer_service"))
    decision = api.decide("high-consumption-restriction").json()
    response = api.client.get("/v1/me/report", headers=api.headers("subject", PERSON))
    assert response.status_code == 200, response.text
    (mine,) = response.json()["subjects"]
    assert mine["subject_id"] == PERSON
    assert [c["record_id"] for c in mine["contributions"]] == ["J-1"]
    assert [v["id"] for v in mine["lists"]] == ["dishonest-judgment-debtors"]
    assert mine["reasons"] and mine["forecast"]
    assert [d["decision_id"] for d in mine["decisions"]] == [decision["decision_id"]]
    assert mine["decisions"][0]["asked_by"] == BANK
    assert {(a["who"], a["action"]) for a in mine["accesses"]} >= {(BANK, "decision"), (SOURCE, "record.new")}
    assert OTHER_PERSON not in response.text
    nobody = api.client.get("/v1/me/report", headers=api.headers("subject", ORG))
    assert nobody.status_code == 404


def test_public_rulebook_and_versions_need_no_token(api: Api) -> None:
    book = api.client.get("/v1/rulebook").json()
    assert (book["version"], book["in_force_since"]) == ("2026.1", "2026-01-01")
    assert "publish_for: 1y" in book["content"]
    versions = api.client.get("/v1/rulebook/versions").json()
    assert [(v["version"], v["active_from"]) for v in versions] == [("2026.1", ["2026-01-01"])]


def test_black_list_entries_are_public_only_within_their_period(api: Api, backend: Backend) -> None:
    api.push(record("J-1"))
    listed = api.client.get("/v1/lists/dishonest-judgment-debtors", params={"subject": PERSON}).json()
    assert (listed["listed"], listed["since"], listed["published_until"]) == (True, TODAY, "2027-06-29")
    not_listed = api.client.get("/v1/lists/dishonest-judgment-debtors", params={"subject": OTHER_PERSON}).json()
    assert not_listed["listed"] is False
    unknown = api.client.get("/v1/lists/no-such-list", params={"subject": PERSON})
    assert unknown.status_code == 404
    later = open_store(backend.url, environ={**backend.environ, "CREDO_TODAY": "2027-06-30"})
    from fastapi.testclient import TestClient

    from credo.api.app import create_app

    with TestClient(create_app(later)) as client:
        expired = client.get("/v1/lists/dishonest-judgment-debtors", params={"subject": PERSON}).json()
    later.engine.dispose()
    assert expired["listed"] is False  # still on the list (the record counts 5 years), no longer published


def test_operators_register_parties_and_read_statistics(api: Api) -> None:
    op = api.headers("operator", "alice")
    made = api.client.post("/v1/relying", json={"id": "counter-7", "measures": ["loan-fast-track"]}, headers=op)
    assert made.status_code == 201, made.text
    typo = api.client.post("/v1/relying", json={"id": "counter-8", "measures": ["loan-fast-trak"]}, headers=op)
    assert (typo.status_code, typo.json()["code"]) == (422, "unprocessable")
    unknown = api.client.post("/v1/sources", json={"id": "bank-x", "categories": ["loan.*"]}, headers=op)
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unprocessable")  # the rulebook knows no loan.*
    assert "matches no category the rulebook in force knows" in unknown.json()["detail"]
    namespace = api.client.post("/v1/sources/bank-x/categories", json={"categories": ["traffic"]}, headers=op)
    assert namespace.status_code == 404  # not registered: nothing was made above
    assert (
        api.client.post("/v1/sources", json={"id": "bank-x", "categories": ["traffic.*"]}, headers=op).status_code
        == 201
    )
    namespace = api.client.post("/v1/sources/bank-x/categories", json={"categories": ["court"]}, headers=op)
    assert namespace.status_code == 422 and namespace.json()["detail"].endswith("did you mean court.*?")
    api.push(
        record("J-1"), record("V-1", OTHER_PERSON, category="civic.volunteer_service"), record("Q", subject_id="x")
    )
    stats = api.client.get("/v1/stats", headers=op).json()
    assert stats["scored"] == 2
    assert stats["lists"] == {"dishonest-judgment-debtors": 1}
    assert stats["measures"] == {"high-consumption-restriction": 1}
    assert stats["quarantine_open"] == 1
    entries = api.client.get("/v1/quarantine", headers=op).json()
    assert [e["reason"] for e in entries] == ["person identifier must have 18 characters"]
    rescored = api.client.post("/v1/rescore", headers=op).json()
    assert (rescored["subjects"], rescored["changed"]) == (2, 0)
    with api.store.begin() as connection:
        actions = [a for (a,) in connection.execute(sa.select(audit_log.c.action).where(audit_log.c.actor == "alice"))]
    assert actions == ["relying.add", "source.add", "quarantine.read", "rescore"]


def test_every_access_is_in_an_intact_chain(api: Api) -> None:
    api.push(record("J-1"))
    api.decide("high-consumption-restriction")
    api.client.get("/v1/me/report", headers=api.headers("subject", PERSON))
    checked = api.client.get("/v1/audit/verify", headers=api.headers("auditor", "audit-office")).json()
    assert checked["intact"] is True
    assert checked["entries"] == 3  # the record, the decision, the report
    entries = api.client.get("/v1/audit/entries", headers=api.headers("auditor")).json()
    assert [(e["actor_role"], e["action"]) for e in entries] == [
        ("source", "record.new"),
        ("relying", "decision"),
        ("subject", "report.read"),
        ("auditor", "audit.verify"),
    ]
    assert PERSON not in str(entries)
    with api.store.begin() as connection:
        assert verify(connection).intact


def test_a_quarantined_push_is_retried_as_its_callers_record_only(api: Api) -> None:
    answer = api.push(
        record("S-1", source=OTHER_SOURCE, category="tax.late_payment"),  # naming another source
        record("S-2", category="tax.late_payment"),  # no source given; a category the caller lacks
        "not a record",  # type: ignore[arg-type]
    )
    assert [r["outcome"] for r in answer["results"]] == ["rejected"] * 3
    allowed = api.client.post(  # the operator lets the court report tax records too
        f"/v1/sources/{SOURCE}/categories", json={"categories": ["tax.*"]}, headers=api.headers("operator")
    )
    assert allowed.json() == {"id": SOURCE, "categories": ["court.*", "civic.*", "tax.*"], "enabled": True}
    done = api.client.post("/v1/quarantine/retry", headers=api.headers("operator")).json()
    assert (done["retried"], done["resolved"], done["still_open"]) == (3, 1, 2)
    left = api.client.get("/v1/quarantine", headers=api.headers("operator")).json()
    assert [e["reason"] for e in left] == ["source is not the caller's source", "record is not a JSON object"]
    with api.store.begin() as connection:
        stored = connection.execute(sa.select(records.c.source_id, records.c.record_id)).all()
    assert [tuple(r) for r in stored] == [(SOURCE, "S-2")]


def test_a_decision_on_a_stale_state_rescores_it_first(api: Api, backend: Backend) -> None:
    api.push(record("J-1", resolved_on="2026-06-01"))  # resolved: counts until 2026-06-01 + 0d, so not at all now
    api.push(record("J-2", occurred_on="2026-06-20"))
    assert api.decide("high-consumption-restriction").json()["applies"] is True
    later = open_store(backend.url, environ={**backend.environ, "CREDO_TODAY": "2031-06-20"})  # J-2 has counted 5 years
    with TestClient(create_app(later)) as client:
        headers = Api(later, client).headers("relying", BANK)
        answer = client.get("/v1/decisions/high-consumption-restriction", params={"subject": PERSON}, headers=headers)
    with later.begin() as connection:
        stored = connection.execute(sa.select(current_scores.c.as_of, current_scores.c.lists)).all()
    later.engine.dispose()
    assert (answer.json()["applies"], answer.json()["reason"]) == (False, "not on list dishonest-judgment-debtors")
    ended = dt.date(2026, 6, 20) + dt.timedelta(days=5 * 365)  # counts_for 5y: the day the walk dates the change
    assert answer.json()["since"] == ended.isoformat() == "2031-06-19"
    assert [(r.as_of.isoformat(), list(r.lists)) for r in stored] == [("2031-06-20", [])]


def test_keys_rotated_while_serving_take_effect(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("credo.services.lookups.CACHE_TTL", 0.0)
    old_token = api.headers("source", SOURCE)
    api.push(record("J-1"))
    rotate_keys(api.store)
    refused = api.client.post("/v1/records", json=[record("J-2")], headers=old_token)
    assert refused.status_code == 401  # signed under the retired key version
    api.push(record("J-2"))  # a new token, under the new keys
    with api.store.begin() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(subjects)).scalar() == 1
    assert api.decide("high-consumption-restriction").json()["applies"] is True


def test_a_subject_token_opens_only_the_kind_it_was_issued_for(api: Api) -> None:
    both = make_resident_id("110101", dt.date(1990, 1, 1), 93)  # a resident id that is also a valid USCC
    assert problem_with_identifier(both, "person") is None and problem_with_identifier(both, "organization") is None
    api.push(record("P-1", both), record("O-1", both, subject_kind="organization", category="civic.volunteer_service"))
    with pytest.raises(StoreError, match="say which with --kind"):
        api.token("subject", both)
    mine = api.client.get("/v1/me/report", headers=api.headers("subject", both, kind="person")).json()
    assert [(s["subject_kind"], [c["record_id"] for c in s["contributions"]]) for s in mine["subjects"]] == [
        ("person", ["P-1"])
    ]
