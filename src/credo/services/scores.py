"""A subject's score and its explanation read from the store (``credo score``, ``credo explain``), and every
stored score kept current (``credo refresh``).

A subject is found by its keyed hash under each kind its identifier is valid for (a string can in principle
be both a resident number and a USCC). Without a date, the answer is the stored current state, brought up
to date first if it is no longer exact (:func:`credo.services.realtime_scoring.current_state`); with a date, it is
recomputed from the stored records under the rulebook in force on that date, and nothing is written but the
audit entry of the read. Messages never contain the identifier.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

from credo.domain.changes import ScoreState, explanation_without_consent, score_state
from credo.domain.consent import ConsentHistory, is_scored
from credo.domain.explanation import Explanation
from credo.domain.rulebook import Rulebook
from credo.domain.scoring import explain as explain_records
from credo.errors import SubjectNotInStore
from credo.services.actor import Actor, operation
from credo.services.daily_refresh import Daily, lapse_and_refresh
from credo.services.identify import valid_kinds
from credo.services.realtime_scoring import current_state
from credo.services.unit_of_work import UnitOfWork
from credo.store.audit import AuditEntry
from credo.store.consent import consent_histories
from credo.store.rulebooks import rulebook_at
from credo.store.scoring_inputs import load_subject_records, suppressed_records
from credo.store.subjects import stored_subjects

__all__ = ["Explained", "Reader", "SubjectNotInStore", "SubjectScore", "explain", "explained", "refresh", "score"]


@dataclass(frozen=True)
class Reader:
    """Who reads a subject's standing, for the audit trail, and why."""

    actor: Actor
    purpose: str


@dataclass(frozen=True)
class SubjectScore:
    identifier: str
    kind: str
    state: ScoreState

    def to_json(self) -> dict[str, object]:
        return {"subject_id": self.identifier, "subject_kind": self.kind, **self.state.to_json()}


def _found(uow: UnitOfWork, identifier: str, reader: Reader | None, action: str) -> list[tuple[int, str]]:
    """The stored subjects the identifier names, their read audited; none: :class:`SubjectNotInStore`."""
    if not valid_kinds(identifier):
        raise SubjectNotInStore("the identifier is neither a valid resident identity number nor a valid USCC")
    found = stored_subjects(uow.connection, uow.ring, identifier)
    if not found:
        raise SubjectNotInStore("no subject with this identifier is in the store")
    if reader is not None:
        role, name = reader.actor.role, reader.actor.name
        uow.audit(*(AuditEntry(role, name, action, reader.purpose, sid, {}) for sid, _ in found))
    return found


def score(
    uow: UnitOfWork, identifier: str, as_of: dt.date | None = None, reader: Reader | None = None
) -> list[SubjectScore]:
    """The subject's state: current today (kept in the store), or recomputed at ``as_of``."""
    found = _found(uow, identifier, reader, "score.read")
    if as_of is None:
        return [SubjectScore(identifier, kind, current_state(uow.connection, sid, uow.today)) for sid, kind in found]
    _, book = rulebook_at(uow.connection, as_of)
    ids = [sid for sid, _ in found]
    loaded = load_subject_records(uow.connection, ids)
    hidden = suppressed_records(uow.connection, ids)
    agreed = consent_histories(uow.connection, ids)
    return [
        SubjectScore(
            identifier,
            kind,
            score_state(
                book,
                str(sid),
                kind,
                loaded[sid][1],
                as_of,
                suppressed=hidden.get(sid, frozenset()),
                consent=agreed.get(sid, ()),
            ),
        )
        for sid, kind in found
    ]


def explain(
    uow: UnitOfWork, identifier: str, as_of: dt.date | None = None, reader: Reader | None = None
) -> list[Explanation]:
    """The batch explanation of the subject from its stored records, at ``as_of`` or (kept current) today."""
    found = _found(uow, identifier, reader, "explanation.read")
    day = uow.today if as_of is None else as_of
    if as_of is None:  # the stored state is brought up to date, as credo score does
        for sid, _ in found:
            current_state(uow.connection, sid, uow.today)
    _, book = rulebook_at(uow.connection, day)
    return [e.explanation for e in explained(uow, found, identifier, book, day)]


@dataclass(frozen=True)
class Explained:
    """A stored subject's explanation (its identifier shown, not its surrogate id), and its consent history."""

    subject_id: int
    kind: str
    explanation: Explanation
    consent: ConsentHistory


def explained(
    uow: UnitOfWork, found: Sequence[tuple[int, str]], identifier: str, book: Rulebook, day: dt.date
) -> list[Explained]:
    """Each found subject's explanation from its stored records under ``book`` at ``day``.

    Records suppressed by an open dispute are left out; a person not scored for want of consent is explained
    as not scored.
    """
    ids = [sid for sid, _ in found]
    loaded = load_subject_records(uow.connection, ids)
    hidden = suppressed_records(uow.connection, ids)
    agreed = consent_histories(uow.connection, ids)
    done = []
    for sid, kind in found:
        e = explain_records(book, str(sid), kind, loaded[sid][1], day, suppressed=hidden.get(sid, frozenset()))
        history = agreed.get(sid, ())
        if not is_scored(book, kind, history, day):
            e = explanation_without_consent(book, e)
        done.append(Explained(sid, kind, replace(e, subject_id=identifier), history))
    return done


def refresh(uow: UnitOfWork, operator: Actor) -> Daily:
    """Bring every stale stored score up to date (run daily); overdue disputes are decided for their subjects first."""
    daily = lapse_and_refresh(uow.connection, uow.today, operator.name, uow.now)
    outcome = daily.refreshed
    detail = {"as_of": uow.today.isoformat(), "subjects": outcome.subjects, "changed": outcome.changed}
    uow.audit(*daily.entries, operation(operator, "refresh", detail))
    return daily
