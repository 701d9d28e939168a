"""Files of records into the store (``credo ingest``), and quarantined rows tried again (``credo quarantine retry``).

Both are bulk operations: the rows are read, checked and stored chunk by chunk, each chunk in a transaction of its
own with its subjects rescored (:mod:`credo.services.ingest_pipeline`), so a crash loses at most the chunk under
way. What was done is audited once, at the end, as the operator's act.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy import Connection

from credo.batch.files import connect
from credo.batch.reader import FIELDS, InputError, read_rows
from credo.domain.records import Reason
from credo.services.actor import Actor, operation
from credo.services.ingest_check import check_rows, raw_text
from credo.services.ingest_pipeline import CHUNK_ROWS, IngestSummary, Pipeline, Progress, Rescore
from credo.services.realtime_scoring import rescore_subjects
from credo.services.unit_of_work import audit_afterwards
from credo.store import clock
from credo.store.bootstrap import Store
from credo.store.errors import StoreError
from credo.store.keys import KeyRing
from credo.store.quarantine import SOURCE_NOT_CALLER, api_caller, hold, open_entries, open_rows_of, resolve, still_open
from credo.store.rulebooks import NoActiveRulebookError, rulebook_at
from credo.store.sources import Source, list_sources

__all__ = ["IngestSummary", "RetrySummary", "ingest", "ingest_path", "retry", "retry_quarantine"]


@dataclass
class RetrySummary:
    retried: int = 0
    resolved: int = 0
    still_open: int = 0
    outcome: IngestSummary = field(default_factory=IngestSummary)


def ingest(
    store: Store, operator: Actor, path: str, *, source: str | None = None, progress: Progress | None = None
) -> IngestSummary:
    """Store the records of ``path`` (a file, folder or glob); bad rows go to the quarantine.

    ``source``: take rows of this source only; the others are quarantined.
    """
    summary = ingest_path(store, path, source=source, progress=progress)
    audit_afterwards(store, operation(operator, "records.ingest", summary.audit_detail()))
    return summary


def retry(
    store: Store, operator: Actor, *, today: dt.date | None = None, progress: Progress | None = None
) -> RetrySummary:
    """Process every open quarantined row again (after its source was registered, say); resolve those now stored."""
    result = retry_quarantine(store, today=today, progress=progress)
    detail = {"retried": result.retried, "resolved": result.resolved, "still_open": result.still_open}
    audit_afterwards(store, operation(operator, "quarantine.retry", detail))
    return result


def _prepare(store: Store, today: dt.date | None, forced: str | None) -> tuple[dt.date, dict[str, Source], KeyRing]:
    day = today or clock.today(store.environ)  # CREDO_TODAY or the UTC date, as real-time scoring has it
    with store.begin() as connection:
        ring = store.keys(connection)
        registered = {s.id: s for s in list_sources(connection)}
        try:
            rulebook_at(connection, day)
        except NoActiveRulebookError as exc:
            raise StoreError(
                f"cannot score what is ingested: {exc}; publish and activate a rulebook first "
                "(credo rulebook publish FILE, credo rulebook activate VERSION)"
            ) from None
    if forced is not None and forced not in registered:
        raise StoreError(f"no source {forced} is registered: credo source add {forced} --category PATTERN")
    return day, registered, ring


def ingest_path(
    store: Store,
    path: str,
    *,
    source: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
    today: dt.date | None = None,
    rescore: Rescore | None = None,
    progress: Progress | None = None,
    threads: int | None = None,
) -> IngestSummary:
    """Ingest the record file(s) at ``path`` (see :mod:`credo.services.ingest_pipeline`); InputError or StoreError."""
    started = time.perf_counter()
    day, registered, ring = _prepare(store, today, source)
    con = connect(threads)
    try:
        raw = read_rows(con, path)
        try:
            total = check_rows(con, raw.view, forced=source, registered=registered)  # all before anything is written
        except duckdb.Error as exc:  # e.g. a Parquet file whose pages are damaged
            raise InputError(f"{path}: cannot read: {str(exc).splitlines()[0]}") from None
        summary = IngestSummary(read=total, files=raw.files)
        with store.begin() as connection:
            open_rows = open_rows_of(connection, ring, raw.files)

        def keep(connection: Connection, rows: list[dict[str, Any]], now: dt.datetime) -> int:
            held = [(row["file"], row["row_no"], row["reason"], raw_text(row)) for row in rows]
            fresh = [entry for entry in held if entry not in open_rows]
            hold(connection, ring, fresh, now)
            return len(fresh)

        pipeline = Pipeline(store, con, today=day, rescore=rescore or rescore_subjects, ring=ring)
        pipeline.run(total, chunk_rows, summary, keep, progress=progress)
    finally:
        con.close()
    summary.seconds = time.perf_counter() - started
    return summary


def retry_quarantine(
    store: Store,
    *,
    chunk_rows: int = CHUNK_ROWS,
    today: dt.date | None = None,
    rescore: Rescore | None = None,
    progress: Progress | None = None,
) -> RetrySummary:
    """Process every open quarantined row again, as if received now; resolve those that are now stored.

    A row keeps its quarantine entry: if it still breaks a rule, its reason is
    brought up to date (the first rule it breaks now) and ``retried_at`` set.
    """
    started = time.perf_counter()
    day, registered, ring = _prepare(store, today, None)
    with store.begin() as connection:
        entries = open_entries(connection, ring)
    summary = RetrySummary(retried=len(entries))
    if not entries:
        return summary
    raws = [_as_caller(e.raw, api_caller(e.file)) for e in entries]
    columns: dict[str, pa.Array] = {
        "file": pa.array([e.file for e in entries], pa.string()),
        "file_no": pa.array([0] * len(entries), pa.int32()),
        "row_no": pa.array([e.id for e in entries], pa.int64()),
        "malformed": pa.array([r.get("malformed") for r in raws], pa.string()),
    }
    for name in FIELDS:
        columns[name] = pa.array([None if r.get(name) is None else str(r[name]) for r in raws], pa.string())
    con = connect()
    try:
        con.register("retry_raw", pa.table(columns))
        total = check_rows(con, "retry_raw", forced=None, registered=registered)
        outcome = IngestSummary(read=total)

        def keep(connection: Connection, rows: list[dict[str, Any]], now: dt.datetime) -> int:
            still_open(connection, [(row["row_no"], row["reason"]) for row in rows], now)  # the reason as it is now
            return len(rows)

        pipeline = Pipeline(store, con, today=day, rescore=rescore or rescore_subjects, ring=ring)
        pipeline.run(total, chunk_rows, outcome, keep, accepted=resolve, progress=progress)
    finally:
        con.close()
    outcome.seconds = time.perf_counter() - started
    summary.outcome = outcome
    summary.resolved = outcome.new + outcome.versions + outcome.unchanged
    summary.still_open = outcome.quarantined
    return summary


def _as_caller(raw: dict[str, Any], caller: str | None) -> dict[str, Any]:
    """A quarantined row pushed over the API, checked again as its caller's: its source filled in or held to it.

    A lone surrogate (a push can carry one, a file cannot) is no text DuckDB holds: such a row keeps its reason.
    """
    if raw.get("malformed") is None:
        for name in FIELDS:
            if isinstance(raw.get(name), str) and re.search("[\ud800-\udfff]", raw[name]):
                return {**dict.fromkeys(FIELDS), "malformed": Reason.control(name)}
    if caller is None or raw.get("malformed") is not None:
        return raw
    if raw.get("source") in (None, ""):
        return {**raw, "source": caller}
    if raw["source"] != caller:
        return {**raw, "malformed": SOURCE_NOT_CALLER}
    return raw
