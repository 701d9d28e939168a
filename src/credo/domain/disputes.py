"""Due process, as rules: a dispute's deadline, whether it suspends its record, who may repair early, what a
decision must say (docs/due-process.md). Pure: the store keeps disputes, :mod:`credo.services.disputes` runs them.

* A dispute's **deadline** is its opening day plus ``disputes.decide_within`` (30 days by default, as the
  FCRA's reinvestigation period); a dispute still open then is decided for the subject.
* It **suspends** its record while open if the rulebook says ``disputes.while_open: suspend`` (the default),
  unless the same subject's dispute of the same record was upheld before: else disputing anew each time it is
  upheld would keep a record out of the score for good (as the FCRA lets a repeated dispute wait for new
  information, it waits for a reviewer, and the record counts meanwhile).
* **Early repair** (after China's NDRC Order No. 36): a resolved record may stop counting before its time, on
  the subject's application, once its rule's ``repair_after`` days have passed since it was resolved.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from credo.domain.rulebook import Rule, Rulebook

__all__ = [
    "OUTCOMES",
    "REPAIR_OUTCOMES",
    "Dispute",
    "Filing",
    "deadline",
    "decision_problem",
    "repair_problem",
    "suspends",
]

OUTCOMES = ("upheld", "corrected", "removed")
REPAIR_OUTCOMES = ("granted", "refused")


@dataclass(frozen=True)
class Filing:
    """What a subject files: which of its records, and in its own words what is wrong or why to repair it."""

    source: str
    record_id: str
    statement: str


@dataclass(frozen=True)
class Dispute:
    """A dispute of a record, or an application for its early repair (``kind``)."""

    dispute_id: str
    subject_id: int
    source: str
    record_id: str
    state: str
    suspends: bool
    opened_on: dt.date
    deadline: dt.date
    outcome: str | None
    reasons: str | None
    decided_by: str | None
    decided_on: dt.date | None
    kind: str = "dispute"

    def to_json(self, *, statement: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "dispute_id": self.dispute_id,
            "kind": self.kind,
            "source": self.source,
            "record_id": self.record_id,
            "state": self.state,
            "record_suspended": self.state == "open" and self.suspends,
            "opened_on": self.opened_on.isoformat(),
            "deadline": self.deadline.isoformat(),
            "outcome": self.outcome,
            "reasons": self.reasons,
            "decided_by": self.decided_by,
            "decided_on": None if self.decided_on is None else self.decided_on.isoformat(),
        }
        if statement is not None:
            data["statement"] = statement
        return data


def deadline(book: Rulebook, opened_on: dt.date) -> dt.date:
    """The day a reviewer must decide by; on it, a dispute still open is decided for the subject."""
    return opened_on + dt.timedelta(days=book.disputes.decide_within)


def suspends(book: Rulebook, *, upheld_before: bool) -> bool:
    """Whether a new dispute takes its record out of the score while open (a repair never does)."""
    return book.disputes.while_open == "suspend" and not upheld_before


def repair_problem(
    rule: Rule | None, category: str, status: str, resolved_on: dt.date | None, today: dt.date
) -> str | None:
    """Why the record cannot be repaired early today, in the subject's words; None if it can."""
    if rule is None or rule.repair_after is None:
        return f"the rulebook in force allows no early repair of {category} records"
    if status != "active" or resolved_on is None:
        return "only a resolved record can be repaired early: it has no resolved_on"
    earliest = resolved_on + dt.timedelta(days=rule.repair_after)
    if today < earliest:
        return f"early repair of this record can be asked for from {earliest.isoformat()}"
    return None


def decision_problem(kind: str, outcome: str, reasons: str, *, corrected: bool) -> str | None:
    """Why a reviewer's decision cannot be taken as given (``corrected``: it carries a correction); None if it can."""
    allowed = OUTCOMES if kind == "dispute" else REPAIR_OUTCOMES
    if outcome not in allowed:
        return f"the outcome of a {kind} is one of {', '.join(allowed)}"
    if not reasons.strip():
        return "a decision needs its reasons"
    if (outcome == "corrected") != corrected:
        return "a correction goes with the outcome corrected, and only with it"
    return None
