"""What scoring reads about subjects: their kind and latest records, and the records due process takes out.

Every scoring path in Python (real time, refresh, explanations) reads through these, one query per
:data:`~credo.store.chunks.IN_LIST` subjects; the bulk paths read the same in Arrow
(:func:`credo.store.bulk_reads.read_tables`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.domain.records import Record, RecordKey
from credo.store.chunks import chunks
from credo.store.tables import disputes, records, subjects

__all__ = ["load_subject_records", "suppressed_records"]

# The reads of every rescoring, built once (building a statement costs SQLAlchemy more than SQLite spends
# running it, and a push over the API rescores in the request's time); ``ids`` expands to the chunk's ids.
_IDS: sa.BindParameter[Any] = sa.bindparam("ids", expanding=True)
_KINDS = sa.select(subjects.c.id, subjects.c.kind).where(subjects.c.id.in_(_IDS))
_LATEST_RECORDS = (
    sa.select(
        records.c.subject_id,
        records.c.source_id,
        records.c.record_id,
        records.c.category,
        records.c.occurred_on,
        records.c.amount,
        records.c.resolved_on,
        records.c.status,
        records.c.reference,
    )
    .where(records.c.is_latest, records.c.subject_id.in_(_IDS))
    .order_by(records.c.subject_id, records.c.id)
)
_SUPPRESSED = (
    sa.select(records.c.subject_id, records.c.source_id, records.c.record_id)
    .select_from(
        records.join(
            disputes,
            (disputes.c.source_id == records.c.source_id)
            & (disputes.c.record_id == records.c.record_id)
            & (disputes.c.subject_id == records.c.subject_id),  # never on a record's new holder
        )
    )
    .where(
        records.c.is_latest,
        records.c.subject_id.in_(_IDS),
        ((disputes.c.state == "open") & disputes.c.suspends) | disputes.c.outcome.in_(("removed", "granted")),
    )
)


def load_subject_records(connection: Connection, subject_ids: Sequence[int]) -> dict[int, tuple[str, list[Record]]]:
    """Each subject's kind and the latest version of each of its records, as domain records.

    One query for the kinds and one for the records per :data:`~credo.store.chunks.IN_LIST` subjects.
    A subject with no record left is present with an empty list.
    """
    found: dict[int, tuple[str, list[Record]]] = {}
    for chunk in chunks(subject_ids):
        for sid, kind in connection.execute(_KINDS, {"ids": list(chunk)}):
            found[sid] = (kind, [])
        rows = connection.execute(_LATEST_RECORDS, {"ids": list(chunk)})
        for sid, source, record_id, category, occurred_on, amount, resolved_on, status, reference in rows:
            kind, mine = found[sid]
            mine.append(
                Record(source, record_id, str(sid), kind, category, occurred_on, amount, resolved_on, status, reference)
            )
    return found


def suppressed_records(connection: Connection, subject_ids: Sequence[int]) -> dict[int, frozenset[RecordKey]]:
    """The records due process takes out of each subject's score (:mod:`credo.store.disputes`).

    A record under an open dispute that suspends it (the rulebook's
    ``disputes.while_open: suspend`` when it was opened), or removed by a
    decided dispute, takes no part, while the subject who disputed it holds
    it (a record its source moved to another subject is that subject's to
    dispute: :mod:`credo.store.moves`). One query
    per :data:`~credo.store.chunks.IN_LIST` subjects; every scoring path passes the keys to the
    domain functions (the bulk paths read records without them,
    :func:`credo.store.bulk_reads.read_tables`).
    """
    found: dict[int, set[RecordKey]] = {}
    for chunk in chunks(list(subject_ids)):
        for sid, source, record_id in connection.execute(_SUPPRESSED, {"ids": list(chunk)}):
            found.setdefault(int(sid), set()).add((source, record_id))
    return {sid: frozenset(keys) for sid, keys in found.items()}
