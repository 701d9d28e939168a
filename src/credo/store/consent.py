"""Consent to be scored, in the store: the ``consents`` history, read for scoring and written by the subject.

Rows are history, never updated: each says a person gave (``given``) or
withdrew consent on a day (``on``), written at ``at``. What holds on a day is
:func:`credo.domain.consent.consent_on` over the rows in id order. Every
scoring path reads :func:`consent_histories` beside
:func:`credo.store.scoring_inputs.suppressed_records` and hands it to the domain
(docs/due-process.md, "Consent").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.domain.consent import consent_on
from credo.store.chunks import chunks
from credo.store.clock import utc_iso
from credo.store.errors import StoreError
from credo.store.tables import consents, subjects

__all__ = ["ConsentChange", "ConsentRow", "consent_histories", "consent_rows", "set_consent"]


@dataclass(frozen=True)
class ConsentRow:
    id: int
    given: bool
    on: dt.date
    at: dt.datetime

    def to_json(self) -> dict[str, object]:
        return {"given": self.given, "on": self.on.isoformat(), "at": utc_iso(self.at)}


@dataclass(frozen=True)
class ConsentChange:
    """What a request to give or withdraw consent did: the row written (None: it already held)."""

    written: ConsentRow | None
    given: bool


# Built once: every rescoring reads it (a statement costs more to build than to run).
_HISTORIES = (
    sa.select(consents.c.subject_id, consents.c.on, consents.c.given)
    .where(consents.c.subject_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(consents.c.subject_id, consents.c.id)
)


def consent_histories(
    connection: Connection, subject_ids: Sequence[int]
) -> dict[int, tuple[tuple[dt.date, bool], ...]]:
    """Each subject's consent history as the domain takes it, (on, given) in id order; absent: no row."""
    found: dict[int, list[tuple[dt.date, bool]]] = {}
    ids = list(subject_ids)
    for part in chunks(ids):
        for sid, on, given in connection.execute(_HISTORIES, {"ids": part}):
            found.setdefault(int(sid), []).append((on, bool(given)))
    return {sid: tuple(rows) for sid, rows in found.items()}


def consent_rows(connection: Connection, subject_id: int) -> list[ConsentRow]:
    """The subject's consent history, oldest first."""
    query = (
        sa.select(consents.c.id, consents.c.given, consents.c.on, consents.c.at)
        .where(consents.c.subject_id == subject_id)
        .order_by(consents.c.id)
    )
    return [ConsentRow(int(r.id), bool(r.given), r.on, r.at) for r in connection.execute(query)]


def set_consent(
    connection: Connection, subject_id: int, given: bool, *, today: dt.date, now: dt.datetime
) -> ConsentChange:
    """Give (``given``) or withdraw consent from ``today`` on; idempotent: nothing is written if it already holds.

    Only persons are asked. The caller rescores the subject in the same
    transaction (the API's group commit does).
    """
    kind = connection.execute(sa.select(subjects.c.kind).where(subjects.c.id == subject_id)).scalar_one()
    if kind != "person":
        raise StoreError("only persons are asked for consent: organisations are always scored")
    holding = consent_on(((r.on, r.given) for r in consent_rows(connection, subject_id)), today)
    if holding == given:
        return ConsentChange(None, given)
    row_id = connection.execute(
        sa.insert(consents).values(subject_id=subject_id, given=given, on=today, at=now).returning(consents.c.id)
    ).scalar_one()
    return ConsentChange(ConsentRow(int(row_id), given, today, now), given)
