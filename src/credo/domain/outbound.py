"""What Credo tells relying parties and sources, and how far back it looks (pure).

The webhooks' bodies are promises to the parties (docs/api.md, "Webhooks"): their fields are fixed here, and
tested without a database. The windows say how long the delivery pass looks again at disputes and new
addresses, and which earlier answers a relying party is told have changed. The e-mail check is the one a
subject's address must pass before Credo keeps it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "ASKED_WITHIN",
    "LOOKBACK",
    "decision_changed",
    "dispute_decided",
    "dispute_opened",
    "email_problem",
]

LOOKBACK = dt.timedelta(days=7)  # disputes and new addresses are looked at again for this long
ASKED_WITHIN = dt.timedelta(days=180)  # a relying party is told of changes to answers it got this recently

_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


def email_problem(email: str) -> str | None:
    """Why Credo will not keep ``email`` (already stripped) as an address for notices; None if it will."""
    if len(email) > 254 or not _EMAIL.fullmatch(email):  # fullmatch: "$" would let a final newline through
        return "email must be a plain ASCII address such as name@example.org"
    return None


def decision_changed(
    event_id: int, event_type: str, as_of: dt.date, detail: Mapping[str, Any], decision_ids: Sequence[str]
) -> dict[str, Any]:
    """A relying party's webhook: a measure it asked about now applies, or no longer does (an outbox event).

    It names the party's own earlier decisions and never the subject: the party asks again with the
    identifier it holds.
    """
    measure = detail.get("measure")
    return {
        "type": "decision.changed",
        "event_id": f"event-{event_id}",
        "measure": measure,
        "applies": event_type == "measure_applied",
        "since": as_of.isoformat(),
        "kind": detail.get("kind"),
        "legal_basis": detail.get("legal_basis"),
        "rulebook_version": detail.get("rulebook_version"),
        "decision_ids": list(decision_ids),
        "what_to_do": f"Ask again: GET /v1/decisions/{measure}?subject=<the subject you asked about>",
    }


def _about(dispute: Any) -> dict[str, Any]:
    return {
        "dispute_id": dispute.dispute_id,
        "kind": dispute.kind,
        "source": dispute.source_id,
        "record_id": dispute.record_id,
    }


def dispute_opened(dispute: Any, statement: str) -> dict[str, Any]:
    """A source's webhook: a subject disputes one of its records (or applies for repair), with their statement."""
    return {
        "type": "dispute.opened",
        **_about(dispute),
        "opened_on": dispute.opened_on.isoformat(),
        "deadline": dispute.deadline.isoformat(),
        "record_suspended": bool(dispute.suspends),
        "statement": statement,
    }


def dispute_decided(dispute: Any) -> dict[str, Any]:
    """A source's webhook: a dispute on one of its records was decided, with the outcome and reasons."""
    return {
        "type": "dispute.decided",
        **_about(dispute),
        "outcome": dispute.outcome,
        "reasons": dispute.reasons,
        "decided_on": dispute.decided_on.isoformat(),
    }
