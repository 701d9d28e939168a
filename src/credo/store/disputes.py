"""Disputes as rows: a subject contests one of its records, a reviewer decides within the deadline, or the subject wins.

The rules (deadline, suspension, repair eligibility, what a decision must say) are
:mod:`credo.domain.disputes`; the use cases that run these functions, with their audit entries and the
rescoring they call for, are :mod:`credo.services.disputes`.

* **Open** (:func:`open_dispute`): on a record that is the subject's own,
  with a statement (kept encrypted). If the rulebook in force says
  ``disputes.while_open: suspend`` (the default), the record stops counting
  at once and until the dispute is decided. The deadline is the opening day
  plus ``disputes.decide_within`` (30 days by default, as the FCRA's
  reinvestigation period).
* **Decide** (:func:`decide_dispute`): ``upheld`` (the record counts again),
  ``corrected`` (a new version of the record with the corrected amount or
  dates counts), ``removed`` (the record never counts again).
* **Lapse** (:func:`lapse_overdue`, run by the daily ``credo refresh``): a
  dispute still open on its deadline is decided for the subject: removed.
* **Moved** (:mod:`credo.store.moves`): the source gave the record to another
  subject; the dispute is closed, and acts on the new holder in no way.

The caller rescores the subject in the same transaction (the functions
return the subjects to rescore); :func:`credo.store.scoring_inputs.suppressed_records`
is what every scoring path leaves out.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.domain.disputes import Dispute, Filing, deadline, decision_problem, repair_problem
from credo.domain.disputes import suspends as dispute_suspends
from credo.domain.records import Record, typed_problem
from credo.domain.rulebook import Rulebook
from credo.store.errors import ConflictError, NotFoundError, StoreError
from credo.store.keys import KeyRing
from credo.store.push import supersede
from credo.store.tables import disputes, records, subjects

__all__ = [
    "decide_dispute",
    "dispute_for_review",
    "disputes_of",
    "disputes_on_source",
    "lapse_overdue",
    "open_dispute",
    "open_repair",
    "queue",
    "statement_of",
]


def _of(row: Any) -> Dispute:
    return Dispute(
        row.dispute_id,
        int(row.subject_id),
        row.source_id,
        row.record_id,
        row.state,
        bool(row.suspends),
        row.opened_on,
        row.deadline,
        row.outcome,
        row.reasons,
        row.decided_by,
        row.decided_on,
        row.kind,
    )


def statement_of(connection: Connection, ring: KeyRing, dispute_id: str) -> str:
    sealed = connection.execute(sa.select(disputes.c.statement_enc).where(disputes.c.dispute_id == dispute_id)).scalar()
    return "" if sealed is None else ring.decrypt(sealed).decode()


def _latest(connection: Connection, source: str, record_id: str) -> Any:
    return connection.execute(
        sa.select(records).where(records.c.source_id == source, records.c.record_id == record_id, records.c.is_latest)
    ).first()


def open_dispute(
    connection: Connection,
    ring: KeyRing,
    book: Rulebook,
    subject_id: int,
    filing: Filing,
    *,
    today: dt.date,
    now: dt.datetime,
) -> Dispute:
    """Open a dispute on the subject's own record; the caller rescores the subject."""
    _own_record(connection, subject_id, filing.source, filing.record_id)
    if not filing.statement.strip():
        raise StoreError("say what is wrong with the record (statement)")
    # Upheld before: not suspended again (nor removed by its deadline, see lapse_overdue); credo.domain.disputes.
    upheld = _upheld_before(connection, subject_id, filing.source, filing.record_id)
    suspends = dispute_suspends(book, upheld_before=upheld)
    return _file(connection, ring, book, subject_id, filing, kind="dispute", suspends=suspends, today=today, now=now)


def open_repair(
    connection: Connection,
    ring: KeyRing,
    book: Rulebook,
    subject_id: int,
    filing: Filing,
    *,
    today: dt.date,
    now: dt.datetime,
) -> Dispute:
    """Apply for the early repair of one of the subject's resolved records, once its rule's period has passed.

    After China's NDRC Order No. 36: a resolved record may stop counting
    before its time on the subject's application, if the rule allows it
    (``repair_after``) and a reviewer grants it. The record counts meanwhile.
    """
    row = _own_record(connection, subject_id, filing.source, filing.record_id)
    kind = connection.execute(sa.select(subjects.c.kind).where(subjects.c.id == subject_id)).scalar_one()
    problem = repair_problem(book.rule_for(row.category, kind), row.category, row.status, row.resolved_on, today)
    if problem is not None:
        raise StoreError(problem)
    if not filing.statement.strip():
        raise StoreError("say why the record should be repaired (statement)")
    return _file(connection, ring, book, subject_id, filing, kind="repair", suspends=False, today=today, now=now)


