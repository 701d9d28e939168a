"""What a subject asks of Credo about itself: its report, its notices, its consent (docs/api.md, "Subjects").

A subject is found by the edge from its token (``found``: its stored subjects, surrogate id and kind, one
per kind the identifier is stored under). Every read here is personal data and leaves an entry for the
subject ("report.read", "notices.read", "consent.read"), so the subject also sees its own reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from credo.domain.consent import ConsentHistory, asks_consent, consent_on, is_scored
from credo.domain.rulebook import Rulebook
from credo.services import identify
from credo.services.realtime_scoring import current_state
from credo.services.scores import explained
from credo.services.unit_of_work import UnitOfWork
from credo.store.audit import AuditEntry, entries_about
from credo.store.clock import utc_iso
from credo.store.consent import consent_rows, set_consent
from credo.store.decisions import decisions_about
from credo.store.history import score_changes
from credo.store.notices import notices_of
from credo.store.subjects import ensure_subject, has_records

__all__ = [
    "NOT_SCORED_MESSAGE",
    "SCORED_MESSAGE",
    "OwnReport",
    "consent",
    "history",
    "notices",
    "own_consent",
    "own_notices",
    "own_report",
    "reports",
    "set_consent_of",
]

NOT_SCORED_MESSAGE = (
    "You are not scored: the rulebook in force scores persons only with their consent, and you have not given it. "
    "You have no score, no grade and no rewards; lists and penalties grounded in legal decisions still apply. "
    'To be scored, give consent: POST /v1/me/consent with {"given": true}.'
)
SCORED_MESSAGE = (
    'You are scored with your consent. You may withdraw it at any time: POST /v1/me/consent with {"given": false}.'
)

Found = Sequence[tuple[int, str]]  # a subject's stored subjects: (surrogate id, kind)


def reports(uow: UnitOfWork, found: Found, identifier: str) -> dict[str, Any]:
    """The subject's report under each kind it is stored as: the explanation, consent, decisions, accesses.

    Each state is brought up to date first (as ``credo score`` does), so the report is today's.
    """
    book, today = uow.rulebook(), uow.today
    for sid, _ in found:
        current_state(uow.connection, sid, today)
    bodies = []
    for x in explained(uow, found, identifier, book, today):
        body = x.explanation.to_json()
        body["consent"] = _standing(book, x.kind, x.consent, today)
        body["decisions"] = decisions_about(uow.connection, x.subject_id)
        body["accesses"] = [_access(row) for row in entries_about(uow.connection, x.subject_id)]
        bodies.append(body)
        uow.audit(AuditEntry("subject", "subject", "report.read", "subject's own report", x.subject_id, {}))
    return {"as_of": today.isoformat(), "subjects": bodies}


def own_notices(uow: UnitOfWork, identifier: str, kind: str | None) -> dict[str, Any]:
    """The notices (:func:`notices`) of the subject the identifier names; Credo holding nothing: not found."""
    return notices(uow, identify.own_subjects(uow, identifier, kind))


def notices(uow: UnitOfWork, found: Found) -> dict[str, Any]:
    """The subject's notices, newest first, under each kind it is stored as."""
    book = uow.rulebook()
    gathered: list[dict[str, Any]] = []
    for sid, _ in found:
        gathered.extend(n.to_json() for n in notices_of(uow.connection, book, sid))
        uow.audit(AuditEntry("subject", "subject", "notices.read", "subject's own notices", sid, {}))
    return {"as_of": uow.today.isoformat(), "notices": gathered}


@dataclass(frozen=True)
class OwnReport:
    """What a subject's report page shows, read in one unit of work: the report, its history, the rulebook."""

    report: dict[str, Any]
    history: dict[str, Any]
    rulebook: Rulebook


def own_report(uow: UnitOfWork, identifier: str, kind: str | None) -> OwnReport:
    """The subject's report (:func:`reports`) and score history (:func:`history`), with the rulebook in force
    (its titles and bands); Credo holding nothing about the subject: ``NotFoundError``."""
    found = identify.own_subjects(uow, identifier, kind)
    return OwnReport(reports(uow, found, identifier), history(uow, found), uow.rulebook())


