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
   (never later than the exact one of :func:`credo.domain.next_change.next_change`).
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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import duckdb
from sqlalchemy import Connection

from credo import engines
from credo.batch.files import connect
from credo.domain.rulebook import Rulebook
from credo.engines import EngineError, Gap, ScoringEngine
from credo.services.bulk_states import changes, score_tables, write_states
from credo.store import clock
from credo.store.bootstrap import Store
from credo.store.bulk_reads import FreshSubjects, consent_of, lock_writers, read_suppressions, read_tables
from credo.store.errors import StoreError
from credo.store.list_members import write_events
from credo.store.rulebooks import rulebook_at

__all__ = ["RescoreSummary", "default_today", "load_suppressions", "load_tables", "rescore_many", "rescore_store"]

Progress = Callable[[str], None]


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


def load_tables(
    connection: Connection,
    con: duckdb.DuckDBPyConnection,
    subject_ids: Sequence[int] | None,
    fresh: FreshSubjects | None = None,
) -> int:
    """Register ``store_subjects``, ``store_records`` and ``stored`` in DuckDB; the number of records.

    Every subject of the store, or only ``subject_ids`` (:func:`credo.store.bulk_reads.read_tables`).
    """
    tables = read_tables(connection, subject_ids, fresh)
    con.register("store_subjects", tables.subjects)
    con.register("store_records", tables.records)
    con.register("stored", tables.stored)
    return int(tables.records.num_rows)


def load_suppressions(connection: Connection, con: duckdb.DuckDBPyConnection, subject_ids: Sequence[int]) -> None:
    """Register ``held_records`` and ``periods`` in DuckDB for these subjects (a refresh's catch-up).

    What they hold: :func:`credo.store.bulk_reads.read_suppressions`.
    """
    held, periods = read_suppressions(connection, subject_ids)
    con.register("held_records", held)
    con.register("periods", periods)


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
    scorer = _store_engine(engine, threads)
    say = progress or (lambda _phase: None)
    as_of = today or default_today(store)
    started = time.perf_counter()
    lap = _Laps()

    con = connect(threads)
    try:
        with store.begin() as connection:
            lock_writers(connection)
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
    seconds = time.perf_counter() - started
    return RescoreSummary(subjects, n_records, n_changed, len(events), version, as_of, seconds, lap.timings, written)


def _store_engine(engine: str, threads: int | None) -> ScoringEngine:
    """The engine named ``engine``, refused in one line if it is unknown or cannot rescore a store."""
    try:
        scorer = engines.get(engine, threads=threads)
        engines.refuse_gap(scorer, Gap.STORE)
    except EngineError as exc:
        raise StoreError(str(exc)) from None
    return scorer


class _Laps:
    """Seconds per phase, each from the end of the one before (``bench.rescore`` prints them)."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self.mark = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self.mark, 3)
        self.mark = now
