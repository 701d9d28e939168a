"""A record its source moves to another subject: what becomes of the disputes on it (docs/due-process.md).

A source may re-send a record under another ``subject_id`` (it named the
wrong person, or a company was merged): the new version belongs to the new
subject. A dispute is the disputing subject's, about the record as it was
held against it, so when the record moves:

* every open dispute and repair application on it by another subject than
  the new holder is closed as ``moved`` (decided that day, by the source),
  and the subject who opened it is told in its notices;
* a dispute's effect (an open dispute's suspension, a ``removed`` or
  ``granted`` decision, an ``upheld`` that stops a later dispute suspending)
  acts only while the subject who disputed holds the record
  (:func:`credo.store.scoring_inputs.suppressed_records`), never on the new holder,
  who may dispute the record afresh.

Every path that stores a new version with another subject calls
:func:`close_moved_disputes` in the same transaction: a file ingest and a
quarantine retry (:mod:`credo.services.ingest`), a push (:mod:`credo.store.push`).
A withdrawal or a reviewer's correction keeps the subject.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.store.tables import disputes

__all__ = ["MOVED", "MOVED_REASONS", "close_moved_disputes"]

MOVED = "moved"
MOVED_REASONS = "the source attributed the record to another subject: it no longer counts for you"


def close_moved_disputes(
    connection: Connection, moved: Iterable[tuple[str, str, int]], *, today: dt.date, now: dt.datetime
) -> list[int]:
    """Close the open disputes and applications on records that moved, (source, record_id, new holder) each.

    Returns the subjects whose disputes were closed. Open disputes are few (reviewers decide them within
    weeks), so they are read at once and matched here, however many records moved.
    """
    holder = {(source, record_id): subject for source, record_id, subject in moved}
    if not holder:
        return []
    open_rows = connection.execute(
        sa.select(disputes.c.id, disputes.c.source_id, disputes.c.record_id, disputes.c.subject_id).where(
            disputes.c.state == "open"
        )
    ).all()
    closing = [
        row
        for row in open_rows
        if (row.source_id, row.record_id) in holder and int(row.subject_id) != holder[(row.source_id, row.record_id)]
    ]
    for row in closing:
        connection.execute(
            sa.update(disputes)
            .where(disputes.c.id == row.id, disputes.c.state == "open")
            .values(
                state="decided", outcome=MOVED, reasons=MOVED_REASONS, decided_by=row.source_id, decided_on=today,
                decided_at=now,
            )
        )  # fmt: skip
    return sorted({int(row.subject_id) for row in closing})