def _own_record(connection: Connection, subject_id: int, source: str, record_id: str) -> Any:
    """The latest version of the record, if it is the subject's (another's is not found, as an unknown one)."""
    row = _latest(connection, source, record_id)
    if row is None or int(row.subject_id) != subject_id:
        raise NotFoundError("you have no record with this source and record_id")
    return row


def _file(
    connection: Connection,
    ring: KeyRing,
    book: Rulebook,
    subject_id: int,
    filing: Filing,
    *,
    kind: str,
    suspends: bool,
    today: dt.date,
    now: dt.datetime,
) -> Dispute:
    """Store a new open dispute or repair application (none of its kind may be open on the record already)."""
    _none_open(connection, filing.source, filing.record_id, kind)
    item = Dispute(
        dispute_id=str(uuid.uuid4()),
        subject_id=subject_id,
        source=filing.source,
        record_id=filing.record_id,
        state="open",
        suspends=suspends,
        opened_on=today,
        deadline=deadline(book, today),
        outcome=None,
        reasons=None,
        decided_by=None,
        decided_on=None,
        kind=kind,
    )
    _insert(connection, ring, item, filing.statement, now)
    return item


def _upheld_before(connection: Connection, subject_id: int, source: str, record_id: str) -> bool:
    """Whether this subject's dispute of this record was decided upheld already (another holder's does not count)."""
    return (
        connection.execute(
            sa.select(disputes.c.id).where(
                disputes.c.subject_id == subject_id,
                disputes.c.source_id == source,
                disputes.c.record_id == record_id,
                disputes.c.kind == "dispute",
                disputes.c.outcome == "upheld",
            )
        ).first()
        is not None
    )


def _none_open(connection: Connection, source: str, record_id: str, kind: str) -> None:
    """One open dispute and one open repair application per record at most (a repair does not block a dispute)."""
    already = connection.execute(
        sa.select(disputes.c.dispute_id, disputes.c.kind).where(
            disputes.c.source_id == source,
            disputes.c.record_id == record_id,
            disputes.c.state == "open",
            disputes.c.kind == kind,
        )
    ).first()
    if already is not None:
        what = "dispute" if already.kind == "dispute" else "repair application"
        raise ConflictError(f"this record already has an open {what}: {already.dispute_id}")


def _insert(connection: Connection, ring: KeyRing, item: Dispute, statement: str, now: dt.datetime) -> None:
    connection.execute(
        sa.insert(disputes).values(
            dispute_id=item.dispute_id,
            kind=item.kind,
            subject_id=item.subject_id,
            source_id=item.source,
            record_id=item.record_id,
            statement_enc=ring.encrypt(statement.encode()),
            suspends=item.suspends,
            opened_on=item.opened_on,
            deadline=item.deadline,
            state="open",
            created_at=now,
        )
    )


def _get(connection: Connection, dispute_id: str) -> Dispute:
    row = connection.execute(sa.select(disputes).where(disputes.c.dispute_id == dispute_id)).first()
    if row is None:
        raise NotFoundError(f"no dispute {dispute_id}")
    return _of(row)


def _correct(
    connection: Connection, source: str, record_id: str, correction: Mapping[str, Any], now: dt.datetime
) -> int:
    """A new version of the record with the corrected amount or dates; returns its subject."""
    row = _latest(connection, source, record_id)
    if row is None:
        raise NotFoundError("the disputed record is no longer stored")
    unknown = set(correction) - {"amount", "occurred_on", "resolved_on"}
    if unknown or not correction:
        raise StoreError("a correction changes amount, occurred_on or resolved_on, and nothing else")
    fixed = Record(
        row.source_id, row.record_id, "", "", row.category, row.occurred_on, row.amount, row.resolved_on,
        row.status, row.reference,
    )  # fmt: skip
    fixed = replace(fixed, **dict(correction))
    problem = typed_problem(fixed)
    if problem is not None:  # the words of every other path (parse_row, the batch SQL)
        raise StoreError(problem)
    supersede(connection, row, fixed, now)
    return int(row.subject_id)


