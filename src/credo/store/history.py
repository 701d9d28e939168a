"""A subject's score and grade over time, as the outbox recorded them: the events of a first score, of each
change of grade, and of a score going away (consent withdrawn). Read, never written here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.store.states import as_date, from_json
from credo.store.tables import outbox

__all__ = ["HISTORY_EVENTS", "ScoreChange", "score_changes"]

HISTORY_EVENTS = ("first_scored", "grade_up", "grade_down", "unscored")


@dataclass(frozen=True)
class ScoreChange:
    on: dt.date
    event: str
    score: int | None  # None: not scored from that day (consent withdrawn)
    grade: str | None


def score_changes(connection: Connection, subject_id: int) -> list[ScoreChange]:
    """The subject's score and grade from each such event, oldest first (in the order they were written)."""
    rows = connection.execute(
        sa.select(outbox.c.event_type, outbox.c.detail, outbox.c.as_of)
        .where(outbox.c.subject_id == subject_id, outbox.c.event_type.in_(HISTORY_EVENTS))
        .order_by(outbox.c.id)
    )
    changes = []
    for event, raw, as_of in rows:
        detail = from_json(raw)
        day = as_date(as_of)
        assert day is not None
        if event == "first_scored":
            changes.append(ScoreChange(day, event, detail.get("score"), detail.get("grade")))
        elif event == "unscored":
            changes.append(ScoreChange(day, event, None, None))
        else:
            changes.append(ScoreChange(day, event, detail.get("score_after"), detail.get("to")))
    return changes
