"""Disputes and early repair as services (services/disputes.py), in a unit of work over a store in memory.

The same rules over the API and the command line, on both backends, are in tests/test_disputes.py; here
each rule is one use case call, in milliseconds (tests/inmemory.py, ADR 0020).
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from credo.services import disputes
from credo.services.actor import Actor
from credo.services.disputes import Decision, Filing
from credo.store.errors import ConflictError, NotFoundError, StoreError
from credo.store.tables import audit_log, current_scores, records
from credo.store.tables import disputes as dispute_rows
from tests.apisupport import OTHER_PERSON, PERSON, SOURCE, record
from tests.inmemory import InMemory

PENALTY = "high-consumption-restriction"
STATEMENT = "I paid that debt in full."
RITA = Actor("reviewer", "rita")


def penalised(store: InMemory, subject_id: int) -> bool:
    measures = store.scalar(sa.select(current_scores.c.measures).where(current_scores.c.subject_id == subject_id))
    return PENALTY in measures


def actions(store: InMemory) -> list[str]:
    return [row.action for row in store.rows(sa.select(audit_log.c.action).order_by(audit_log.c.id))]


def file(store: InMemory, record_id: str = "J-1", subject: str = PERSON) -> dict[str, object]:
    subject_id = store.subject(subject)
    with store.unit() as uow:
        return disputes.file(uow, "dispute", subject_id, Filing(SOURCE, record_id, STATEMENT))


def test_filing_suspends_the_record_and_rescores_the_subject_before_the_commit(in_memory: InMemory) -> None:
    in_memory.push(record("J-1"))
    subject_id = in_memory.subject(PERSON)
    assert penalised(in_memory, subject_id)
    with in_memory.unit() as uow:
        filed = disputes.file(uow, "dispute", subject_id, Filing(SOURCE, "J-1", STATEMENT))
        assert uow.to_rescore == {subject_id}
        assert [(e.action, e.subject_id) for e in uow.entries] == [("dispute.open", subject_id)]
    assert (filed["state"], filed["record_suspended"], filed["deadline"]) == ("open", True, "2026-07-30")
    assert not penalised(in_memory, subject_id)
    assert actions(in_memory)[-1] == "dispute.open"


def test_the_statement_is_stored_encrypted_and_read_back_for_the_reviewer(in_memory: InMemory) -> None:
    in_memory.push(record("J-1"))
    filed = file(in_memory)
    stored = in_memory.scalar(sa.select(dispute_rows.c.statement_enc))
    assert STATEMENT.encode() not in stored
    with in_memory.unit() as uow:
        seen = disputes.for_review(uow, RITA, str(filed["dispute_id"]))
        assert [(e.actor, e.action) for e in uow.entries] == [("rita", "dispute.read")]
    assert seen["statement"] == STATEMENT


def test_a_record_of_another_person_or_none_is_not_found_and_nothing_is_written(in_memory: InMemory) -> None:
    in_memory.push(record("J-1"), record("J-2", OTHER_PERSON))
    subject_id = in_memory.subject(PERSON)
    before = actions(in_memory)
    for record_id in ("J-2", "NOPE"):
        with pytest.raises(NotFoundError), in_memory.unit() as uow:
            disputes.file(uow, "dispute", subject_id, Filing(SOURCE, record_id, STATEMENT))
    assert in_memory.scalar(sa.select(sa.func.count()).select_from(dispute_rows)) == 0
    assert actions(in_memory) == before


def test_one_open_dispute_at_a_time_on_a_record(in_memory: InMemory) -> None:
    in_memory.push(record("J-1"))
    first = file(in_memory)
    with pytest.raises(ConflictError, match=str(first["dispute_id"])):
        file(in_memory)


def test_an_upheld_record_counts_again_and_a_decision_is_final(in_memory: InMemory) -> None:
    in_memory.push(record("J-1"))
    subject_id = in_memory.subject(PERSON)
    dispute_id = str(file(in_memory)["dispute_id"])
    with in_memory.unit() as uow:
        decided = disputes.decide(uow, RITA, dispute_id, Decision("upheld", "checked with the court"))
        assert uow.to_rescore == {subject_id}
    assert (decided.outcome, decided.decided_by, decided.state) == ("upheld", "rita", "decided")
    assert penalised(in_memory, subject_id)
    with pytest.raises(ConflictError), in_memory.unit() as uow:
        disputes.decide(uow, RITA, dispute_id, Decision("removed", "second thoughts"))
    with in_memory.unit() as uow:
        mine = disputes.of_subject(uow, subject_id)
    assert [(d["outcome"], d["reasons"], d["statement"]) for d in mine] == [
        ("upheld", "checked with the court", STATEMENT)
    ]


def test_a_removed_record_never_counts_again_even_when_resent(in_memory: InMemory) -> None:
    in_memory.push(record("J-1"))
    subject_id = in_memory.subject(PERSON)
    dispute_id = str(file(in_memory)["dispute_id"])
    with in_memory.unit() as uow:
        disputes.decide(uow, RITA, dispute_id, Decision("removed", "the court has no such judgment"))
    assert not penalised(in_memory, subject_id)
    assert in_memory.push(record("J-1", reference="sent again")) == ["version"]
    assert not penalised(in_memory, subject_id)


def test_a_correction_is_required_for_corrected_and_becomes_a_new_version(in_memory: InMemory) -> None:
    in_memory.push(record("J-1", amount=800))
    dispute_id = str(file(in_memory)["dispute_id"])
    with pytest.raises(StoreError), in_memory.unit() as uow:
        disputes.decide(uow, RITA, dispute_id, Decision("corrected", "the amount was wrong"))
    with in_memory.unit() as uow:
        disputes.decide(uow, RITA, dispute_id, Decision("corrected", "the amount was wrong", {"amount": 80}))
    versions = in_memory.rows(sa.select(records.c.version, records.c.amount).order_by(records.c.version))
    assert [tuple(v) for v in versions] == [(1, 800.0), (2, 80.0)]


def test_an_unknown_dispute_cannot_be_decided(in_memory: InMemory) -> None:
    with pytest.raises(NotFoundError), in_memory.unit() as uow:
        disputes.decide(uow, RITA, "00000000-0000-0000-0000-000000000000", Decision("upheld", "none"))


def test_a_reviewer_deciding_under_another_name_is_kept_in_the_trail(in_memory: InMemory) -> None:
    in_memory.push(record("J-1"))
    dispute_id = str(file(in_memory)["dispute_id"])
    with in_memory.unit() as uow:
        disputes.decide(uow, Actor("reviewer", "rita", at="cli:bob"), dispute_id, Decision("upheld", "checked"))
        (entry,) = uow.entries
    assert (entry.actor, entry.action, entry.detail) == (
        "rita",
        "dispute.decide",
        {"dispute_id": dispute_id, "outcome": "upheld", "at": "cli:bob"},
    )


def test_the_queue_shows_open_disputes_nearest_deadline_first_and_each_shown_is_audited(in_memory: InMemory) -> None:
    in_memory.push(record("J-1"), record("J-2", OTHER_PERSON))
    later = dt.datetime(2026, 6, 2, 12, tzinfo=dt.UTC)
    first = file(in_memory, "J-1")
    with in_memory.unit(today=dt.date(2026, 7, 1), now=later) as uow:
        second = disputes.file(uow, "dispute", in_memory.subject(OTHER_PERSON), Filing(SOURCE, "J-2", STATEMENT))
    with in_memory.unit() as uow:
        queue = disputes.review_queue(uow, RITA)
        shown = [(e.action, e.detail["dispute_id"]) for e in uow.entries]
    assert [(d["dispute_id"], d["deadline"]) for d in queue] == [
        (first["dispute_id"], "2026-07-30"),
        (second["dispute_id"], "2026-07-31"),
    ]
    assert "statement" not in queue[0]
    assert shown == [("dispute.queue.read", first["dispute_id"]), ("dispute.queue.read", second["dispute_id"])]


def test_a_source_reads_the_disputes_on_its_records_and_each_read_is_audited(in_memory: InMemory) -> None:
    in_memory.push(record("J-1"))
    filed = file(in_memory)
    with in_memory.unit() as uow:
        found = disputes.of_source(uow, SOURCE)
        assert [(e.actor_role, e.actor, e.action) for e in uow.entries] == [("source", SOURCE, "dispute.read")]
    with in_memory.unit() as uow:
        assert disputes.of_source(uow, "tax-office") == []
    assert [(d["dispute_id"], d["statement"]) for d in found] == [(filed["dispute_id"], STATEMENT)]
