"""The periods in which disputes take records out of scoring, read from the store once for every path.

:func:`periods_sql` is the one statement that turns dispute rows into periods
(:class:`credo.domain.suppression.Suppression`): the bulk catch-up reads it
into DuckDB (:mod:`credo.services.catchup`), the walk in Python through
:func:`suppression_periods`. A period belongs to the subject that holds the
record now (its latest version), and only if that subject opened the
dispute: a record its source moved to another subject leaves its disputes
behind (docs/due-process.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.batch.sqltext import EPOCH
from credo.domain.suppression import Suppression
from credo.store.chunks import chunks

__all__ = ["day_sql", "periods_sql", "suppression_periods"]


def day_sql(column: str, dialect: str) -> str:
    """A DATE column as days since 1970-01-01 (the plan's day numbers)."""
    if dialect == "sqlite":  # SQLAlchemy keeps dates as 'YYYY-MM-DD' text
        return f"CAST(julianday({column}) - 2440587.5 AS INTEGER)"
    return f"({column} - DATE '{EPOCH.isoformat()}')"


def periods_sql(dialect: str, subject_ids: Sequence[int] | None = None) -> str:
    """(subject_id, source_id, record_id, start, stop) of every period on these subjects' records, as day numbers.

    A suspending dispute holds its record out from the day it was opened:
    while open, until it is decided, and for good when decided removed. A
    dispute decided removed (or a repair granted) holds it out from the day
    of the decision for good. ``stop`` is exclusive, NULL for good. A closed
    dispute without a decision day takes nothing out. ``subject_ids`` (None:
    every subject) are integers, written as literals (PostgreSQL's COPY takes
    no parameters).
    """
    removal = "d.outcome IN ('removed', 'granted')"
    only = (
        "" if subject_ids is None else f"AND r.subject_id IN ({', '.join(str(int(i)) for i in subject_ids) or 'NULL'})"
    )
    return f"""
    SELECT r.subject_id, d.source_id, d.record_id,
           CASE WHEN d.suspends THEN {day_sql("d.opened_on", dialect)} ELSE {day_sql("d.decided_on", dialect)} END,
           CASE WHEN {removal} THEN NULL ELSE {day_sql("d.decided_on", dialect)} END
    FROM disputes d
    JOIN records r ON r.source_id = d.source_id AND r.record_id = d.record_id AND r.is_latest
                  AND r.subject_id = d.subject_id
    WHERE ((d.suspends AND (d.state = 'open' OR d.decided_on IS NOT NULL))
           OR ({removal} AND d.decided_on IS NOT NULL))
      {only}"""


def _date(day: int | None) -> dt.date | None:
    return None if day is None else EPOCH + dt.timedelta(days=int(day))


def suppression_periods(connection: Connection, subject_ids: Sequence[int]) -> Mapping[int, tuple[Suppression, ...]]:
    """The suppression periods of these subjects' records (those with none are absent)."""
    found: dict[int, list[Suppression]] = {}
    dialect = connection.dialect.name
    ids = list(subject_ids)
    for part in chunks(ids):
        query = sa.text(periods_sql(dialect, part))
        for sid, source, record_id, first, stop in connection.execute(query):
            begin = _date(first)
            assert begin is not None  # the WHERE clause leaves no period without its first day
            found.setdefault(int(sid), []).append(Suppression((source, record_id), begin, _date(stop)))
    return {sid: tuple(periods) for sid, periods in found.items()}
