"""Whole-store rescoring (``credo rescore``): the batch plan over the stored records, results written in bulk.

Real-time scoring (:mod:`credo.services.realtime_scoring`) rescores the subjects a
chunk of records touches; this rescores every subject at once, for a new
rulebook version, a repair, or a check that the real-time path kept up.

1. The latest active records and every subject are moved from the store to
   an embedded DuckDB as Arrow tables: PostgreSQL sends them with ``COPY ...
   TO STDOUT`` (CSV, parsed by Arrow); SQLite's rows come in large batches
   from the driver cursor and are turned column by column into Arrow arrays.
2. :func:`credo.batch.plan.store_plan` scores them on an engine: the
   same scoring SQL as ``credo batch``, with the subject's surrogate id as
   key, no identifier checks and a conservative ``next_change`` per subject
   (never later than the exact one of :func:`credo.domain.changes.next_change`).
3. DuckDB compares the new states with the stored ones; only subjects whose
   state changed come back to Python, for
   :func:`credo.domain.changes.events_between` and their outbox rows.
4. ``current_scores`` is upserted for every subject through the driver
   (:func:`credo.services.bulk_writes.insert_select`): on PostgreSQL by COPY into a
   temporary table and one ``INSERT ... ON CONFLICT``, on SQLite by one
   ``executemany``.

Real-time scoring of many subjects (:func:`rescore_many`, called by
:func:`credo.services.realtime_scoring.rescore_subjects` for an ingestion chunk) runs the
same steps on those subjects only, in the caller's transaction.

Everything runs in one transaction that keeps writers out (SQLite ``BEGIN
IMMEDIATE``, PostgreSQL table locks): ingestion waits, and the stored scores
and events always match the records they were computed from.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy import Connection

from credo import engines
from credo.batch.files import connect
from credo.batch.plan import store_plan
from credo.batch.sqltext import EPOCH, day_number, lit
from credo.domain.changes import ScoreState, events_between
from credo.domain.consent import ConsentHistory, consent_days, consent_on, without_consent
from credo.domain.rulebook import Rulebook
from credo.domain.scoring import score_only
from credo.engines import EngineError, Gap, ScoringEngine
from credo.engines.base import STORE_INPUTS
from credo.services.bulk_writes import insert_select
from credo.store import clock
from credo.store.bootstrap import Store
from credo.store.bulk_io import driver_cursor
from credo.store.chunks import chunks
from credo.store.consent import consent_histories
from credo.store.errors import StoreError
from credo.store.list_members import write_events
from credo.store.rulebooks import Versions, rulebook_at
from credo.store.sqlite_read import fetch_arrow, read_in_parallel
from credo.store.states import decode_state
from credo.store.suppression import day_sql, periods_sql
from credo.store.tables import consents, current_scores

__all__ = [
    "RECORDS_COLUMNS",
    "FreshSubjects",
    "RescoreSummary",
    "changed_states",
    "changes",
    "consent_of",
    "default_today",
    "fetch_some",
    "load_suppressions",
    "load_tables",
    "rescore_many",
    "rescore_store",
    "score_tables",
    "state_of",
    "write_states",
]

PARALLEL_FROM = 200_000  # record ids from which a whole-store rescore reads SQLite in worker processes
READ_WORKERS = 2  # worker processes at most (and no more than the CPUs)
# Some subjects, if at least 1/8 of the store's, are read with the whole tables and kept: reading the records of
# many subjects by index, one row at a time, costs more than reading them all in order (a refresh's catch-up).
WHOLE_READ_SHARE = 8
Progress = Callable[[str], None]

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


@dataclass(frozen=True)
class RescoreSummary:
    subjects: int
    records: int
    changed: int
    events: int
    rulebook_version: str
    as_of: dt.date
    seconds: float
    timings: dict[str, float]
    written: int = 0  # current_scores rows written: those not already stored as they are


def default_today(store: Store) -> dt.date:
    """Today as every store command sees it (:func:`credo.store.clock.today`: ``CREDO_TODAY`` or the UTC date)."""
    return clock.today(store.environ)


# -- moving the store's rows into Arrow -----------------------------------------------------------


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


# -- states ---------------------------------------------------------------------------------------


def _json_list_sql(column: str) -> str:
    """';'-joined ids as the JSON text json.dumps writes (ids are slugs: no quoting needed)."""
    return f"""CASE WHEN {column} = '' THEN '[]' ELSE '["' || replace({column}, ';', '", "') || '"]' END"""


def _dimensions_sql(book: Rulebook) -> str:
    parts = [f"{lit(json.dumps(name) + ': ')} || CAST(dim_{i} AS VARCHAR)" for i, name in enumerate(book.dimensions)]
    return "'{' || " + " || ', ' || ".join(parts) + " || '}'" if parts else "'{}'"


def _empty_states_sql(book: Rulebook, as_of: dt.date) -> str:
    """A VALUES table with each kind's state when no record counts (subjects with no active record)."""
    rows = []
    for kb, kind in ((0, "person"), (1, "organization")):
        score, grade, dims, lists, measures = score_only(book, kind, [], as_of)
        rows.append(
            f"({kb}, {score}, {lit(grade)}, {lit(json.dumps(dict(dims)))}, "
            f"{lit(json.dumps(list(lists)))}, {lit(json.dumps(list(measures)))})"
        )
    return f"SELECT * FROM (VALUES {', '.join(rows)}) t(kb, score, grade, dimensions, lists, measures)"


