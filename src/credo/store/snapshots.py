"""The decision route's reads, straight through the database driver: a few small queries, no ORM layer.

A relying party's question is the hottest path Credo has (docs/api.md,
"Speed"). SQLAlchemy Core costs about 0.1 ms per statement in Python, more
than SQLite spends answering it, so these two lookups go to the driver's
cursor with fixed SQL. They read what :func:`credo.store.states.stored_state`
reads, and the outbox's events; when the stored state is not
exact today (:func:`credo.services.realtime_scoring.is_exact`), the caller falls back to
:func:`credo.services.realtime_scoring.current_state`, which rescores. The API tests run
decisions through this path on both backends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from credo.domain.changes import ScoreState
from credo.store.bulk_io import driver_cursor, placeholder
from credo.store.states import as_date, decode_state, from_json

__all__ = ["SubjectSnapshot", "last_change", "read_snapshot", "records_mark"]

_STATE = """SELECT s.id, s.kind, c.score, c.grade, c.dimensions, c.lists, c.measures, c.rulebook_version, c.as_of,
       c.next_change, (SELECT max(id) FROM records) AS mark
FROM subjects s LEFT JOIN current_scores c ON c.subject_id = s.id WHERE s.subject_key IN ({keys})"""
_MARK = "SELECT max(id) FROM records"
_EVENTS = """SELECT event_type, detail, as_of FROM outbox
WHERE subject_id = {p} AND event_type IN ({p}, {p}) ORDER BY id DESC"""


@dataclass(frozen=True)
class SubjectSnapshot:
    subject_id: int
    kind: str
    state: ScoreState | None  # None: never scored
    next_change: dt.date | None
    records_mark: int  # the highest record row id when read (:func:`records_mark`), in the same statement


def read_snapshot(connection: Connection, keys: Sequence[bytes]) -> list[SubjectSnapshot]:
    """The subjects whose keyed hashes are ``keys``, with their stored states."""
    p = placeholder(connection)
    with driver_cursor(connection) as cursor:
        cursor.execute(_STATE.format(keys=", ".join([p] * len(keys))), tuple(keys))
        rows = cursor.fetchall()
    found = []
    for sid, kind, score, grade, dims, lists, measures, version, as_of, next_change, mark in rows:
        state = None
        if version is not None:  # a stored state (its score is NULL for a person not scored without consent)
            state = decode_state(score, grade, dims, lists, measures, version=version, as_of=as_of)
        found.append(SubjectSnapshot(int(sid), kind, state, as_date(next_change), int(mark or 0)))
    return found


def records_mark(connection: Connection) -> int:
    """The highest record row id: the rows a state read now was computed from all have ids up to it.

    Stored with a decision, it pins the exact record versions the answer was
    made on (the latest version of each record among the rows up to the
    mark), at the cost of one index lookup instead of reading the subject's
    records.
    """
    with driver_cursor(connection) as cursor:
        cursor.execute(_MARK)
        row = cursor.fetchone()
    return int(row[0] or 0)


PAIRS = {"measure": ("measure_applied", "measure_lifted"), "list": ("list_entered", "list_left")}


def last_change(connection: Connection, subject_id: int, what: str, item_id: str, *, now_on: bool) -> dt.date | None:
    """The day ``item_id`` (a measure or a list) last started (``now_on``) or stopped applying; None: unknown.

    The outbox keeps every change with the day it happened (docs/changes.md);
    if the latest change of the item is not the one ``now_on`` expects, the
    stored state and the events disagree, and nothing is claimed.
    """
    start, stop = PAIRS[what]
    with driver_cursor(connection) as cursor:
        cursor.execute(_EVENTS.format(p=placeholder(connection)), (subject_id, start, stop))
        rows = cursor.fetchall()
    for event_type, detail, as_of in rows:
        if from_json(detail).get(what) == item_id:
            return as_date(as_of) if event_type == (start if now_on else stop) else None
    return None