def history(uow: UnitOfWork, found: Found) -> dict[str, Any]:
    """The subject's score and grade at each change Credo recorded (a first score, a grade going up or down,
    a score going away), oldest first, under each kind it is stored as. A change of score within a grade is
    not kept, so the history has a point where the grade changed and none in between."""
    subjects = []
    for sid, kind in found:
        changes = score_changes(uow.connection, sid)
        points = [{"on": c.on.isoformat(), "event": c.event, "score": c.score, "grade": c.grade} for c in changes]
        subjects.append({"subject_kind": kind, "changes": points})
        uow.audit(AuditEntry("subject", "subject", "history.read", "subject's own score history", sid, {}))
    return {"as_of": uow.today.isoformat(), "subjects": subjects}


def own_consent(uow: UnitOfWork, identifier: str) -> dict[str, Any]:
    """A person's own consent (:func:`consent`), found by its identifier; not stored yet: consent not given."""
    found = identify.subject_ids(uow, identifier, "person")
    return consent(uow, found[0][0] if found else None)


def consent(uow: UnitOfWork, subject_id: int | None) -> dict[str, Any]:
    """A person's consent to be scored as the rulebook in force sees it (``subject_id`` None: not stored yet)."""
    version, book = uow.rulebooks(uow.connection, uow.today)
    if subject_id is not None:
        uow.audit(AuditEntry("subject", "subject", "consent.read", "subject's own consent", subject_id, {}))
    return _consent_view(uow, book, version, subject_id)


def set_consent_of(uow: UnitOfWork, identifier: str, given: bool) -> dict[str, Any]:
    """Give or withdraw a person's consent from today; the consent as it now stands, and whether it ``changed``.

    A rulebook must be in force; a person with records is rescored before the commit, one given in advance
    (no record yet) is scored from its first record.
    """
    version, book = uow.rulebooks(uow.connection, uow.today)  # none in force: refused before anything is written
    sid = ensure_subject(uow.connection, uow.ring, identifier, "person", uow.now)
    change = set_consent(uow.connection, sid, given, today=uow.today, now=uow.now)
    detail = {"given": given, "changed": change.written is not None}
    action = "consent.give" if given else "consent.withdraw"
    uow.audit(AuditEntry("subject", "subject", action, "the subject's consent to be scored", sid, detail))
    if has_records(uow.connection, sid):
        uow.rescore([sid])
    return {**_consent_view(uow, book, version, sid), "changed": change.written is not None}


def _consent_view(uow: UnitOfWork, book: Rulebook, version: str, subject_id: int | None) -> dict[str, Any]:
    rows = [] if subject_id is None else consent_rows(uow.connection, subject_id)
    history = [(r.on, r.given) for r in rows]
    holding = [r for r in rows if r.on <= uow.today]
    since = max(holding, key=lambda r: (r.on, r.id)).on if holding else None
    return {
        "as_of": uow.today.isoformat(),
        "rulebook_version": version,
        "requires_consent": book.score.requires_consent,
        "given": consent_on(history, uow.today),
        "since": None if since is None else since.isoformat(),
        "scored": is_scored(book, "person", history, uow.today),
        "history": [r.to_json() for r in rows],
    }


def _standing(book: Rulebook, kind: str, history: ConsentHistory, today: dt.date) -> dict[str, Any]:
    """What the report says about consent: whether it is asked, given, and what follows from it."""
    asked = asks_consent(book, kind)
    scored = is_scored(book, kind, history, today)
    message = None
    if asked:
        message = SCORED_MESSAGE if scored else NOT_SCORED_MESSAGE
    return {
        "required": asked,
        "given": consent_on(history, today) if kind == "person" else None,
        "scored": scored,
        "message": message,
    }


def _access(row: Any) -> dict[str, Any]:
    return {
        "at": utc_iso(row.at),
        "who": row.actor if row.actor_role != "subject" else "you",
        "role": row.actor_role,
        "action": row.action,
        "purpose": row.purpose,
    }