def _new_states_sql(book: Rulebook, as_of: dt.date) -> str:
    """Every subject's new state, JSON columns as text, next_change as a DATE."""
    t = day_number(as_of)
    return f"""
    WITH scored AS (
        SELECT ka, kb, CAST(score AS BIGINT) AS score, grade, {_dimensions_sql(book)} AS dimensions,
               {_json_list_sql("lists")} AS lists, {_json_list_sql("measures")} AS measures,
               CASE WHEN next_change > {t} THEN DATE '{EPOCH.isoformat()}' + CAST(next_change AS INTEGER) END
                   AS next_change
        FROM subject_scores
    ),
    empty AS ({_empty_states_sql(book, as_of)})
    SELECT s.ka AS subject_id, s.kb, coalesce(x.score, e.score) AS score, coalesce(x.grade, e.grade) AS grade,
           coalesce(x.dimensions, e.dimensions) AS dimensions, coalesce(x.lists, e.lists) AS lists,
           coalesce(x.measures, e.measures) AS measures, x.next_change
    FROM store_subjects s LEFT JOIN scored x ON x.ka = s.ka JOIN empty e ON e.kb = s.kb"""


def score_tables(
    con: duckdb.DuckDBPyConnection,
    book: Rulebook,
    as_of: dt.date,
    consent: Mapping[int, ConsentHistory] | None = None,
    engine: ScoringEngine | None = None,
) -> int:
    """Score the registered ``store_subjects`` (ka, kb) and ``store_records`` into ``new_states``; its size.

    The store plan runs on ``engine`` (default: DuckDB's), which gives ``subject_scores`` back as Arrow.

    ``store_records``: the latest active version of each record (ka, source,
    record_id, category, occ, res as day numbers, amount). ``new_states`` has
    one row per subject: subject_id, kb, score, grade, dimensions, lists and
    measures (JSON text as json.dumps writes it) and next_change (DATE or NULL).
    ``consent``: the consent histories of the subjects that have one
    (:func:`apply_consent`; None: nobody has one).
    """
    plan = store_plan(book, as_of)
    inputs = {name: con.sql(f"SELECT * FROM {name}").to_arrow_table() for name in STORE_INPUTS}
    con.register("subject_scores", (engine or engines.get("duckdb")).run(plan, inputs)["subject_scores"])
    con.execute(f"CREATE OR REPLACE TEMP TABLE new_states AS {_new_states_sql(book, as_of)}").fetchall()
    apply_consent(con, book, as_of, consent or {})
    return int(con.execute("SELECT count(*) FROM new_states").fetchall()[0][0])