def decide_dispute(
    connection: Connection,
    dispute_id: str,
    outcome: str,
    reasons: str,
    reviewer: str,
    *,
    today: dt.date,
    now: dt.datetime,
    correction: Mapping[str, Any] | None = None,
) -> tuple[Dispute, list[int]]:
    """Decide an open dispute or repair application; returns it and the subjects to rescore."""
    dispute = _get(connection, dispute_id)
    problem = decision_problem(dispute.kind, outcome, reasons, corrected=correction is not None)
    if problem is not None:
        raise StoreError(problem)
    if dispute.state != "open":
        raise ConflictError(f"dispute {dispute_id} was already decided ({dispute.outcome})")
    held = _latest(connection, dispute.source, dispute.record_id)
    if held is not None and int(held.subject_id) != dispute.subject_id:  # a decision never acts on a new holder
        raise ConflictError(f"the record of dispute {dispute_id} now belongs to another subject: nothing to decide")
    touched = {dispute.subject_id}
    if correction is not None:
        touched.add(_correct(connection, dispute.source, dispute.record_id, correction, now))
    connection.execute(
        sa.update(disputes)
        .where(disputes.c.dispute_id == dispute_id)
        .values(
            state="decided", outcome=outcome, reasons=reasons, decided_by=reviewer, decided_on=today, decided_at=now
        )
    )
    decided = replace(dispute, state="decided", outcome=outcome, reasons=reasons, decided_by=reviewer, decided_on=today)
    return decided, sorted(touched)


def lapse_overdue(connection: Connection, today: dt.date, now: dt.datetime) -> list[Dispute]:
    """Decide for the subject every dispute still open on or after its deadline: the record is removed.

    Not a repeated dispute of a record already upheld: that one waits for a reviewer (:func:`open_dispute`).
    """
    earlier = disputes.alias("earlier")
    upheld_before = (
        sa.select(earlier.c.id)
        .where(
            earlier.c.subject_id == disputes.c.subject_id,
            earlier.c.source_id == disputes.c.source_id,
            earlier.c.record_id == disputes.c.record_id,
            earlier.c.kind == "dispute",
            earlier.c.outcome == "upheld",
            earlier.c.id < disputes.c.id,
        )
        .exists()
    )
    rows = connection.execute(
        sa.select(disputes)
        .where(disputes.c.kind == "dispute", disputes.c.state == "open", disputes.c.deadline <= today, ~upheld_before)
        .order_by(disputes.c.id)
    ).all()
    lapsed = []
    for row in rows:
        reasons = f"not decided by the deadline {row.deadline.isoformat()}: decided for the subject"
        connection.execute(
            sa.update(disputes)
            .where(disputes.c.id == row.id)
            .values(
                state="decided", outcome="removed", reasons=reasons, decided_by="deadline", decided_on=today,
                decided_at=now,
            )
        )  # fmt: skip
        lapsed.append(
            replace(
                _of(row), state="decided", outcome="removed", reasons=reasons, decided_by="deadline", decided_on=today
            )
        )
    return lapsed


def queue(connection: Connection, *, offset: int = 0, limit: int | None = None) -> list[Dispute]:
    """Open disputes, the nearest deadline first (a reviewer's work list); ``limit`` of them from ``offset``."""
    query = sa.select(disputes).where(disputes.c.state == "open").order_by(disputes.c.deadline, disputes.c.id)
    if offset or limit is not None:
        query = query.offset(offset).limit(limit)
    return [_of(r) for r in connection.execute(query)]


def _record_under_review(connection: Connection, source: str, record_id: str) -> dict[str, Any] | None:
    """What the reviewer weighs the statement against: the record's latest version as stored (no subject)."""
    row = connection.execute(
        sa.select(records).where(records.c.source_id == source, records.c.record_id == record_id, records.c.is_latest)
    ).first()
    if row is None:
        return None
    dates = {k: getattr(row, k) for k in ("occurred_on", "resolved_on")}
    return {
        "version": int(row.version), "category": row.category, "amount": row.amount, "status": row.status,
        "reference": row.reference, **{k: None if v is None else v.isoformat() for k, v in dates.items()},
    }  # fmt: skip


def dispute_for_review(connection: Connection, ring: KeyRing, dispute_id: str) -> tuple[Dispute, dict[str, Any]]:
    """One dispute as a reviewer reads it: the dispute, the subject's statement and the record it is about
    (``record``: its latest version, or ``None``). The caller audits the read (``dispute.read``)."""
    row = connection.execute(sa.select(disputes).where(disputes.c.dispute_id == dispute_id)).first()
    if row is None:
        raise NotFoundError(f"no dispute {dispute_id}")
    found = _of(row)
    body = found.to_json(statement=statement_of(connection, ring, dispute_id))
    body["record"] = _record_under_review(connection, found.source, found.record_id)
    return found, body


def disputes_of(connection: Connection, subject_id: int) -> list[Dispute]:
    rows = connection.execute(
        sa.select(disputes).where(disputes.c.subject_id == subject_id).order_by(disputes.c.id.desc())
    )
    return [_of(r) for r in rows]


def disputes_on_source(connection: Connection, source: str, limit: int = 1000) -> list[Dispute]:
    """Disputes and repair applications on one source's records, newest first (what it must reinvestigate)."""
    rows = connection.execute(
        sa.select(disputes).where(disputes.c.source_id == source).order_by(disputes.c.id.desc()).limit(limit)
    )
    return [_of(r) for r in rows]
