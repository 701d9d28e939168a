"""The unit of work: rescore, audit, commit, in that order, with the edge's clock for every timestamp."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from credo.services import disputes
from credo.services.disputes import Filing
from credo.services.unit_of_work import UnitOfWork
from credo.store.audit import verify
from credo.store.clock import as_utc
from credo.store.tables import audit_log, outbox
from tests.apisupport import PERSON, SOURCE, TODAY, Api, record

FIXED = dt.datetime(2026, 6, 30, 9, 15, tzinfo=dt.UTC)  # not the system's clock


def test_a_units_changes_its_rescoring_and_its_entries_share_its_clock(api: Api) -> None:
    api.push(record("J-1"))
    with api.store.begin() as connection:
        before = connection.execute(sa.select(sa.func.max(outbox.c.id))).scalar_one()
        uow = UnitOfWork(connection, FIXED, dt.date.fromisoformat(TODAY), api.store.keys)
        ((subject_id, _),) = uow.subjects(PERSON, "person")
        disputes.file(uow, "dispute", subject_id, Filing(SOURCE, "J-1", "I paid that debt in full."))
        assert uow.to_rescore == {subject_id} and [e.action for e in uow.entries] == ["dispute.open"]
        uow.finish()
        events = connection.execute(sa.select(outbox.c.created_at).where(outbox.c.id > before)).scalars().all()
        last = connection.execute(sa.select(audit_log.c.at).order_by(audit_log.c.id.desc()).limit(1)).scalar_one()
    assert events, "suspending the judgment takes the person off the list: events are written"
    assert {as_utc(at) for at in events} == {FIXED}  # the outbox too, not the system's clock
    assert as_utc(last) == FIXED
    with api.store.begin() as connection:
        assert verify(connection).intact


def test_subjects_are_found_by_identifier_of_either_kind_when_no_kind_is_given(api: Api) -> None:
    api.push(record("J-1"))
    with api.store.begin() as connection:
        uow = UnitOfWork(connection, FIXED, dt.date.fromisoformat(TODAY), api.store.keys)
        assert [kind for _, kind in uow.subjects(PERSON)] == ["person"]
        assert uow.subjects(PERSON, "organization") == []
