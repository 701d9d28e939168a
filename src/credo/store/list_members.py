"""Who is on which list now: the read model behind the public list lookup (ADR 0008).

The public may ask whether an identifier is on a published list. Answering
from the subject's scores (look the subject up, bring its state up to date,
find when it entered) took measurably longer for identifiers Credo holds
records about than for unknown ones, which told anyone who is known. The
lookup reads ``list_members`` instead: one probe by list and keyed hash, the
same statement for every identifier, known or not, and nothing computed or
refreshed on read.

The table is a projection of the list events (``list_entered``,
``list_left``): every path that writes events (real-time scoring, bulk
rescoring, the catch-up walk) writes them through :func:`write_events`, which
keeps the table in step in the same transaction. Key rotation re-keys it
(:func:`rekey`), a purge deletes a purged subject's rows with the subject.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.store.bulk_io import driver_cursor, insert_dicts, placeholder
from credo.store.chunks import chunks
from credo.store.tables import list_members, outbox, subjects

__all__ = ["LIST_EVENTS", "Member", "members_of", "on_list", "rekey", "write_events"]

LIST_EVENTS = ("list_entered", "list_left")


def write_events(connection: Connection, events: Sequence[Mapping[str, Any]], *, bulk: bool = False) -> None:
    """Append ``events`` (outbox rows) to the outbox and keep ``list_members`` in step with their list events.

    ``bulk``: through the driver (:func:`credo.store.bulk_io.insert_dicts`), for the many rows of a rescoring.
    """
    if not events:
        return
    if bulk:
        insert_dicts(connection, outbox, events)
    else:
        connection.execute(sa.insert(outbox), list(events))
    _apply(connection, events)


def _apply(connection: Connection, events: Sequence[Mapping[str, Any]]) -> None:
    """The net effect of the list events, in the order they happened: the last one per subject and list stands."""
    latest: dict[tuple[int, str], tuple[str, dt.date]] = {}
    listed = [e for e in events if e["event_type"] in LIST_EVENTS]
    for event in sorted(listed, key=lambda e: e["as_of"]):  # stable: the same day keeps the order written
        latest[(int(event["subject_id"]), str(event["detail"]["list"]))] = (event["event_type"], event["as_of"])
    if not latest:
        return
    ids = sorted({sid for sid, _ in latest})
    keys: dict[int, bytes] = {}
    for part in chunks(ids):
        found = connection.execute(sa.select(subjects.c.id, subjects.c.subject_key).where(subjects.c.id.in_(part)))
        keys.update((int(sid), bytes(key)) for sid, key in found)
    connection.execute(
        sa.delete(list_members).where(
            list_members.c.list_id == sa.bindparam("l"), list_members.c.subject_id == sa.bindparam("s")
        ),
        [{"l": list_id, "s": sid} for sid, list_id in latest],
    )
    entered = [
        {"list_id": list_id, "subject_key": keys[sid], "subject_id": sid, "since": day}
        for (sid, list_id), (kind, day) in latest.items()
        if kind == "list_entered"
    ]
    if entered:
        connection.execute(sa.insert(list_members), entered)


def on_list(connection: Connection, list_id: str, keys: Sequence[bytes]) -> list[tuple[int, dt.date | None]]:
    """(subject id, day entered) of the subjects on ``list_id`` whose keyed hashes are among ``keys``.

    One statement, the same for any identifier: a probe of the primary key, known subject or not.
    """
    p = placeholder(connection)
    marks = ", ".join([p] * len(keys))
    sql = f"SELECT subject_id, since FROM list_members WHERE list_id = {p} AND subject_key IN ({marks})"
    with driver_cursor(connection) as cursor:
        cursor.execute(sql, (list_id, *keys))
        rows = cursor.fetchall()
    return [(int(sid), _date(since)) for sid, since in rows]


@dataclass(frozen=True)
class Member:
    subject_id: int
    kind: str
    identifier_enc: bytes
    since: dt.date | None


def members_of(
    connection: Connection, list_id: str, *, entered_from: dt.date | None, offset: int, limit: int
) -> list[Member]:
    """The members of ``list_id``, the most recent entry first (then in the order of their keyed hashes).

    ``entered_from``: only those who entered on or after that day (a list published for a period).
    """
    query = (
        sa.select(list_members.c.subject_id, subjects.c.kind, subjects.c.identifier_enc, list_members.c.since)
        .join(subjects, subjects.c.id == list_members.c.subject_id)
        .where(list_members.c.list_id == list_id)
        .order_by(list_members.c.since.desc().nulls_last(), list_members.c.subject_key)
        .offset(offset)
        .limit(limit)
    )
    if entered_from is not None:
        query = query.where(list_members.c.since >= entered_from)
    return [Member(int(r.subject_id), r.kind, r.identifier_enc, _date(r.since)) for r in connection.execute(query)]


def rekey(connection: Connection) -> None:
    """After the subjects were re-hashed under a new key version: the same keyed hashes here."""
    connection.execute(
        sa.update(list_members).values(
            subject_key=sa.select(subjects.c.subject_key)
            .where(subjects.c.id == list_members.c.subject_id)
            .scalar_subquery()
        )
    )


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
