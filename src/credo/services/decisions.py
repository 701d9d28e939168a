"""A relying party's question (does measure M apply to this subject now?) answered, and the answer kept.

The hottest path Credo has. :func:`answer_if_exact` answers from the stored state without writing, which is
nearly always possible; when the state is stale it returns None and :func:`answer_after_rescoring` brings the
state up to date first, in a transaction of its own. Either way the answer is given only after
:func:`record` has stored it with its audit entry (the API's group writer commits many at once).
"""

from __future__ import annotations

from dataclasses import dataclass

from credo.domain.rulebook import Rulebook
from credo.services.identify import snapshots, valid_kinds
from credo.services.unit_of_work import UnitOfWork
from credo.store.audit import AuditEntry
from credo.store.decisions import Decision, decision_without_records, prepare_decision, store_decisions
from credo.store.errors import ConflictError, ForbiddenError
from credo.store.realtime_scoring import is_exact
from credo.store.relying import RelyingParty
from credo.store.snapshots import SubjectSnapshot

__all__ = ["Question", "answer_after_rescoring", "answer_if_exact", "record"]


@dataclass(frozen=True)
class Question:
    """Who asks (a relying party), about which measure, and which subject (``kind`` when both are valid)."""

    relying_id: str
    measure_id: str
    subject: str
    kind: str | None = None


def answer_if_exact(uow: UnitOfWork, question: Question) -> Decision | None:
    """The answer from the stored state when it is exact today; None when the state must be rescored first."""
    party, found, book = _look_up(uow, question)
    if found is None:
        return _without_records(uow, question, party, book)
    if found.state is not None and is_exact(found.state, found.next_change, book.version, uow.today):
        return prepare_decision(
            uow.connection, party, book, measure_id=question.measure_id, subject=found, today=uow.today
        )
    return None


def answer_after_rescoring(uow: UnitOfWork, question: Question) -> Decision:
    """The answer after the subject's stored state is brought up to date (written in ``uow``'s transaction)."""
    party, found, book = _look_up(uow, question)
    if found is None:  # gone since the first look (purged): still no records
        return _without_records(uow, question, party, book)
    return prepare_decision(uow.connection, party, book, measure_id=question.measure_id, subject=found, today=uow.today)


def record(uow: UnitOfWork, decision: Decision) -> None:
    """Keep the decision, and who asked about whom, in the audit trail (a miss too: ``subject_id`` None)."""
    store_decisions(uow.connection, [decision], uow.now)
    detail: dict[str, object] = {
        "measure": decision.measure,
        "applies": decision.applies,
        "decision_id": decision.decision_id,
    }
    if decision.subject_id is None:
        detail["subject"] = "not in the store"
    uow.audit(
        AuditEntry(
            "relying", decision.relying_id, "decision", f"measure {decision.measure}", decision.subject_id, detail
        )
    )


def _without_records(uow: UnitOfWork, question: Question, party: RelyingParty, book: Rulebook) -> Decision:
    """Answered as a subject with no records: the answer does not tell who is in the store (ADR 0008)."""
    kind = valid_kinds(question.subject, question.kind)[0]
    return decision_without_records(party, book, measure_id=question.measure_id, kind=kind, today=uow.today)


def _look_up(uow: UnitOfWork, question: Question) -> tuple[RelyingParty, SubjectSnapshot | None, Rulebook]:
    """The party, the subject (None: Credo holds nothing about it) and the rulebook in force."""
    relying_id = question.relying_id
    party = uow.party(relying_id)
    if party is None:
        raise ForbiddenError(f"relying party {relying_id} is not registered")
    if not party.enabled:  # before the subject is looked up: a disabled party learns nothing
        raise ForbiddenError(f"relying party {relying_id} is disabled")
    if question.measure_id not in party.measures:
        raise ForbiddenError(f"relying party {relying_id} is not registered for measure {question.measure_id}")
    found = snapshots(uow, question.subject, question.kind)
    book = uow.rulebook()
    if not found:
        return party, None, book
    if len(found) > 1:
        raise ConflictError(
            "the identifier names both a person and an organisation: add kind=person or kind=organization"
        )
    return party, found[0], book
