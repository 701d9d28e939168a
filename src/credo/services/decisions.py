"""A relying party's question (does measure M apply to this subject now?) answered, and the answer kept.

The hottest path Credo has. :func:`answer_if_exact` answers from the stored state without writing, which is
nearly always possible; when the state is stale it returns None and :func:`answer_after_rescoring` brings the
state up to date first, in a transaction of its own. Either way the answer is given only after
:func:`record` has stored it with its audit entry (the API's group writer commits many at once).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, replace

from sqlalchemy import Connection

from credo.domain.changes import ScoreState, score_state
from credo.domain.decisions import answer_measure, find_measure
from credo.domain.rulebook import Measure, Rulebook
from credo.errors import AuditChainError, NoActiveRulebookError, UnavailableError
from credo.services.identify import snapshots, valid_kinds
from credo.services.realtime_scoring import current_state, is_exact
from credo.services.runner import Runner
from credo.services.unit_of_work import UnitOfWork
from credo.store.audit import AuditEntry
from credo.store.decisions import Decision, store_decisions
from credo.store.errors import ConflictError, ForbiddenError, NotFoundError
from credo.store.relying import RelyingParty
from credo.store.snapshots import SubjectSnapshot, last_change, records_mark

__all__ = [
    "Question",
    "answer_after_rescoring",
    "answer_if_exact",
    "decide",
    "decision_without_records",
    "prepare_decision",
    "record",
    "registered_measures",
]


@dataclass(frozen=True)
class Question:
    """Who asks (a relying party), about which measure, and which subject (``kind`` when both are valid)."""

    relying_id: str
    measure_id: str
    subject: str
    kind: str | None = None


async def decide(runner: Runner, question: Question) -> Decision:
    """Answer ``question`` and keep the answer with its audit entry; given only once it is kept.

    The one way a decision is made, for the API (``GET /v1/decisions/{measure}``) and the service counter's
    page alike: from the stored state when it is exact (a read without a transaction), else after rescoring
    the subject off the event loop, then recorded in the next group commit. A decision that could not be
    recorded is not given (``UnavailableError``); a broken audit chain is raised as it is.
    """
    decision = await runner.run_read(lambda uow: answer_if_exact(uow, question), transaction=False)
    if decision is None:  # the stored state is stale: rescored (and stored) off the event loop
        decision = await runner.run_read(lambda uow: answer_after_rescoring(uow, question), in_thread=True)
    made = decision
    try:
        await runner.run_write(lambda uow: record(uow, made))
    except AuditChainError:  # its own problem: the operator must check the trail, trying again will not do
        raise
    except Exception:
        raise UnavailableError("the decision could not be recorded, so it is not given; try again") from None
    return made


def registered_measures(uow: UnitOfWork, relying_id: str) -> tuple[RelyingParty, list[Measure]]:
    """The party and the measures of the rulebook in force it is registered for (refused: ``ForbiddenError``);
    none while no rulebook is in force."""
    party = uow.party(relying_id)
    if party is None:
        raise ForbiddenError(f"relying party {relying_id} is not registered")
    if not party.enabled:
        raise ForbiddenError(f"relying party {relying_id} is disabled")
    try:
        book = uow.rulebook()
    except NoActiveRulebookError:
        return party, []
    return party, [m for m in book.measures if m.id in party.measures]


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


# -- making an answer ------------------------------------------------------------------------------


def prepare_decision(
    connection: Connection,
    party: RelyingParty,
    book: Rulebook,
    *,
    measure_id: str,
    subject: SubjectSnapshot,
    today: dt.date,
) -> Decision:
    """Answer ``party``'s question about a subject (found by keyed hash); raise if it may not ask.

    The subject's stored state is used as read when it is exact today;
    otherwise it is brought up to date first (:func:`current_state`, which
    writes in the caller's transaction).
    """
    measure = _allowed(party, book, measure_id)
    state, mark = subject.state, subject.records_mark
    if state is None or not is_exact(state, subject.next_change, book.version, today):
        state = current_state(connection, subject.subject_id, today)
        mark = records_mark(connection)
    decision = _decide(party, book, measure, subject_id=subject.subject_id, state=state, mark=mark)
    since = last_change(connection, subject.subject_id, "measure", measure.id, now_on=decision.applies)
    return replace(decision, since=since)


def decision_without_records(
    party: RelyingParty, book: Rulebook, *, measure_id: str, kind: str, today: dt.date
) -> Decision:
    """The answer about a subject Credo holds nothing about: the answer for a subject of ``kind`` with no records.

    So a relying party cannot tell who is in the store from the answers
    (ADR 0008). Computed from the rulebook alone; nothing is stored about the
    subject, and the decision is kept without one (``subject_id`` None).
    """
    measure = _allowed(party, book, measure_id)
    return _decide(party, book, measure, subject_id=None, state=score_state(book, "", kind, [], today), mark=None)


def _allowed(party: RelyingParty, book: Rulebook, measure_id: str) -> Measure:
    """The measure ``party`` asks about; raise if it may not ask, or the rulebook in force defines none."""
    if not party.enabled:
        raise ForbiddenError(f"relying party {party.id} is disabled")
    if measure_id not in party.measures:
        raise ForbiddenError(f"relying party {party.id} is not registered for measure {measure_id}")
    measure = find_measure(book, measure_id)
    if measure is None:
        raise NotFoundError(f"the rulebook in force ({book.version}) defines no measure {measure_id}")
    return measure


def _decide(
    party: RelyingParty,
    book: Rulebook,
    measure: Measure,
    *,
    subject_id: int | None,
    state: ScoreState,
    mark: int | None,
) -> Decision:
    answer = answer_measure(book, measure, state)
    explanation = {
        "state": state.to_json(),
        "trigger": answer.trigger,
        "reason": answer.reason,
        "records_up_to": mark,  # None: no records (a subject Credo holds nothing about)
    }
    return Decision(
        decision_id=str(uuid.uuid4()),
        relying_id=party.id,
        subject_id=subject_id,
        measure=measure.id,
        kind=measure.kind,
        applies=answer.applies,
        reason=answer.reason,
        legal_basis=answer.legal_basis,
        since=None,  # the day it last changed, from the store's events (prepare_decision); never for no records
        rulebook_version=state.rulebook_version,
        as_of=state.as_of,
        explanation=explanation,
    )
