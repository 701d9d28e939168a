"""Disputes and early repair, as every edge runs them: open, follow, review, decide (docs/due-process.md).

The rules are :mod:`credo.domain.disputes`; the rows are :mod:`credo.store.disputes`. Here each use case
also says whose score changes and what the audit trail keeps: every read of a statement or of a dispute is
an entry for its subject, so the subject sees who read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from credo.domain.disputes import Dispute, Filing
from credo.services.actor import Actor
from credo.services.unit_of_work import UnitOfWork
from credo.store import disputes as rows
from credo.store.audit import AuditEntry

__all__ = ["Decision", "Filing", "decide", "file", "for_review", "of_source", "of_subject", "review_queue"]

# What each kind of filing is called in the audit trail, and why it was made.
_FILED = {
    "dispute": ("dispute.open", "the subject's dispute"),
    "repair": ("repair.apply", "the subject's application for credit repair"),
}


@dataclass(frozen=True)
class Decision:
    """A reviewer's decision: the outcome, the reasons the subject reads, and with ``corrected`` the correction."""

    outcome: str
    reasons: str
    correction: Mapping[str, Any] | None = None


def file(uow: UnitOfWork, kind: Literal["dispute", "repair"], subject_id: int, filing: Filing) -> dict[str, Any]:
    """Open a dispute (its record may stop counting at once) or apply for early repair (it counts meanwhile)."""
    opener = rows.open_dispute if kind == "dispute" else rows.open_repair
    source, record_id, statement = filing.source, filing.record_id, filing.statement
    item = opener(uow.connection, uow.ring, uow.rulebook(), subject_id, filing, today=uow.today, now=uow.now)
    if kind == "dispute":
        uow.rescore([subject_id])  # a suspended record stops counting before the answer
    action, purpose = _FILED[kind]
    detail = {"dispute_id": item.dispute_id, "source": source, "record_id": record_id}
    uow.audit(AuditEntry("subject", "subject", action, purpose, subject_id, detail))
    return item.to_json(statement=statement)


def of_subject(uow: UnitOfWork, subject_id: int) -> list[dict[str, Any]]:
    """The subject's own disputes and applications, newest first, with its statements."""
    found = [_with_statement(uow, d) for d in rows.disputes_of(uow.connection, subject_id)]
    uow.audit(AuditEntry("subject", "subject", "disputes.read", "subject's own disputes", subject_id, {}))
    return found


def of_source(uow: UnitOfWork, source: str) -> list[dict[str, Any]]:
    """What a source must reinvestigate: each dispute of one of its records, with the statement (as the FCRA)."""
    found = rows.disputes_on_source(uow.connection, source)
    uow.audit(*(_read(Actor("source", source), "dispute.read", "reinvestigation of its record", d) for d in found))
    return [_with_statement(uow, d) for d in found]


def review_queue(
    uow: UnitOfWork, reviewer: Actor, *, offset: int = 0, limit: int | None = None, statements: bool = False
) -> list[dict[str, Any]]:
    """Open disputes and applications, the nearest deadline first; each one shown is an entry for its subject."""
    found = rows.queue(uow.connection, offset=offset, limit=limit)
    uow.audit(*(_read(reviewer, "dispute.queue.read", "the reviewers' queue", d) for d in found))
    return [_with_statement(uow, d) if statements else d.to_json() for d in found]


def for_review(uow: UnitOfWork, reviewer: Actor, dispute_id: str) -> dict[str, Any]:
    """One dispute as a reviewer reads it: with the statement and the record's latest version (``record``)."""
    found, body = rows.dispute_for_review(uow.connection, uow.ring, dispute_id)
    uow.audit(_read(reviewer, "dispute.read", "review of a dispute", found))
    return body


def decide(uow: UnitOfWork, reviewer: Actor, dispute_id: str, decision: Decision) -> Dispute:
    """Decide an open dispute or application; the subject (and a corrected record's holder) is rescored."""
    decided, touched = rows.decide_dispute(
        uow.connection, dispute_id, decision.outcome, decision.reasons, reviewer.name, today=uow.today, now=uow.now,
        correction=decision.correction,
    )  # fmt: skip
    uow.rescore(touched)
    detail: dict[str, Any] = {"dispute_id": dispute_id, "outcome": decision.outcome}
    if reviewer.at is not None:
        detail["at"] = reviewer.at
    uow.audit(
        AuditEntry(reviewer.role, reviewer.name, "dispute.decide", "decision on a dispute", decided.subject_id, detail)
    )
    return decided


def _with_statement(uow: UnitOfWork, dispute: Dispute) -> dict[str, Any]:
    return dispute.to_json(statement=rows.statement_of(uow.connection, uow.ring, dispute.dispute_id))


def _read(actor: Actor, action: str, purpose: str, dispute: Dispute) -> AuditEntry:
    return AuditEntry(actor.role, actor.name, action, purpose, dispute.subject_id, {"dispute_id": dispute.dispute_id})
