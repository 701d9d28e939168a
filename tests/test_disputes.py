"""Disputes end to end over the API, on both backends: open, suspend, decide each outcome, lapse at the deadline."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from credo.api.app import create_app
from credo.cli.app import app as cli
from credo.store.bootstrap import init_store, open_store
from credo.store.tables import audit_log, records
from tests.apisupport import API_YAML, OTHER_PERSON, OTHER_SOURCE, PERSON, SOURCE, TODAY, Api, api_over, record
from tests.conftest import Backend

PENALTY = "high-consumption-restriction"


def open_dispute(api: Api, record_id: str, subject: str = PERSON) -> Any:
    return api.client.post(
        "/v1/me/disputes",
        json={"source": SOURCE, "record_id": record_id, "statement": "I paid that debt in full."},
        headers=api.headers("subject", subject),
    )


def decide(api: Api, dispute_id: str, outcome: str, **extra: Any) -> Any:
    body = {"outcome": outcome, "reasons": "checked with the court", **extra}
    return api.client.post(f"/v1/disputes/{dispute_id}/decision", json=body, headers=api.headers("reviewer", "rita"))


def applies(api: Api) -> bool:
    answer: bool = api.decide(PENALTY).json()["applies"]
    return answer


def test_an_open_dispute_suspends_the_record_until_it_is_upheld(api: Api) -> None:
    api.push(record("J-1"))
    assert applies(api)
    opened = open_dispute(api, "J-1")
    assert opened.status_code == 201, opened.text
    dispute = opened.json()
    assert (dispute["state"], dispute["record_suspended"], dispute["deadline"]) == ("open", True, "2026-07-30")
    assert not applies(api)  # rescored at once: the record does not count while the dispute is open
    report = api.client.get("/v1/me/report", headers=api.headers("subject", PERSON)).json()["subjects"][0]
    assert [(i["record_id"], i["why"]) for i in report["ignored"]] == [("J-1", "suspended by due process")]
    queue = api.client.get("/v1/disputes", headers=api.headers("reviewer", "rita")).json()
    assert [d["dispute_id"] for d in queue] == [dispute["dispute_id"]]
    seen = api.client.get(f"/v1/disputes/{dispute['dispute_id']}", headers=api.headers("reviewer", "rita")).json()
    assert seen["statement"] == "I paid that debt in full."
    decided = decide(api, dispute["dispute_id"], "upheld")
    assert decided.status_code == 200, decided.text
    assert (decided.json()["outcome"], decided.json()["decided_by"]) == ("upheld", "rita")
    assert applies(api)  # the record counts again
    again = decide(api, dispute["dispute_id"], "removed")
    assert (again.status_code, again.json()["code"]) == (409, "conflict")
    mine = api.client.get("/v1/me/disputes", headers=api.headers("subject", PERSON)).json()
    assert [(d["outcome"], d["reasons"]) for d in mine] == [("upheld", "checked with the court")]


def test_removed_records_never_count_again_even_when_resent(api: Api) -> None:
    api.push(record("J-1"))
    dispute = open_dispute(api, "J-1").json()
    assert decide(api, dispute["dispute_id"], "removed").json()["outcome"] == "removed"
    assert not applies(api)
    api.push(record("J-1", reference="sent again"))
    assert not applies(api)
    rescored = api.client.post("/v1/rescore", headers=api.headers("operator")).json()
    assert rescored["changed"] == 0  # the whole-store rescore leaves the removed record out too


def test_a_correction_is_a_new_version_that_counts(api: Api) -> None:
    allow = {"categories": ["traffic.*"]}
    api.client.post(f"/v1/sources/{SOURCE}/categories", json=allow, headers=api.headers("operator"))
    api.push(record("T-1", category="traffic.violation", amount=800))  # 800 reaches the -10 tier
    score = lambda: api.client.get("/v1/me/report", headers=api.headers("subject", PERSON)).json()["subjects"][0]  # noqa: E731
    assert score()["dimensions"]["legal"]["points"] == -10
    dispute = open_dispute(api, "T-1").json()
    assert score()["dimensions"]["legal"]["points"] == 0
    missing = decide(api, dispute["dispute_id"], "corrected")
    assert (missing.status_code, missing.json()["code"]) == (422, "unprocessable")
    done = decide(api, dispute["dispute_id"], "corrected", correction={"amount": 80})
    assert done.status_code == 200, done.text
    assert score()["dimensions"]["legal"]["points"] == -2  # the corrected amount reaches no tier
    with api.store.begin() as connection:
        versions = connection.execute(sa.select(records.c.version, records.c.amount).order_by(records.c.version)).all()
    assert [tuple(v) for v in versions] == [(1, 800.0), (2, 80.0)]


def test_only_your_own_records_and_one_dispute_at_a_time(api: Api) -> None:
    api.push(record("J-1"), record("J-2", OTHER_PERSON))
    assert open_dispute(api, "J-2").status_code == 404  # another person's record
    assert open_dispute(api, "NOPE").status_code == 404
    assert open_dispute(api, "J-1").status_code == 201
    twice = open_dispute(api, "J-1")
    assert (twice.status_code, twice.json()["code"]) == (409, "conflict")
    unknown = decide(api, "00000000-0000-0000-0000-000000000000", "upheld")
    assert unknown.status_code == 404


def test_a_dispute_not_decided_by_its_deadline_is_decided_for_the_subject(backend: Backend) -> None:
    counting = API_YAML.replace("rules:\n", "disputes: {while_open: count, decide_within: 10d}\nrules:\n", 1)
    store = open_store(backend.url, environ={**backend.environ, "CREDO_TODAY": TODAY})
    init_store(store)
    with api_over(store, book=counting) as api:
        api.push(record("J-1"))
        dispute = open_dispute(api, "J-1").json()
        assert (dispute["record_suspended"], dispute["deadline"]) == (False, "2026-07-10")
        assert applies(api)  # this rulebook lets a disputed record count until it is decided
    runner = CliRunner()
    for day, still_open in (("2026-07-09", True), ("2026-07-10", False)):
        result = runner.invoke(cli, ["--db", backend.url, "refresh"], env={**backend.environ, "CREDO_TODAY": day})
        assert result.exit_code == 0, result.output
        assert ("decided for the subject" in result.stdout) is not still_open
    later = open_store(backend.url, environ={**backend.environ, "CREDO_TODAY": "2026-07-10"})
    with TestClient(create_app(later)) as client:
        running = Api(later, client)
        assert not applies(running)
        mine = client.get("/v1/me/disputes", headers=running.headers("subject", PERSON)).json()
    later.engine.dispose()
    store.engine.dispose()
    assert [(d["outcome"], d["decided_by"]) for d in mine] == [("removed", "deadline")]


def test_a_record_upheld_after_a_dispute_is_not_suspended_again_by_the_next_one(api: Api, backend: Backend) -> None:
    api.push(record("J-1"))
    first = open_dispute(api, "J-1").json()
    assert decide(api, first["dispute_id"], "upheld").status_code == 200
    again = open_dispute(api, "J-1")
    assert again.status_code == 201, again.text
    assert again.json()["record_suspended"] is False  # else disputing anew would keep it out for good
    assert applies(api)
    # Nor is it decided for the subject by its deadline: it waits for a reviewer.
    env = {**backend.environ, "CREDO_TODAY": "2026-08-30"}
    result = CliRunner().invoke(cli, ["--db", backend.url, "refresh"], env=env)
    assert result.exit_code == 0 and "decided for the subject" not in result.stdout
    queue = api.client.get("/v1/disputes", headers=api.headers("reviewer", "rita")).json()
    assert [d["dispute_id"] for d in queue] == [again.json()["dispute_id"]]


def test_an_open_repair_application_does_not_block_a_dispute(backend: Backend) -> None:
    book = API_YAML.replace("    counts_for: 5y\n", "    counts_for: 5y\n    repair_after: 30d\n", 1)
    assert book != API_YAML
    store = open_store(backend.url, environ={**backend.environ, "CREDO_TODAY": TODAY})
    init_store(store)
    with api_over(store, book=book) as api:
        api.push(record("J-1", resolved_on="2026-04-01"))
        repair = api.client.post(
            "/v1/me/repairs",
            json={"source": SOURCE, "record_id": "J-1", "statement": "Paid on 2026-04-01."},
            headers=api.headers("subject", PERSON),
        )
        assert repair.status_code == 201, repair.text
        assert open_dispute(api, "J-1").status_code == 201
        assert open_dispute(api, "J-1").status_code == 409  # but one dispute at a time
    store.engine.dispose()


def test_reviewers_decide_from_the_command_line_too(api: Api, backend: Backend) -> None:
    api.push(record("J-1"))
    dispute = open_dispute(api, "J-1").json()
    runner = CliRunner()
    env = {**backend.environ, "CREDO_TODAY": TODAY}
    listed = runner.invoke(cli, ["--db", backend.url, "dispute", "list", "--json"], env=env)
    assert [d["dispute_id"] for d in json.loads(listed.stdout)] == [dispute["dispute_id"]]
    assert "2026-07-30" in runner.invoke(cli, ["--db", backend.url, "dispute", "list"], env=env).stdout
    done = runner.invoke(
        cli,
        ["--db", backend.url, "dispute", "decide", dispute["dispute_id"], "--outcome", "removed", "--reasons", "paid"],
        env=env,
    )
    assert done.exit_code == 0, done.output
    assert not applies(api)
    bad = runner.invoke(cli, ["--db", backend.url, "dispute", "decide", dispute["dispute_id"], "--outcome", "removed",
                              "--reasons", "again"], env=env)  # fmt: skip
    assert bad.exit_code == 1 and "already decided" in bad.stderr


REPAIRABLE = API_YAML.replace(
    "    ends_after_resolution: 90d\n", "    ends_after_resolution: 90d\n    repair_after: 30d\n", 1
)  # late tax payments: early repair 30 days after they were paid


def test_credit_repair_after_the_rules_period_on_a_reviewers_grant(backend: Backend) -> None:
    assert REPAIRABLE != API_YAML
    store = open_store(backend.url, environ={**backend.environ, "CREDO_TODAY": TODAY})
    init_store(store)
    with api_over(store, book=REPAIRABLE) as api:
        tax = {"category": "tax.late_payment", "amount": 20000}
        first = record("T-1", occurred_on="2026-01-10", resolved_on="2026-05-20", **tax)
        second = record("T-2", occurred_on="2026-02-10", resolved_on="2026-06-10", **tax)
        api.push(first, second, source=OTHER_SOURCE)
        me = api.headers("subject", PERSON)
        fiscal = lambda: api.client.get("/v1/me/report", headers=me).json()["subjects"][0]["dimensions"]["fiscal"]  # noqa: E731
        before = fiscal()["hundredths"]
        assert before < 0

        def apply(record_id: str) -> Any:
            body = {"source": OTHER_SOURCE, "record_id": record_id, "statement": "Paid in full; please repair."}
            return api.client.post("/v1/me/repairs", json=body, headers=me)

        early = apply("T-2")  # paid on 2026-06-10: repair from 2026-07-10
        assert (early.status_code, early.json()["detail"]) == (
            422,
            "early repair of this record can be asked for from 2026-07-10",
        )
        applied = apply("T-1")
        assert applied.status_code == 201, applied.text
        repair = applied.json()
        assert (repair["kind"], repair["record_suspended"]) == ("repair", False)
        assert fiscal()["hundredths"] == before  # it counts while the application is open
        wrong = decide(api, repair["dispute_id"], "removed")
        assert (wrong.status_code, wrong.json()["detail"]) == (
            422,
            "the outcome of a repair is one of granted, refused",
        )
        granted = decide(api, repair["dispute_id"], "granted")
        assert granted.status_code == 200, granted.text
        assert fiscal()["hundredths"] > before  # T-1 no longer counts
        court = api.client.post(  # a rule without repair_after
            "/v1/me/repairs", json={"source": SOURCE, "record_id": "J-9", "statement": "x"}, headers=me
        )
        assert court.status_code == 404
    store.engine.dispose()


def test_notices_say_what_happened_why_and_what_to_do(api: Api) -> None:
    api.push(record("J-1", reference="(2026) 01 Zhi 7"), record("V-1", category="civic.volunteer_service"))
    api.push(record("X-1", OTHER_PERSON))
    me = api.headers("subject", PERSON)
    notices = api.client.get("/v1/me/notices", headers=me).json()["notices"]
    kinds = sorted(n["kind"] for n in notices)
    assert kinds == ["first_scored", "list_entered", "measure_applied", "record_added"]  # V-1 earns points: no notice
    record_notice = next(n for n in notices if n["kind"] == "record_added")
    assert record_notice["why"] == {
        "source": SOURCE, "record_id": "J-1", "category": "court.judgment_default",
        "rule": "Court judgment default", "gravity": "grave", "points": -100,
    }  # fmt: skip
    assert "POST /v1/me/disputes" in record_notice["what_you_can_do"]
    assert record_notice["what"] == (
        f"A new record from {SOURCE}: Court judgment default, on 2026-03-01 (record J-1); "
        "-100 points in legal, counting for 1825 days; your report shows what it counts now."
    )
    measure = next(n for n in notices if n["kind"] == "measure_applied")
    assert measure["why"]["legal_basis"] == "Provisions on restricting high consumption by judgment debtors"
    assert measure["what"] == "The penalty High consumption restriction now applies to you."
    dispute = open_dispute(api, "J-1").json()
    decide(api, dispute["dispute_id"], "removed")
    after = api.client.get("/v1/me/notices", headers=me).json()["notices"]
    steps = [n["kind"] for n in after if n["kind"].startswith("dispute")]
    assert sorted(steps) == ["dispute_decided", "dispute_opened"]
    decided = next(n for n in after if n["kind"] == "dispute_decided")
    assert decided["what"] == f"Your dispute of {SOURCE}/J-1 was decided: removed. checked with the court"
    assert {n["kind"] for n in after} >= {"list_left", "measure_lifted"}  # the removal took them away
    assert OTHER_PERSON not in str(after) and "X-1" not in str(after)  # only the caller's own


def test_the_source_sees_the_disputes_of_its_records_and_no_others(api: Api) -> None:
    api.push(record("J-1"))
    dispute = open_dispute(api, "J-1").json()
    mine = api.client.get("/v1/source/disputes", headers=api.headers("source", SOURCE)).json()
    assert [(d["dispute_id"], d["statement"], d["state"]) for d in mine] == [
        (dispute["dispute_id"], "I paid that debt in full.", "open")
    ]
    assert api.client.get("/v1/source/disputes", headers=api.headers("source", OTHER_SOURCE)).json() == []
    accesses = api.client.get("/v1/me/report", headers=api.headers("subject", PERSON)).json()["subjects"][0]["accesses"]
    assert (SOURCE, "dispute.read") in {(a["who"], a["action"]) for a in accesses}


def test_the_reviewers_queue_comes_a_page_at_a_time_and_audits_what_it_shows(api: Api) -> None:
    """A long queue read whole appended an audit entry per open dispute at every read; a page bounds both."""
    api.push(*(record(f"J-{n}") for n in range(3)))
    opened = [open_dispute(api, f"J-{n}").json()["dispute_id"] for n in range(3)]
    rita = api.headers("reviewer", "rita")

    def queue_read_entries() -> int:
        with api.store.begin() as connection:
            query = sa.select(sa.func.count()).select_from(audit_log).where(audit_log.c.action == "dispute.queue.read")
            return int(connection.execute(query).scalar_one())

    first = api.client.get("/v1/disputes", params={"limit": 2}, headers=rita)
    assert [d["dispute_id"] for d in first.json()] == opened[:2]  # the same deadline: the first opened first
    assert queue_read_entries() == 2
    rest = api.client.get("/v1/disputes", params={"offset": 2, "limit": 2}, headers=rita)
    assert [d["dispute_id"] for d in rest.json()] == opened[2:]
    assert queue_read_entries() == 3
    whole = api.client.get("/v1/disputes", headers=rita)  # 50 a page by default
    assert [d["dispute_id"] for d in whole.json()] == opened
    too_many = api.client.get("/v1/disputes", params={"limit": 201}, headers=rita)
    assert (too_many.status_code, too_many.json()["code"]) == (422, "invalid-request")
