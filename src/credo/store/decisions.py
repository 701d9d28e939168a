"""Decisions for relying parties, as kept: does measure M apply to subject S now, why, and on what basis.

Answers are made by :mod:`credo.services.decisions`; :func:`store_decisions` writes them, apart, so the API can
answer many decisions from one writer transaction (group commit, :mod:`credo.services.group_commit`) while every
answer is still stored, with what it was made on, before it is sent.

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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.store.clock import utc_iso
from credo.store.tables import decisions

__all__ = ["Decision", "decisions_about", "store_decisions"]


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
