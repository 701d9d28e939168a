"""Stored states (``current_scores``): one decoder to the domain's :class:`~credo.domain.scoring.ScoreState`, reads,
the upsert, and which states are stale.

The columns come three ways: through SQLAlchemy (JSON already decoded, dates as dates), from the driver's own
cursor (SQLite gives JSON and dates as text) and from DuckDB (JSON as text, a missing grade as ``""``); every
reader of ``current_scores`` decodes through :func:`decode_state`, so they cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.domain.changes import ScoreState
from credo.store.bulk_io import dialect_insert
from credo.store.chunks import chunks
from credo.store.rulebooks import version_at
from credo.store.tables import current_scores, disputes, records, subjects

__all__ = [
    "as_date",
    "decode_state",
    "from_json",
    "stale_subjects",
    "state_of_row",
    "states_by_subject",
    "stored_rows",
    "stored_state",
    "upsert_states",
]


def from_json(value: Any) -> Any:
    """A JSON column's value: decoded if it came as text, as it came otherwise."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def as_date(value: Any) -> dt.date | None:
    """A date column's value: a date as it came, or parsed from its ISO text (the first 10 characters)."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def decode_state(
    score: Any, grade: Any, dimensions: Any, lists: Any, measures: Any, *, version: str, as_of: Any
) -> ScoreState:
    """The state a row of ``current_scores`` (or a plan's state columns) holds; its score None when not scored."""
    day = as_date(as_of)
    assert day is not None  # every stored state has its day
    return ScoreState(
        score=None if score is None else int(score),
        grade=grade or None,
        dimensions=dict(from_json(dimensions)),
        lists=tuple(from_json(lists)),
        measures=tuple(from_json(measures)),
        rulebook_version=version,
        as_of=day,
    )


def state_of_row(row: Any) -> ScoreState:
    """The state a ``current_scores`` row read through SQLAlchemy holds."""
    return decode_state(
        row.score, row.grade, row.dimensions, row.lists, row.measures, version=row.rulebook_version, as_of=row.as_of
    )


# Built once (building a statement costs SQLAlchemy more than SQLite spends running it); ``ids`` expands.
_STORED = sa.select(current_scores).where(current_scores.c.subject_id.in_(sa.bindparam("ids", expanding=True)))


def stored_rows(connection: Connection, subject_ids: Sequence[int]) -> dict[int, Any]:
    """The ``current_scores`` rows of these subjects, by surrogate id (those never scored are absent)."""
    rows: dict[int, Any] = {}
    for chunk in chunks(subject_ids):
        for row in connection.execute(_STORED, {"ids": list(chunk)}):
            rows[row.subject_id] = row
    return rows


def stored_state(connection: Connection, subject_id: int) -> tuple[ScoreState, dt.date | None] | None:
    """The stored state of a subject and its ``next_change``, or None if it was never scored."""
    row = connection.execute(sa.select(current_scores).where(current_scores.c.subject_id == subject_id)).first()
    return None if row is None else (state_of_row(row), row.next_change)


def states_by_subject(connection: Connection, subject_ids: Sequence[int]) -> Mapping[int, ScoreState]:
    """The stored states of these subjects (those never scored are absent)."""
    return {sid: state_of_row(row) for sid, row in stored_rows(connection, subject_ids).items()}


@functools.cache
def _upsert_statement(dialect: str) -> Any:
    """The upsert of ``current_scores`` rows, built once per dialect (building it costs more than a row)."""
    statement = dialect_insert(dialect, current_scores)
    updated = {c.name: statement.excluded[c.name] for c in current_scores.columns if c.name != "subject_id"}
    return statement.on_conflict_do_update(index_elements=["subject_id"], set_=updated)


def upsert_states(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert or replace ``current_scores`` rows given as dicts of its columns."""
    if rows:
        connection.execute(_upsert_statement(connection.dialect.name), rows)


def stale_subjects(connection: Connection, today: dt.date) -> list[tuple[int, dt.date | None]]:
    """The subjects whose stored state is stale today, with the day it was stored for (None: never scored)."""
    version = version_at(connection, today)
    if version is None:
        return []
    query = (
        sa.select(subjects.c.id, current_scores.c.as_of)
        .select_from(subjects.outerjoin(current_scores, current_scores.c.subject_id == subjects.c.id))
        .where(
            sa.or_(
                current_scores.c.subject_id.is_(None),
                current_scores.c.next_change <= today,
                current_scores.c.rulebook_version != version,
                current_scores.c.as_of > today,
            )
        )
    )
    due = {int(sid): as_of for sid, as_of in connection.execute(query)}
    due.update(_disputed_since_stored(connection, today))
    return sorted(due.items())


def _disputed_since_stored(connection: Connection, today: dt.date) -> list[tuple[int, dt.date]]:
    """Subjects a dispute on one of their records was opened or decided for on or after their stored day.

    The store rescores a subject when a dispute is opened or decided, but a
    dispute decided by its deadline (:func:`credo.store.disputes.lapse_overdue`)
    is decided by the refresh itself, and its subject must then walk the days
    since its stored state with the dispute as it stood on each of them.
    """
    changed_on = sa.or_(
        disputes.c.opened_on.between(current_scores.c.as_of, today),
        disputes.c.decided_on.between(current_scores.c.as_of, today),
    )
    query = (
        sa.select(current_scores.c.subject_id, current_scores.c.as_of)
        .select_from(
            disputes.join(
                records,
                (records.c.source_id == disputes.c.source_id)
                & (records.c.record_id == disputes.c.record_id)
                & (records.c.subject_id == disputes.c.subject_id)  # never on a record's new holder
                & records.c.is_latest,
            ).join(current_scores, current_scores.c.subject_id == records.c.subject_id)
        )
        .where(changed_on)
        .distinct()
    )
    return [(int(sid), as_of) for sid, as_of in connection.execute(query)]
