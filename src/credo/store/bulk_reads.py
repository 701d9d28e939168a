"""The store's rows as Arrow tables, for scoring many subjects at once (whole-store rescoring, bulk real time).

PostgreSQL sends them with ``COPY ... TO STDOUT`` (CSV, parsed by Arrow); SQLite's rows come in large batches
from the driver cursor and are turned column by column into Arrow arrays, a large file in id ranges read by
worker processes. Only the latest active records travel, and none that due process takes out: the scoring
engines (:mod:`credo.engines`) and the DuckDB steps around them (:mod:`credo.services.bulk_scoring`) take
these tables as they are.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy import Connection

from credo.domain.consent import ConsentHistory
from credo.store.bulk_io import driver_cursor
from credo.store.chunks import chunks
from credo.store.consent import consent_histories
from credo.store.sqlite_read import fetch_arrow, read_in_parallel
from credo.store.suppression import day_sql, periods_sql
from credo.store.tables import consents

__all__ = [
    "RECORDS_COLUMNS",
    "FreshSubjects",
    "StoreTables",
    "consent_of",
    "fetch_some",
    "lock_writers",
    "read_suppressions",
    "read_tables",
]

PARALLEL_FROM = 200_000  # record ids from which a whole-store rescore reads SQLite in worker processes
READ_WORKERS = 2  # worker processes at most (and no more than the CPUs)
# Some subjects, if at least 1/8 of the store's, are read with the whole tables and kept: reading the records of
# many subjects by index, one row at a time, costs more than reading them all in order (a refresh's catch-up).
WHOLE_READ_SHARE = 8

RECORDS_COLUMNS = (
    ("ka", pa.int64()),
    ("source", pa.string()),
    ("record_id", pa.string()),
    ("category", pa.string()),
    ("occ", pa.int64()),
    ("res", pa.int64()),
    ("amount", pa.float64()),
)
_SUBJECT_COLUMNS = (("ka", pa.int64()), ("kb", pa.int64()))
_PERIOD_COLUMNS = (
    ("ka", pa.int64()),
    ("source", pa.string()),
    ("record_id", pa.string()),
    ("start", pa.int64()),
    ("stop", pa.int64()),
)
_STORED_COLUMNS = (
    ("subject_id", pa.int64()),
    ("rulebook_version", pa.string()),
    ("score", pa.int64()),
    ("grade", pa.string()),
    ("dimensions", pa.string()),
    ("lists", pa.string()),
    ("measures", pa.string()),
    ("as_of", pa.string()),  # ISO dates as text on both backends
    ("next_change", pa.string()),
)


@dataclass(frozen=True)
class FreshSubjects:
    """Subjects created in the caller's transaction and every record they have, as Arrow tables.

    Ingestion hands them to real-time scoring, which then reads back from the
    store only the subjects that existed before: a subject created in this
    transaction can have no record but those this transaction wrote.
    ``subjects``: ka (surrogate id), kb (0 person, 1 organization);
    ``records``: the latest active version of each of their records, in the
    columns of ``store_records`` (:func:`score_tables`).
    """

    subjects: pa.Table
    records: pa.Table

    def ids(self) -> frozenset[int]:
        return frozenset(int(i) for i in self.subjects.column("ka").to_pylist())


# The condition, on a disputes row ``d``, under which its record takes no part in scoring (as in
# credo.store.scoring_inputs.suppressed_records): under an open dispute that suspends it, or removed by one, of the
# subject that holds it.
SUPPRESSED_SQL = "((d.state = 'open' AND d.suspends) OR d.outcome IN ('removed', 'granted'))"


def _held_sql(dialect: str) -> str:
    """The latest active records that due process takes out of scoring today (found from the few disputes)."""
    return f"""SELECT DISTINCT r.subject_id, r.source_id, r.record_id, r.category,
                      {day_sql("r.occurred_on", dialect)}, {day_sql("r.resolved_on", dialect)}, r.amount
               FROM disputes d JOIN records r ON r.source_id = d.source_id AND r.record_id = d.record_id
               WHERE r.is_latest AND r.status = 'active' AND d.subject_id = r.subject_id AND {SUPPRESSED_SQL}"""


def _queries(dialect: str) -> dict[str, str]:
    text = "TEXT"
    return {
        "subjects": "SELECT id, CASE WHEN kind = 'person' THEN 0 ELSE 1 END FROM subjects",
        # Withdrawn records count for nothing and move nothing: only the latest active versions travel.
        # ... and none that due process takes out (credo.store.scoring_inputs.suppressed_records says which).
        "records": f"""SELECT subject_id, source_id, record_id, category, {day_sql("occurred_on", dialect)},
                              {day_sql("resolved_on", dialect)}, amount
                       FROM records WHERE is_latest AND status = 'active'
                       AND NOT EXISTS (SELECT 1 FROM disputes d
                                       WHERE d.source_id = records.source_id AND d.record_id = records.record_id
                                       AND d.subject_id = records.subject_id AND {SUPPRESSED_SQL})""",
        "held": _held_sql(dialect),
        "stored": f"""SELECT subject_id, rulebook_version, score, grade, CAST(dimensions AS {text}),
                             CAST(lists AS {text}), CAST(measures AS {text}), CAST(as_of AS {text}),
                             CAST(next_change AS {text})
                      FROM current_scores""",
    }


def _fetch_sqlite(connection: Connection, query: str, columns: Sequence[tuple[str, pa.DataType]]) -> pa.Table:
    """Rows in large batches from the driver, turned into Arrow column by column (no object per record)."""
    with driver_cursor(connection) as cursor:
        return fetch_arrow(cursor, query, columns)


def _records_sqlite(connection: Connection, query: str) -> pa.Table:
    """Every record row: from a SQLite file of many records, in id ranges read by worker processes."""
    path = connection.engine.url.database
    low, high = connection.execute(sa.text("SELECT min(id), max(id) + 1 FROM records")).one()
    workers = min(READ_WORKERS, os.cpu_count() or 1)
    if not path or path == ":memory:" or low is None or high - low < PARALLEL_FROM or workers < 2:
        return _fetch_sqlite(connection, query, RECORDS_COLUMNS)
    ranged = f"{query} AND id >= ? AND id < ?"
    return read_in_parallel(path, ranged, RECORDS_COLUMNS, (int(low), int(high)), workers)


def _empty(columns: Sequence[tuple[str, pa.DataType]]) -> pa.Table:
    return pa.table({n: pa.array([], type=t) for n, t in columns})


def _fetch_postgresql(connection: Connection, query: str, columns: Sequence[tuple[str, pa.DataType]]) -> pa.Table:
    """``COPY (query) TO STDOUT`` as CSV, parsed by Arrow's multi-threaded reader."""
    buffer = io.BytesIO()
    with driver_cursor(connection) as cursor, cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT csv)") as copy:
        for chunk in copy:
            buffer.write(chunk)
    names = [n for n, _ in columns]
    if buffer.tell() == 0:
        return _empty(columns)
    buffer.seek(0)
    return pacsv.read_csv(
        buffer,
        read_options=pacsv.ReadOptions(column_names=names, block_size=64 << 20),
        convert_options=pacsv.ConvertOptions(
            column_types=dict(columns), strings_can_be_null=False, quoted_strings_can_be_null=False
        ),
    )