def apply_consent(
    con: duckdb.DuckDBPyConnection, book: Rulebook, day: dt.date, consent: Mapping[int, ConsentHistory]
) -> None:
    """``new_states`` of persons without consent on ``day`` as :func:`without_consent` leaves them.

    Only under a rulebook that requires consent. The domain function is asked
    once for each distinct (lists, measures) pair among the unconsented, and
    its answer joined back: every engine applies the same function. A
    subject's ``next_change`` moves to the first consent entry dated ahead,
    if that is sooner.
    """
    if not book.score.requires_consent:
        return
    consented = [sid for sid, history in consent.items() if consent_on(history, day)]
    ahead = [(sid, min(days)) for sid, history in consent.items() if (days := consent_days(history, day))]
    con.register("consented", pa.table({"ka": pa.array(consented, pa.int64())}))
    unconsented = "n.kb = 0 AND n.subject_id NOT IN (SELECT ka FROM consented)"
    forms = con.execute(f"SELECT DISTINCT n.lists, n.measures FROM new_states n WHERE {unconsented}").fetchall()
    kept: dict[str, list[str]] = {"lists": [], "measures": [], "new_lists": [], "new_measures": []}
    for lists, measures in forms:
        state = ScoreState(0, "", {}, tuple(json.loads(lists)), tuple(json.loads(measures)), book.version, day)
        left = without_consent(book, state)
        kept["lists"].append(lists)
        kept["measures"].append(measures)
        kept["new_lists"].append(json.dumps(list(left.lists)))
        kept["new_measures"].append(json.dumps(list(left.measures)))
    con.register("consent_forms", pa.table({k: pa.array(v, pa.string()) for k, v in kept.items()}))
    con.execute(
        f"""UPDATE new_states n SET score = NULL, grade = NULL, dimensions = '{{}}', lists = m.new_lists,
                                    measures = m.new_measures
            FROM consent_forms m WHERE {unconsented} AND n.lists = m.lists AND n.measures = m.measures"""
    )
    con.register(
        "consent_ahead",
        pa.table(
            {"ka": pa.array([a for a, _ in ahead], pa.int64()), "day": pa.array([d for _, d in ahead], pa.date32())}
        ),
    )
    con.execute(
        """UPDATE new_states n SET next_change = least(coalesce(n.next_change, c.day), c.day)
           FROM consent_ahead c WHERE c.ka = n.subject_id"""
    )
    for name in ("consented", "consent_forms", "consent_ahead"):
        con.unregister(name)


def consent_of(connection: Connection, subject_ids: Sequence[int] | None) -> dict[int, ConsentHistory]:
    """The consent histories of these subjects, or of every subject (a whole-store rescore: one query)."""
    if subject_ids is not None:
        return dict(consent_histories(connection, subject_ids))
    found: dict[int, list[tuple[dt.date, bool]]] = {}
    query = sa.select(consents.c.subject_id, consents.c.on, consents.c.given).order_by(consents.c.id)
    for sid, on, given in connection.execute(query):
        found.setdefault(int(sid), []).append((on, bool(given)))
    return {sid: tuple(rows) for sid, rows in found.items()}


# Score and grade compared NULL-safely (a person without consent has neither); a NULL grade read back by
# PostgreSQL's COPY arrives as '' (grades are never empty).
_DIFFERENT_STANDING = "o.score IS DISTINCT FROM n.score OR NULLIF(o.grade, '') IS DISTINCT FROM n.grade"


def _changed_sql(version: str) -> str:
    """Subjects whose new state may differ from the stored one (JSON compared minified; Python decides)."""
    return f"""
    SELECT n.subject_id, n.score, n.grade, n.dimensions, n.lists, n.measures,
           o.subject_id IS NOT NULL AS had, o.rulebook_version, o.score, o.grade, o.dimensions, o.lists, o.measures
    FROM new_states n LEFT JOIN stored o ON o.subject_id = n.subject_id
    WHERE o.subject_id IS NULL OR o.rulebook_version <> {lit(version)} OR {_DIFFERENT_STANDING}
       OR json(o.dimensions) <> json(n.dimensions) OR json(o.lists) <> json(n.lists)
       OR json(o.measures) <> json(n.measures)
    ORDER BY n.subject_id"""


def state_of(row: Sequence[Any], version: str, as_of: dt.date) -> ScoreState:
    """A state from (score, grade, dimensions, lists, measures) as DuckDB gives them (JSON as text)."""
    score, grade, dims, lists, measures = row
    return decode_state(score, grade, dims, lists, measures, version, as_of)


# -- writing --------------------------------------------------------------------------------------


def _lock(connection: Connection) -> None:
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


# -- shared with real-time scoring ------------------------------------------------------------------


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


