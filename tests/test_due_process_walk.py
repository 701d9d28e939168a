"""Issue 5's "done when": through the API alone, from a surprising negative record to a decided dispute and a
corrected score, each step visible to the subject and in the audit trail (docs/due-process.md, "A walk").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from credo.store.audit import verify
from credo.store.bootstrap import init_store, open_store
from credo.store.tables import audit_log
from tests.apisupport import OTHER_SOURCE, PERSON, SOURCE, TODAY, Api, api_over, record
from tests.conftest import Backend


def contribution(report: dict[str, Any], record_id: str) -> dict[str, Any] | None:
    return next((c for c in report["contributions"] if c["record_id"] == record_id), None)


def test_from_a_surprising_record_to_a_corrected_score_through_the_api_alone(api: Api) -> None:
    me = api.headers("subject", PERSON)
    rita = api.headers("reviewer", "rita")

    def report() -> dict[str, Any]:
        answer = api.client.get("/v1/me/report", headers=me)
        assert answer.status_code == 200, answer.text
        return dict(answer.json()["subjects"][0])

    def notices() -> list[dict[str, Any]]:
        return list(api.client.get("/v1/me/notices", headers=me).json()["notices"])

    # 1. A tax office reports a late payment of 150,000: the highest tier, -50 points, doubled as a repeat
    #    within a year of an earlier one (which, a first offence, was a warning).
    earlier = record("T-0", category="tax.late_payment", amount=200, occurred_on="2025-12-01")
    late = record("T-1", category="tax.late_payment", amount=150000)
    api.push(earlier, late, source=OTHER_SOURCE)
    before = report()
    assert contribution(before, "T-1")["effective_points"] == -100  # type: ignore[index]

    # 2. The subject is told, with the rule, the points and how to dispute it.
    told = next(n for n in notices() if n["kind"] == "record_added" and n["why"]["record_id"] == "T-1")
    assert (told["why"]["record_id"], told["why"]["points"]) == ("T-1", -50)
    assert "POST /v1/me/disputes" in told["what_you_can_do"]

    # 3. It was 1,500, not 150,000: the subject disputes it; the record stops counting at once.
    opened = api.client.post(
        "/v1/me/disputes",
        json={"source": OTHER_SOURCE, "record_id": "T-1", "statement": "The amount was 1,500, not 150,000."},
        headers=me,
    )
    assert opened.status_code == 201, opened.text
    dispute_id = opened.json()["dispute_id"]
    suspended = report()
    assert contribution(suspended, "T-1") is None
    assert [(i["record_id"], i["why"]) for i in suspended["ignored"]] == [("T-1", "suspended by due process")]
    assert suspended["score"] > before["score"]
    assert any(n["kind"] == "dispute_opened" for n in notices())

    # 4. A reviewer reads the statement and corrects the amount: a new version counts, -5 points, doubled.
    under_review = api.client.get(f"/v1/disputes/{dispute_id}", headers=rita).json()
    assert under_review["statement"].startswith("The amount")
    assert (under_review["record"]["amount"], under_review["record"]["category"]) == (150000, "tax.late_payment")
    decided = api.client.post(
        f"/v1/disputes/{dispute_id}/decision",
        json={"outcome": "corrected", "reasons": "The tax office confirms 1,500.", "correction": {"amount": 1500}},
        headers=rita,
    )
    assert decided.status_code == 200, decided.text

    # 5. The subject sees the decision, the corrected record and score, and who did what.
    after = report()
    assert contribution(after, "T-1")["effective_points"] == -10  # type: ignore[index]
    assert before["score"] < after["score"] <= suspended["score"]
    mine = api.client.get("/v1/me/disputes", headers=me).json()
    assert [(d["outcome"], d["reasons"], d["decided_by"]) for d in mine] == [
        ("corrected", "The tax office confirms 1,500.", "rita")
    ]
    latest = notices()
    kinds = [n["kind"] for n in latest]
    assert kinds.index("dispute_decided") < kinds.index("dispute_opened")  # newest first
    assert latest[kinds.index("dispute_decided")]["why"]["outcome"] == "corrected"
    arrivals = [n for n in latest if n["kind"] == "record_added" and n["why"]["record_id"] == "T-1"]
    assert [n["notice_id"] for n in arrivals] == [told["notice_id"]]  # the correction is not a new record
    seen = {(a["action"], a["who"]) for a in after["accesses"]}
    assert {("record.new", OTHER_SOURCE), ("dispute.open", "you"), ("dispute.read", "rita")} <= seen
    assert ("dispute.decide", "rita") in seen

    # 6. Every step is in the audit chain, which still verifies.
    with api.store.begin() as connection:
        actions = set(connection.execute(sa.select(audit_log.c.action)).scalars())
        assert verify(connection).intact
    assert {"record.new", "dispute.open", "dispute.read", "dispute.decide", "report.read", "notices.read"} <= actions


class Clock:
    """The store's clock, moved by the test: what happened when, without the wall clock."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at

    def set(self, hh_mm: str) -> None:
        hours, minutes = (int(part) for part in hh_mm.split(":"))
        self.at = self.at.replace(hour=hours, minute=minutes)


def test_notices_are_listed_in_the_order_things_happened_within_a_day(backend: Backend) -> None:
    store = open_store(backend.url, environ={**backend.environ, "CREDO_TODAY": TODAY})
    clock = Clock(dt.datetime.fromisoformat(f"{TODAY}T08:00:00+00:00"))
    store.clock = clock
    init_store(store)
    try:
        with api_over(store) as api:
            me = api.headers("subject", PERSON)
            clock.set("09:00")
            api.push(record("J-1"))
            clock.set("09:10")
            opened = api.client.post(
                "/v1/me/disputes",
                json={"source": SOURCE, "record_id": "J-1", "statement": "Paid on 2026-04-02."},
                headers=me,
            )
            assert opened.status_code == 201, opened.text
            clock.set("09:37")
            decided = api.client.post(
                f"/v1/disputes/{opened.json()['dispute_id']}/decision",
                json={"outcome": "upheld", "reasons": "The court confirms the judgment."},
                headers=api.headers("reviewer", "rita"),
            )
            assert decided.status_code == 200, decided.text
            clock.set("09:56")
            assert api.client.post("/v1/me/consent", json={"given": True}, headers=me).status_code == 200
            notices = api.client.get("/v1/me/notices", headers=me).json()["notices"]
    finally:
        store.engine.dispose()
    kinds = [n["kind"] for n in notices]
    assert {n["on"] for n in notices} == {TODAY}  # one day: only the time of each step orders them
    # Newest first: the consent (09:56), the decision (09:37), the opening (09:10), the record (09:00).
    assert kinds.index("consent_given") < kinds.index("dispute_decided") < kinds.index("dispute_opened")
    assert kinds.index("dispute_opened") < kinds.index("record_added")
