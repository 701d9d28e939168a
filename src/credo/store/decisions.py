"""Decisions for relying parties: does measure M apply to subject S now, why, and on what basis.

:func:`prepare_decision` reads; :func:`store_decisions` writes. They are
apart so the API can answer many decisions from one writer transaction
(group commit, :mod:`credo.services.group_commit`) while every answer is still stored,
with what it was made on, before it is sent.

What a decision keeps (``decisions.explanation``): the subject's state at the
time (score, grade, dimensions, lists, measures, rulebook version, as-of
date), the measure's trigger, the reason given, and ``records_up_to``, the
highest record row id when it was read: the state was computed from the
latest version of each record among the rows up to it, so the answer can be
reproduced, record by record, with the same rulebook version even after the
records change (records are never updated in place, only superseded).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.domain.changes import ScoreState, score_state
from credo.domain.decisions import answer_measure, find_measure
from credo.domain.rulebook import Measure, Rulebook
from credo.store.clock import utc_iso
from credo.store.errors import ForbiddenError, NotFoundError
from credo.store.realtime_scoring import current_state, is_exact
from credo.store.relying import RelyingParty
from credo.store.snapshots import SubjectSnapshot, last_change, records_mark
from credo.store.tables import decisions

__all__ = ["Decision", "decision_without_records", "decisions_about", "prepare_decision", "store_decisions"]


@dataclass(frozen=True)
class Decision:
    decision_id: str
    relying_id: str
    subject_id: int | None  # None: a subject Credo holds nothing about (answered as one with no records)
    measure: str
    kind: str
    applies: bool
    reason: str
    legal_basis: str | None
    since: dt.date | None
    rulebook_version: str
    as_of: dt.date
    explanation: dict[str, Any]

    def answer(self) -> dict[str, Any]:
        """What the relying party gets, and nothing more: no score, no records."""
        return {
            "applies": self.applies,
            "measure": self.measure,
            "kind": self.kind,
            "reason": self.reason,
            "legal_basis": self.legal_basis,
            "since": None if self.since is None else self.since.isoformat(),
            "rulebook_version": self.rulebook_version,
            "decision_id": self.decision_id,
        }


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
    decision = _decide(party, book, measure, subject.subject_id, state, mark)
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
    return _decide(party, book, measure, None, score_state(book, "", kind, [], today), None)


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


def _decide(  # noqa: PLR0917 (the answer's parts)
    party: RelyingParty, book: Rulebook, measure: Measure, subject_id: int | None, state: ScoreState, mark: int | None
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


def store_decisions(connection: Connection, made: Sequence[Decision], now: dt.datetime) -> None:
    if not made:
        return
    connection.execute(
        sa.insert(decisions),
        [
            {
                "decision_id": d.decision_id,
                "relying_id": d.relying_id,
                "subject_id": d.subject_id,
                "measure_id": d.measure,
                "applies": d.applies,
                "as_of": d.as_of,
                "rulebook_version": d.rulebook_version,
                "explanation": d.explanation,
                "asked_at": now,
            }
            for d in made
        ],
    )


def decisions_about(connection: Connection, subject_id: int, limit: int = 1000) -> list[dict[str, Any]]:
    """Who asked what about the subject, when, and the answer; newest first (the subject's report)."""
    rows = connection.execute(
        sa.select(
            decisions.c.decision_id,
            decisions.c.relying_id,
            decisions.c.measure_id,
            decisions.c.applies,
            decisions.c.asked_at,
            decisions.c.rulebook_version,
            decisions.c.explanation,
        )
        .where(decisions.c.subject_id == subject_id)
        .order_by(decisions.c.id.desc())
        .limit(limit)
    )
    return [
        {
            "decision_id": r.decision_id,
            "asked_by": r.relying_id,
            "measure": r.measure_id,
            "applies": bool(r.applies),
            "reason": r.explanation.get("reason"),
            "asked_at": utc_iso(r.asked_at),
            "rulebook_version": r.rulebook_version,
        }
        for r in rows
    ]