def load_tables(
    connection: Connection,
    con: duckdb.DuckDBPyConnection,
    subject_ids: Sequence[int] | None,
    fresh: FreshSubjects | None = None,
) -> int:
    """Register ``store_subjects``, ``store_records`` and ``stored`` in DuckDB; the number of records.

    Every subject of the store, or only ``subject_ids`` (real-time scoring of
    many subjects: one query per :data:`~credo.store.chunks.IN_LIST` subjects and table); of
    those, the ``fresh`` ones are taken as given instead of read back.
    """
    queries = _queries(connection.dialect.name)
    if subject_ids is None:
        subjects, records, stored = _read_whole(connection, queries)
    elif fresh is None and len(subject_ids) * WHOLE_READ_SHARE >= _subject_count(connection):
        subjects, records, stored = _read_whole(connection, queries)
        wanted = pa.array(sorted(set(subject_ids)), pa.int64())
        subjects = subjects.filter(pc.is_in(subjects.column("ka"), value_set=wanted))
        records = records.filter(pc.is_in(records.column("ka"), value_set=wanted))
        stored = stored.filter(pc.is_in(stored.column("subject_id"), value_set=wanted))
    else:
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
    con.register("store_subjects", subjects)
    con.register("store_records", records)
    con.register("stored", stored)
    return int(records.num_rows)


def load_suppressions(connection: Connection, con: duckdb.DuckDBPyConnection, subject_ids: Sequence[int]) -> None:
    """Register ``held_records`` and ``periods`` in DuckDB for these subjects (a refresh's catch-up).

    ``held_records``: the latest active records that due process takes out
    today (left out of ``store_records``), in its columns; ``periods``: (ka,
    source, record_id, start, stop) of every suppression period on their
    records (:func:`credo.store.suppression.periods_sql`, day numbers). Both
    are read whole (disputes are few) and kept for these subjects.
    """
    dialect = connection.dialect.name
    wanted = pa.array(sorted(set(subject_ids)), pa.int64())
    held = _fetch(connection, _queries(dialect)["held"], RECORDS_COLUMNS)
    periods = _fetch(connection, periods_sql(dialect), _PERIOD_COLUMNS)
    con.register("held_records", held.filter(pc.is_in(held.column("ka"), value_set=wanted)))
    con.register("periods", periods.filter(pc.is_in(periods.column("ka"), value_set=wanted)))


def changes(
    connection: Connection,
    con: duckdb.DuckDBPyConnection,
    book: Rulebook,
    *,
    version: str,
    as_of: dt.date,
    now: dt.datetime,
) -> tuple[int, list[dict[str, Any]]]:
    """After :func:`score_tables`: subjects whose state changed, and the outbox rows of their events."""
    books = Versions(connection)
    events: list[dict[str, Any]] = []
    changed = 0
    for subject_id, before, after in changed_states(con, version, as_of):
        changed += 1
        previous = books.previous(before.rulebook_version) if before and before.rulebook_version != version else None
        for event in events_between(book, before, after, previous_book=previous):
            events.append(
                {
                    "subject_id": subject_id,
                    "event_type": event.type,
                    "detail": dict(event.detail),
                    "as_of": dt.date.fromisoformat(event.detail["as_of"]),
                    "created_at": now,
                }
            )
    return changed, events


def changed_states(
    con: duckdb.DuckDBPyConnection, version: str, as_of: dt.date
) -> Iterator[tuple[int, ScoreState | None, ScoreState]]:
    """(subject, stored state or None, new state) of each subject whose state changed (``stored``, ``new_states``)."""
    for row in con.execute(_changed_sql(version)).fetchall():
        after = state_of(row[1:6], version, as_of)
        before = state_of(row[8:13], row[7], as_of) if row[6] else None
        if before is None or not before.same_as(after):
            yield int(row[0]), before, after


def _differs_sql(version: str, as_of: dt.date) -> str:
    """The new states that are not already stored, exact as they are (``stored``: the stored rows)."""
    return f"""
    SELECT n.subject_id, n.score, n.grade, n.dimensions, n.lists, n.measures, n.next_change
    FROM new_states n LEFT JOIN stored o ON o.subject_id = n.subject_id
    WHERE o.subject_id IS NULL OR o.rulebook_version <> {lit(version)} OR {_DIFFERENT_STANDING}
       OR json(o.dimensions) <> json(n.dimensions) OR json(o.lists) <> json(n.lists)
       OR json(o.measures) <> json(n.measures) OR CAST(o.as_of AS DATE) > DATE '{as_of.isoformat()}'
       OR CAST(NULLIF(o.next_change, '') AS DATE) IS DISTINCT FROM n.next_change"""


