"""A subject's notices, gathered from what the store keeps (:mod:`credo.domain.notices` words them).

Changes of standing come from the outbox, negative records from ``records``
(one notice per record: the day and id of its first version, the words of its
latest, with the rule in force; and a record its source gave to another subject), dispute steps from
``disputes``, consent given or withdrawn from ``consents``. Nothing is copied: the notice ids name their origin, so a
delivery can be recorded against a notice later.
"""

from __future__ import annotations

import datetime as dt
import itertools

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.domain.notices import Notice, from_consent, from_dispute, from_event, from_move, from_record
from credo.domain.records import Record
from credo.domain.rulebook import Rulebook
from credo.store.clock import as_utc
from credo.store.tables import consents, disputes, outbox, records, subjects

__all__ = ["notices_of"]


# Long: three kinds of notice (records, events, disputes) merged into one list in one pass.
def notices_of(connection: Connection, book: Rulebook, subject_id: int, limit: int = 500) -> list[Notice]:
    """The subject's notices, newest first (by day, then by when each was made), at most ``limit``.

    A record's notice is the notice of its arrival: it keeps the id and day of the record's first version (a
    correction or a new version does not make it a new record), worded from its latest version.
    """
    kind = connection.execute(sa.select(subjects.c.kind).where(subjects.c.id == subject_id)).scalar_one()
    found: list[tuple[Notice, dt.datetime]] = []
    for event_id, event_type, detail, as_of, created_at in connection.execute(
        sa.select(outbox.c.id, outbox.c.event_type, outbox.c.detail, outbox.c.as_of, outbox.c.created_at).where(
            outbox.c.subject_id == subject_id
        )
    ):
        found.append((from_event(int(event_id), event_type, detail, as_of), as_utc(created_at)))
    found.extend(_moves_away(connection, subject_id))
    # The latest versions before their first versions: reads here may see pushes that commit between two
    # statements (no snapshot), and a record read first as latest must then be found among the first versions.
    latest = connection.execute(sa.select(records).where(records.c.subject_id == subject_id, records.c.is_latest)).all()
    first = {
        (source, record_id): (int(row_id), as_utc(received), int(version) > 1)
        for source, record_id, row_id, received, version in connection.execute(
            sa.select(
                records.c.source_id, records.c.record_id, sa.func.min(records.c.id), sa.func.min(records.c.received_at),
                sa.func.min(records.c.version),
            )
            .where(records.c.subject_id == subject_id)
            .group_by(records.c.source_id, records.c.record_id)
        )
    }  # fmt: skip
    for row in latest:
        rule = book.rule_for(row.category, kind)
        if rule is None:
            continue
        record = Record(
            row.source_id, row.record_id, str(subject_id), kind, row.category, row.occurred_on, row.amount,
            row.resolved_on, row.status, row.reference,
        )  # fmt: skip
        if (row.source_id, row.record_id) not in first:
            continue  # purged between the two reads
        first_id, arrived, moved_in = first[(row.source_id, row.record_id)]
        notice = from_record(first_id, record, rule, arrived.date(), moved_in=moved_in)
        if notice is not None:
            found.append((notice, arrived))
    for d in connection.execute(sa.select(disputes).where(disputes.c.subject_id == subject_id)):
        decided = None if d.state == "open" else (d.outcome, d.reasons, d.decided_on)
        steps = from_dispute(
            d.dispute_id, d.kind, source=d.source_id, record_id=d.record_id, opened_on=d.opened_on,
            deadline=d.deadline, decided=decided,
        )  # fmt: skip
        opened_at = as_utc(d.created_at)
        # A decision made before its time was kept (migration 0010) sorts after everything else of its day.
        decided_at = _END_OF_DAY if d.decided_at is None else as_utc(d.decided_at)
        found.extend((n, opened_at if n.kind.endswith("_opened") else decided_at) for n in steps)
    for row_id, given, on, at in connection.execute(
        sa.select(consents.c.id, consents.c.given, consents.c.on, consents.c.at).where(
            consents.c.subject_id == subject_id
        )
    ):
        notice = from_consent(int(row_id), bool(given), on, required=book.score.requires_consent)
        found.append((notice, as_utc(at)))
    found.sort(key=lambda pair: (pair[0].on, pair[1], pair[0].notice_id), reverse=True)
    return [notice for notice, _ in found[:limit]]


_END_OF_DAY = dt.datetime.max.replace(tzinfo=dt.UTC)


def _moves_away(connection: Connection, subject_id: int) -> list[tuple[Notice, dt.datetime]]:
    """A notice for each time a source gave one of the subject's records to another subject (a version of another
    subject right after one of this subject's)."""
    mine = sa.select(records.c.source_id, records.c.record_id).where(records.c.subject_id == subject_id).distinct()
    rows = connection.execute(
        sa.select(records.c.id, records.c.source_id, records.c.record_id, records.c.subject_id, records.c.received_at)
        .where(sa.tuple_(records.c.source_id, records.c.record_id).in_(mine))
        .order_by(records.c.source_id, records.c.record_id, records.c.version)
    ).all()
    found = []
    for before, after in itertools.pairwise(rows):
        same_record = (before.source_id, before.record_id) == (after.source_id, after.record_id)
        if same_record and int(before.subject_id) == subject_id and int(after.subject_id) != subject_id:
            at = as_utc(after.received_at)
            found.append((from_move(int(after.id), after.source_id, after.record_id, at.date()), at))
    return found
