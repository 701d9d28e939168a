"""Notices: what happened to a subject, why, and how to dispute it, in plain words (pure).

Every change the store records about a subject becomes a notice: a negative
record that arrived, a first score, a grade moving, a list entered or left,
a measure applied or lifted, a dispute or repair application opened or
decided, a record its source attributed to another subject. Each says what
happened, why (the rule, the record, the legal basis) and what the subject
can do. The notice ids are stable (they name the event, record row or
dispute they come from), so deliveries can be tracked against them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from credo.domain.records import Record
from credo.domain.rulebook import Rule

__all__ = [
    "CONSENT_HOW",
    "DISPUTE_HOW",
    "Notice",
    "from_consent",
    "from_dispute",
    "from_event",
    "from_move",
    "from_record",
]

DISPUTE_HOW = (
    "If a record is wrong, dispute it: POST /v1/me/disputes with its source and record_id and what is wrong; "
    "while the dispute is open the record does not count, unless the rulebook says otherwise."
)


CONSENT_HOW = (
    'Give consent with POST /v1/me/consent and {"given": true}; withdraw it with {"given": false}. '
    "Either takes effect today; GET /v1/me/consent shows where you stand."
)


@dataclass(frozen=True)
class Notice:
    notice_id: str
    on: dt.date
    kind: str
    what: str
    why: Mapping[str, Any] = field(default_factory=dict)
    what_you_can_do: str = DISPUTE_HOW

    def to_json(self) -> dict[str, Any]:
        return {
            "notice_id": self.notice_id,
            "on": self.on.isoformat(),
            "kind": self.kind,
            "what": self.what,
            "why": dict(self.why),
            "what_you_can_do": self.what_you_can_do,
        }


def _basis(detail: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("list", "measure", "kind", "title", "legal_basis", "context", "rulebook_version")
    return {k: detail[k] for k in keys if detail.get(k) is not None}


def from_event(event_id: int, event_type: str, detail: Mapping[str, Any], as_of: dt.date) -> Notice:
    """A notice for one outbox event (:func:`credo.domain.changes.events_between`)."""
    nid, d = f"event-{event_id}", detail
    title = d.get("title") or d.get("list") or d.get("measure")
    if event_type == "first_scored":
        what = f"Credo scored you: score {d.get('score')}, grade {d.get('grade')}."
    elif event_type == "unscored":
        what = (
            f"Credo no longer scores you: you have not consented to be scored (it was {d.get('score_before')}, "
            f"grade {d.get('grade_before')}). Lists and penalties grounded in legal decisions still apply."
        )
        return Notice(nid, as_of, event_type, what, _basis(d), CONSENT_HOW)
    elif event_type in ("grade_up", "grade_down"):
        way = "up" if event_type == "grade_up" else "down"
        what = (
            f"Your grade went {way} from {d.get('from')} to {d.get('to')} "
            f"(score {d.get('score_before')} to {d.get('score_after')})."
        )
    elif event_type == "list_entered":
        what = f"You were put on the {d.get('kind')} list {title}."
    elif event_type == "list_left":
        what = f"You are no longer on the {d.get('kind')} list {title}."
    elif event_type == "measure_applied":
        what = f"The {d.get('kind')} {title} now applies to you."
    elif event_type == "measure_lifted":
        what = f"The {d.get('kind')} {title} no longer applies to you."
    else:
        what = f"Your standing changed ({event_type})."
    return Notice(nid, as_of, event_type, what, _basis(d))


def from_record(
    row_id: int, record: Record, rule: Rule, received_on: dt.date, *, moved_in: bool = False
) -> Notice | None:
    """A notice for a record that counts against the subject (negative base points); None for any other.

    ``moved_in``: the source had it against another subject before, and attributed it to this one.
    """
    points = rule.base_points(record.amount)
    if points >= 0 or record.status != "active":
        return None
    repeat = ""
    if rule.repeat is not None:
        warning = ", a first one only a warning" if rule.repeat.first_is_warning else ""
        repeat = f" (times {rule.repeat.factor} if it repeats within {rule.repeat.window} days{warning})"
    arrival = (
        f"{record.source} attributed to you a record it had against another subject"
        if moved_in
        else f"A new record from {record.source}"
    )
    what = (
        f"{arrival}: {rule.label}, on {record.occurred_on.isoformat()} "
        f"(record {record.record_id}); {points} points in {rule.dimension}{repeat}, counting for {rule.counts_for} "
        "days; your report shows what it counts now."
    )
    why = {
        "source": record.source,
        "record_id": record.record_id,
        "category": record.category,
        "rule": rule.label,
        "gravity": rule.gravity,
        "points": points,
    }
    return Notice(f"record-{row_id}", received_on, "record_added", what, why)


def from_dispute(
    dispute_id: str,
    kind: str,
    *,
    source: str,
    record_id: str,
    opened_on: dt.date,
    deadline: dt.date,
    decided: tuple[str, str | None, dt.date] | None,
) -> list[Notice]:
    """The notices of a dispute or repair application: opened, and decided (outcome, reasons, day)."""
    what_it_is = "dispute of" if kind == "dispute" else "application for the early repair of"
    why = {"dispute_id": dispute_id, "source": source, "record_id": record_id}
    found = [
        Notice(
            f"dispute-{dispute_id}-opened",
            opened_on,
            f"{kind}_opened",
            f"Your {what_it_is} {source}/{record_id} is open; it will be decided by {deadline.isoformat()}.",
            why,
            "Follow it with GET /v1/me/disputes.",
        )
    ]
    if decided is not None and decided[0] == "moved":
        found.append(
            Notice(
                f"dispute-{dispute_id}-decided",
                decided[2],
                f"{kind}_decided",
                f"Your {what_it_is} {source}/{record_id} was closed: the source attributed the record to another "
                "subject, so it no longer counts for you.",
                {**why, "outcome": "moved"},
                "Your score, lists and measures were recomputed at once: GET /v1/me/report. If the record comes "
                "back to you, you may dispute it again.",
            )
        )
    elif decided is not None:
        outcome, reasons, day = decided
        found.append(
            Notice(
                f"dispute-{dispute_id}-decided",
                day,
                f"{kind}_decided",
                f"Your {what_it_is} {source}/{record_id} was decided: {outcome}. {reasons or ''}".strip(),
                {**why, "outcome": outcome},
                "Your score, lists and measures were recomputed at once: GET /v1/me/report.",
            )
        )
    return found


def from_move(row_id: int, source: str, record_id: str, moved_on: dt.date) -> Notice:
    """A notice for a record of the subject's that its source attributed to another subject (a ``records`` row)."""
    return Notice(
        f"record-{row_id}-moved",
        moved_on,
        "record_moved",
        f"{source} attributed its record {record_id} to another subject: it no longer counts for you.",
        {"source": source, "record_id": record_id},
        "Your report shows your records as they are now: GET /v1/me/report.",
    )


def from_consent(row_id: int, given: bool, on: dt.date, *, required: bool = True) -> Notice:
    """A notice for a consent given or withdrawn (a ``consents`` row): what it means for the subject.

    ``required``: whether the rulebook in force asks persons for consent; if not, the choice is kept for a
    rulebook that does, and the subject is told it changes nothing today.
    """
    choice = "consented to be scored" if given else "withdrew your consent to be scored"
    if not required:
        what = (
            f"You {choice}, from {on.isoformat()}. The rulebook in force does not ask for consent, so nothing "
            "changes now; your choice is kept and counts if a rulebook asks for consent."
        )
    elif given:
        what = (
            f"You consented to be scored, from {on.isoformat()}: Credo now computes your score, grade and rewards "
            "under the rulebook in force."
        )
    else:
        what = (
            f"You withdrew your consent to be scored, from {on.isoformat()}: you have no score, no grade and no "
            "rewards; lists and penalties grounded in legal decisions still apply."
        )
    return Notice(
        f"consent-{row_id}", on, "consent_given" if given else "consent_withdrawn", what, {"given": given}, CONSENT_HOW
    )
