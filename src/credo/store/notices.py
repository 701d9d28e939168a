"""A subject's notices, gathered from what the store keeps (:mod:`credo.domain.notices` words them).

Changes of standing come from the outbox, negative records from ``records``
(the latest version of each, with the rule in force), dispute steps from
``disputes``, consent given or withdrawn from ``consents``. Nothing is copied: the notice ids name their origin, so a
delivery can be recorded against a notice later.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.domain.notices import Notice, from_consent, from_dispute, from_event, from_record
from credo.domain.records import Record
from credo.domain.rulebook import Rulebook
from credo.store.tables import consents, disputes, outbox, records, subjects

__all__ = ["notices_of"]


def _day(at: dt.datetime | dt.date) -> dt.date:
    return at.date() if isinstance(at, dt.datetime) else at


def notices_of(connection: Connection, book: Rulebook, subject_id: int, limit: int = 500) -> list[Notice]:
    """The subject's notices, newest first (at most ``limit``)."""
    kind = connection.execute(sa.select(subjects.c.kind).where(subjects.c.id == subject_id)).scalar_one()
    found: list[Notice] = []
    for event_id, event_type, detail, as_of in connection.execute(
        sa.select(outbox.c.id, outbox.c.event_type, outbox.c.detail, outbox.c.as_of).where(
            outbox.c.subject_id == subject_id
        )
    ):
        found.append(from_event(int(event_id), event_type, detail, as_of))
    for row in connection.execute(sa.select(records).where(records.c.subject_id == subject_id, records.c.is_latest)):
        rule = book.rule_for(row.category, kind)
        if rule is None:
            continue
        record = Record(
            row.source_id, row.record_id, str(subject_id), kind, row.category, row.occurred_on, row.amount,
            row.resolved_on, row.status, row.reference,
        )  # fmt: skip
        notice = from_record(int(row.id), record, rule, _day(row.received_at))
        if notice is not None:
            found.append(notice)
    for d in connection.execute(sa.select(disputes).where(disputes.c.subject_id == subject_id)):
        decided = None if d.state == "open" else (d.outcome, d.reasons, d.decided_on)
        found.extend(
            from_dispute(
                d.dispute_id, d.kind, source=d.source_id, record_id=d.record_id, opened_on=d.opened_on,
                deadline=d.deadline, decided=decided,
            )
        )  # fmt: skip
    for row_id, given, on in connection.execute(
        sa.select(consents.c.id, consents.c.given, consents.c.on).where(consents.c.subject_id == subject_id)
    ):
        found.append(from_consent(int(row_id), bool(given), on, required=book.score.requires_consent))
    found.sort(key=lambda n: (n.on, n.notice_id), reverse=True)
    return found[:limit]