def _fetch(connection: Connection, query: str, columns: Sequence[tuple[str, pa.DataType]]) -> pa.Table:
    if connection.dialect.name == "postgresql":
        return _fetch_postgresql(connection, query, columns)
    return _fetch_sqlite(connection, query, columns)


def _only(query: str, column: str, ids: Sequence[int]) -> str:
    """``query`` narrowed to subjects ``ids`` (integers, written as literals: COPY takes no parameters)."""
    joiner = " AND " if " WHERE " in query else " WHERE "
    return f"{query}{joiner}{column} IN ({', '.join(str(int(i)) for i in ids)})"


def fetch_some(
    connection: Connection, query: str, column: str, columns: Sequence[tuple[str, pa.DataType]], ids: Sequence[int]
) -> pa.Table:
    tables = [_fetch(connection, _only(query, column, part), columns) for part in chunks(ids)]
    return pa.concat_tables(tables) if tables else _empty(columns)


def _conform(table: pa.Table, columns: Sequence[tuple[str, pa.DataType]]) -> pa.Table:
    return table.select([n for n, _ in columns]).cast(pa.schema(list(columns)))


def _read_whole(connection: Connection, queries: Mapping[str, str]) -> tuple[pa.Table, pa.Table, pa.Table]:
    """Every subject, record and stored state, each table read in one pass."""
    subjects = _fetch(connection, queries["subjects"], _SUBJECT_COLUMNS)
    if connection.dialect.name == "sqlite":
        records = _records_sqlite(connection, queries["records"])
    else:
        records = _fetch(connection, queries["records"], RECORDS_COLUMNS)
    return subjects, records, _fetch(connection, queries["stored"], _STORED_COLUMNS)


def _subject_count(connection: Connection) -> int:
    return int(connection.execute(sa.text("SELECT count(*) FROM subjects")).scalar_one())