def write_states(
    connection: Connection,
    con: duckdb.DuckDBPyConnection,
    version: str,
    as_of: dt.date,
    now: dt.datetime,
    *,
    only_changed: bool = False,
) -> int:
    """Upsert ``new_states`` into ``current_scores`` in bulk, computed at ``now``; the rows written.

    With ``only_changed``, a subject whose stored row already holds the same
    state and ``next_change`` (stored for an earlier or the same day) is left
    as it is: still exact (:func:`credo.services.realtime_scoring.is_exact`). Only for a
    whole-store rescore: there the records are those the stored states were
    computed from, since every change of records rescored its subjects.
    """
    query = (
        _differs_sql(version, as_of)
        if only_changed
        else "SELECT subject_id, score, grade, dimensions, lists, measures, next_change FROM new_states"
    )
    return insert_select(
        connection,
        con,
        current_scores,
        query,
        constants={"as_of": as_of, "rulebook_version": version, "computed_at": now},
        on_conflict=("subject_id",),
    )


def rescore_many(
    connection: Connection,
    subject_ids: Sequence[int],
    book: Rulebook,
    *,
    version: str,
    today: dt.date,
    now: dt.datetime,
    fresh: FreshSubjects | None = None,
    engine: str = "duckdb",
) -> tuple[int, int]:
    """Real-time scoring of many subjects at once, in the caller's transaction; (changed, events).

    The subjects' latest active records and stored states go to DuckDB as
    Arrow, the store-mode batch plan scores them (``next_change``
    conservative), and the states are upserted in bulk; events only for the
    subjects whose state changed. :func:`credo.services.realtime_scoring.rescore_subjects`
    calls it for large sets.
    """
    con = connect()
    try:
        load_tables(connection, con, subject_ids, fresh)
        found = int(con.execute("SELECT count(*) FROM store_subjects").fetchall()[0][0])
        if found != len(subject_ids):
            missing = len(subject_ids) - found
            raise StoreError(f"cannot score {missing} subject(s) that are not in the store (surrogate ids)")
        score_tables(con, book, today, consent_of(connection, subject_ids), engines.get(engine))
        changed, events = changes(connection, con, book, version=version, as_of=today, now=now)
        write_events(connection, events, bulk=True)
        write_states(connection, con, version, today, now)
    finally:
        con.close()
    return changed, len(events)


# -- the command ----------------------------------------------------------------------------------


def rescore_store(
    store: Store,
    *,
    today: dt.date | None = None,
    engine: str = "duckdb",
    progress: Progress | None = None,
    threads: int | None = None,
) -> RescoreSummary:
    """Rescore every subject of the store at ``today`` with the rulebook in force; write states and events.

    ``engine``: a registered engine's name (:func:`credo.engines.names`) that has no :attr:`Gap.STORE`.
    """
    try:
        scorer = engines.get(engine, threads=threads)
        engines.refuse_gap(scorer, Gap.STORE)
    except EngineError as exc:
        raise StoreError(str(exc)) from None
    say = progress or (lambda _phase: None)
    as_of = today or default_today(store)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    mark = started

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        timings[name] = round(now - mark, 3)
        mark = now

    con = connect(threads)
    try:
        with store.begin() as connection:
            _lock(connection)
            version, book = rulebook_at(connection, as_of)
            say("reading records")
            n_records = load_tables(connection, con, None)
            lap("read")
            say("scoring")
            subjects = score_tables(con, book, as_of, consent_of(connection, None), scorer)
            lap("score")
            say("finding changes")
            now = store.clock()
            _changed, events = changes(connection, con, book, version=version, as_of=as_of, now=now)
            write_events(connection, events, bulk=True)
            lap("events")
            say("writing scores")
            written = write_states(connection, con, version, as_of, now, only_changed=True)
            lap("write")
    finally:
        con.close()
    n_changed = len({e["subject_id"] for e in events})
    return RescoreSummary(
        subjects,
        n_records,
        n_changed,
        len(events),
        version,
        as_of,
        time.perf_counter() - started,
        timings,
        written,
    )
