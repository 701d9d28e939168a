"""What the daily ``credo refresh`` does, also run first by ``credo purge``: lapse overdue disputes, then refresh.

Kept in one place so that both see the same day: a purge must not erase a record that a dispute past its
deadline should have removed first, nor leave a state stale whose events would then be dated wrongly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection

from credo.domain.disputes import Dispute
from credo.services.realtime_scoring import RescoreOutcome, refresh_due
from credo.services.scoring_policy import ScoringPolicy
from credo.store.audit import AuditEntry
from credo.store.disputes import lapse_overdue

__all__ = ["Daily", "lapse_and_refresh"]


@dataclass(frozen=True)
class Daily:
    lapsed: list[Dispute]
    refreshed: RescoreOutcome
    entries: list[AuditEntry]  # one per lapsed dispute, naming its subject (who sees it in its report)


def lapse_and_refresh(
    connection: Connection, day: dt.date, actor: str, now: dt.datetime, policy: ScoringPolicy | None = None
) -> Daily:
    """Decide overdue disputes for their subjects, then refresh every stale state (``policy``: see refresh_due).

    A lapsed dispute's subject is stale (decided today, after its stored
    state): the refresh walks its missed days with the dispute open, and
    applies the decision from today.
    """
    lapsed = lapse_overdue(connection, day, now)
    entries = [
        AuditEntry(
            "operator", actor, "dispute.lapse", "a dispute not decided by its deadline", d.subject_id,
            {"dispute_id": d.dispute_id},
        )
        for d in lapsed
    ]  # fmt: skip
    return Daily(lapsed, refresh_due(connection, day, now, policy), entries)