def consent_of(connection: Connection, subject_ids: Sequence[int] | None) -> dict[int, ConsentHistory]:
    """The consent histories of these subjects, or of every subject (a whole-store rescore: one query)."""
    if subject_ids is not None:
        return dict(consent_histories(connection, subject_ids))
    found: dict[int, list[tuple[dt.date, bool]]] = {}
    query = sa.select(consents.c.subject_id, consents.c.on, consents.c.given).order_by(consents.c.id)
    for sid, on, given in connection.execute(query):
        found.setdefault(int(sid), []).append((on, bool(given)))
    return {sid: tuple(rows) for sid, rows in found.items()}


def lock_writers(connection: Connection) -> None:
    """Keep writers out until commit: the scores written must be those of the records read."""
    if connection.dialect.name == "postgresql":
        # Consents and disputes too: a consent or a dispute arriving mid-rescore would be scored against a
        # "before" state this rescore is about to replace, and its events would contradict the stored state.
        connection.exec_driver_sql(
            "LOCK TABLE records, subjects, current_scores, consents, disputes IN SHARE ROW EXCLUSIVE MODE"
        )
        return
    raw = connection.connection.driver_connection
    if not raw.in_transaction:  # type: ignore[union-attr]
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class StoreTables(NamedTuple):
    """What bulk scoring reads: ``subjects`` (ka, kb), ``records`` (:data:`RECORDS_COLUMNS`), ``stored`` states."""

    subjects: pa.Table
    records: pa.Table
    stored: pa.Table


def read_tables(
    connection: Connection, subject_ids: Sequence[int] | None, fresh: FreshSubjects | None = None
) -> StoreTables:
    """Every subject of the store with its records and stored state, or only ``subject_ids``'.

    Only some subjects (real-time scoring of many): one query per :data:`~credo.store.chunks.IN_LIST` subjects
    and table, unless they are many (:data:`WHOLE_READ_SHARE`); of those, the ``fresh`` ones are taken as
    given instead of read back.
    """
    queries = _queries(connection.dialect.name)
    if subject_ids is None:
        return StoreTables(*_read_whole(connection, queries))
    if fresh is None and len(subject_ids) * WHOLE_READ_SHARE >= _subject_count(connection):
        subjects, records, stored = _read_whole(connection, queries)
        wanted = pa.array(sorted(set(subject_ids)), pa.int64())
        return StoreTables(
            subjects.filter(pc.is_in(subjects.column("ka"), value_set=wanted)),
            records.filter(pc.is_in(records.column("ka"), value_set=wanted)),
            stored.filter(pc.is_in(stored.column("subject_id"), value_set=wanted)),
        )
    given = fresh.ids() if fresh is not None else frozenset()
    ids = [i for i in subject_ids if i not in given]
    subjects = fetch_some(connection, queries["subjects"], "id", _SUBJECT_COLUMNS, ids)
    records = fetch_some(connection, queries["records"], "subject_id", RECORDS_COLUMNS, ids)
    stored = fetch_some(connection, queries["stored"], "subject_id", _STORED_COLUMNS, ids)
    if fresh is not None:
        wanted = pa.array(sorted(given.intersection(subject_ids)), pa.int64())
        keep_s = pc.is_in(fresh.subjects.column("ka"), value_set=wanted)
        keep_r = pc.is_in(fresh.records.column("ka"), value_set=wanted)
        subjects = pa.concat_tables([subjects, _conform(fresh.subjects.filter(keep_s), _SUBJECT_COLUMNS)])
        records = pa.concat_tables([records, _conform(fresh.records.filter(keep_r), RECORDS_COLUMNS)])
    return StoreTables(subjects, records, stored)


def read_suppressions(connection: Connection, subject_ids: Sequence[int]) -> tuple[pa.Table, pa.Table]:
    """(held, periods) for these subjects (a refresh's catch-up).

    ``held``: the latest active records that due process takes out today (left out of the records of
    :func:`read_tables`), in its columns; ``periods``: (ka, source, record_id, start, stop) of every suppression
    period on their records (:func:`credo.store.suppression.periods_sql`, day numbers). Both are read whole
    (disputes are few) and kept for these subjects.
    """
    dialect = connection.dialect.name
    wanted = pa.array(sorted(set(subject_ids)), pa.int64())
    held = _fetch(connection, _queries(dialect)["held"], RECORDS_COLUMNS)
    periods = _fetch(connection, periods_sql(dialect), _PERIOD_COLUMNS)
    return (
        held.filter(pc.is_in(held.column("ka"), value_set=wanted)),
        periods.filter(pc.is_in(periods.column("ka"), value_set=wanted)),
    )
