"""Ingestion: record files into the store, every row exactly one outcome, scores in the same transaction.

Rows are read by the batch reader (:func:`credo.batch.reader.read_rows`) and
checked by the batch engine's SQL (:func:`credo.batch.validation.checked_sql`,
identifiers' check characters included), so a row ``credo batch`` rejects is
quarantined here for the same reason, word for word. Then, in this order:

* with ``--source``, a row naming another source: ``source does not match --source``;
* otherwise the row's source must be registered (``source X is not registered``);
* the source must be enabled and registered for the category
  (:func:`credo.store.sources.source_allows`).

Every row ends in exactly one outcome (docs/store.md, "Ingestion"):

``new``        the first version of a (source, record_id)
``version``    other content than the latest version: a new row, ``version + 1``, ``is_latest``
``unchanged``  the same content hash as the latest version: nothing is written
``quarantined``  kept in ``quarantine`` with file, row number, reason and the raw row encrypted

The whole input is read and checked in DuckDB before anything is written (a
file that cannot be read is refused whole). Then it is stored in chunks of
:data:`CHUNK_ROWS` rows; each chunk is ONE transaction that stores its records
and quarantined rows AND rescores every subject it touched
(:func:`credo.services.realtime_scoring.rescore_subjects`). A crash leaves whole chunks
with their scores; re-running the same ingest finds them ``unchanged`` and
completes the rest.

Classification happens in DuckDB: each chunk is joined with the latest
versions of its (source, record_id) keys, fetched in bulk from the store.
Python only hashes and encrypts each new subject (the keys live in Python)
and encrypts quarantined rows.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import duckdb
import pyarrow as pa
from sqlalchemy import Connection

from credo.batch.files import connect
from credo.batch.reader import FIELDS, InputError, read_rows
from credo.batch.sqltext import EPOCH_SQL, lit
from credo.batch.validation import checked_sql, identifier_problem_sql
from credo.domain.records import Reason
from credo.services.bulk_writes import insert_select
from credo.services.realtime_scoring import rescore_subjects
from credo.store import clock
from credo.store.bootstrap import Store
from credo.store.bulk_scoring import FreshSubjects
from credo.store.errors import StoreError
from credo.store.keys import KeyRing
from credo.store.moves import close_moved_disputes
from credo.store.quarantine import SOURCE_NOT_CALLER, api_caller, hold, open_entries, open_rows_of, resolve, still_open
from credo.store.record_versions import earlier_versions, latest_versions, supersede
from credo.store.rulebooks import NoActiveRulebookError, rulebook_at
from credo.store.sources import SOURCE_ID, Source, list_sources, source_allows
from credo.store.subjects import ensure_subjects
from credo.store.tables import records

__all__ = [
    "CHUNK_ROWS",
    "CONTENT_HASH_SQL",
    "SOURCE_MISMATCH",
    "IngestSummary",
    "Rescore",
    "RetrySummary",
    "ingest_path",
    "retry_quarantine",
    "unregistered_source",
]

CHUNK_ROWS = 200_000
SOURCE_MISMATCH = "source does not match --source"
ANALYZE_FROM = 20_000  # records written by a chunk from which PostgreSQL's statistics are renewed

# The content hash of a record version, in ONE place (docs/store.md, "Ingestion"): SHA-256 of a version
# tag and the record's fields joined by U+001F, an absent value written U+001E. The subject is its
# surrogate id in this store, never the identifier: an unkeyed hash over an identifier and fields kept
# in the clear beside it could be reversed by trying every identifier. received_at is not part of it.
# Dates are ISO text, the amount the double as printf's %.17g (exact, and the same on every platform).
_ABSENT = "chr(30)"
CONTENT_HASH_SQL = f"""unhex(sha256(concat_ws(chr(31), 'credo-record-v1', source, record_id,
    CAST(subject_pk AS VARCHAR), category, CAST(occurred_on AS VARCHAR),
    coalesce(printf('%.17g', amount), {_ABSENT}), coalesce(CAST(resolved_on AS VARCHAR), {_ABSENT}),
    status, coalesce(reference, {_ABSENT}))))"""


class Rescore(Protocol):
    """Rescores subjects in the caller's transaction (:func:`credo.services.realtime_scoring.rescore_subjects`)."""

    def __call__(
        self, connection: Connection, subject_ids: Collection[int], today: dt.date, /, *, fresh: FreshSubjects | None
    ) -> object: ...


Progress = Callable[[int, int], None]  # rows done, rows in all


@dataclass
class IngestSummary:
    """What happened to every row read: ``read = new + versions + unchanged + quarantined``."""

    read: int = 0
    new: int = 0
    versions: int = 0
    unchanged: int = 0
    quarantined: int = 0
    already_quarantined: int = 0  # of ``quarantined``: the same row is still open in the quarantine
    subjects_rescored: int = 0
    chunks: int = 0
    seconds: float = 0.0
    files: tuple[str, ...] = ()
    reasons: dict[str, int] = field(default_factory=dict)  # quarantine reasons and how many rows each

    @property
    def adds_up(self) -> bool:
        return self.read == self.new + self.versions + self.unchanged + self.quarantined

    def audit_detail(self) -> dict[str, int]:
        """The counts a ``records.ingest`` audit entry keeps (no record content)."""
        return {
            "files": len(self.files),
            "read": self.read,
            "new": self.new,
            "versions": self.versions,
            "unchanged": self.unchanged,
            "quarantined": self.quarantined,
            "subjects_rescored": self.subjects_rescored,
        }


@dataclass
class RetrySummary:
    retried: int = 0
    resolved: int = 0
    still_open: int = 0
    outcome: IngestSummary = field(default_factory=IngestSummary)


def unregistered_source(source: str) -> str:
    """The reason for a row whose source is not registered; names the source only if it looks like an id.

    Reasons never hold identifiers: a value that is all digits (or not a
    source id at all) may be an identifier put in the wrong column.
    """
    if SOURCE_ID.fullmatch(source) and not re.fullmatch(r"[0-9]+", source):
        return f"source {source} is not registered"
    return "source is not registered (not a source id)"


def _default_rescore() -> Rescore:
    return rescore_subjects


def store_today(store: Store) -> dt.date:
    """Today for real-time scoring (:func:`credo.store.clock.today`: ``CREDO_TODAY`` or the UTC date)."""
    return clock.today(store.environ)


def _raw_json(raw: Mapping[str, object]) -> str:
    """The raw row as stored (encrypted) in the quarantine: the encoding of quarantine_row."""
    return json.dumps(dict(raw), ensure_ascii=False, default=str)


_RAW_FIELDS = {
    "source": "source",
    "record_id": "record_id",
    "subject_id": "subject_id",
    "subject_kind": "subject_kind",
    "category": "category",
    "occurred_on": "raw_occurred_on",
    "amount": "raw_amount",
    "resolved_on": "raw_resolved_on",
    "status": "raw_status",
    "reference": "reference",
}


class _Pipeline:
    """Checked rows in DuckDB (table ``ing``), stored chunk by chunk; one instance per command."""

    def __init__(
        self,
        store: Store,
        con: duckdb.DuckDBPyConnection,
        *,
        today: dt.date,
        rescore: Rescore,
        forced: str | None,
        registered: Mapping[str, Source],
        ring: KeyRing,
    ) -> None:
        self.store, self.con, self.today, self.rescore = store, con, today, rescore
        self.forced, self.registered, self.ring = forced, registered, ring

    def check(self, view: str) -> int:
        """Create ``ing``: every row of ``view`` with its seq, typed fields and reason (NULL when it may be stored)."""
        con = self.con
        types = {row[0]: row[1] for row in con.execute(f"DESCRIBE {view}").fetchall()}
        id_problem = identifier_problem_sql("subject_id", "subject_kind")
        raw = ", ".join(f"CAST(c.{col} AS VARCHAR) AS raw_{name}" for name, col in _RAW_FIELDS.items())
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE ing_rows AS
            WITH c AS (SELECT *, row_number() OVER (ORDER BY file_no, row_no) AS seq FROM ({checked_sql(view, types)})),
            ids AS (SELECT subject_id AS i_sid, subject_kind AS i_kind, {id_problem} AS id_problem
                    FROM (SELECT DISTINCT subject_id, subject_kind FROM c WHERE pre_reason IS NULL))
            SELECT c.seq, c.file, c.file_no, c.row_no,
                   coalesce(c.pre_reason, ids.id_problem, c.post_reason) AS row_reason,
                   c.source, c.record_id, c.subject_id, c.subject_kind, c.category,
                   {EPOCH_SQL} + CAST(c.occ AS INTEGER) AS occurred_on, c.amount,
                   {EPOCH_SQL} + CAST(c.res AS INTEGER) AS resolved_on, c.status,
                   NULLIF(CAST(c.reference AS VARCHAR), '') AS reference, {raw}
            FROM c LEFT JOIN ids ON ids.i_sid = c.subject_id AND ids.i_kind = c.subject_kind
                                    AND c.pre_reason IS NULL""").fetchall()
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE ing_malformed AS
            SELECT file_no, row_no, malformed FROM {view} WHERE malformed IS NOT NULL""").fetchall()
        pairs = con.execute(
            "SELECT DISTINCT source, category FROM ing_rows WHERE row_reason IS NULL"
            + ("" if self.forced is None else f" AND source = {lit(self.forced)}")
        ).fetchall()
        allowed = []
        for source_id, category in pairs:
            src = self.registered.get(source_id)
            allowed.append(unregistered_source(source_id) if src is None else source_allows(src, category))
        con.register(
            "ing_allowed_t",
            pa.table(
                {
                    "source": pa.array([p[0] for p in pairs], pa.string()),
                    "category": pa.array([p[1] for p in pairs], pa.string()),
                    "reason": pa.array(allowed, pa.string()),
                }
            ),
        )
        mismatch = "FALSE" if self.forced is None else f"r.source <> {lit(self.forced)}"
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE ing AS
            SELECT r.*, m.malformed,
                   CASE WHEN r.row_reason IS NOT NULL THEN r.row_reason
                        WHEN {mismatch} THEN {lit(SOURCE_MISMATCH)}
                        ELSE a.reason END AS reason
            FROM ing_rows r
            LEFT JOIN ing_allowed_t a ON a.source = r.source AND a.category = r.category
            LEFT JOIN ing_malformed m ON m.file_no = r.file_no AND m.row_no = r.row_no
            ORDER BY r.seq""").fetchall()
        con.execute("DROP TABLE ing_rows").fetchall()
        return int(con.execute("SELECT count(*) FROM ing").fetchall()[0][0])

    def run(
        self,
        total: int,
        chunk_rows: int,
        summary: IngestSummary,
        keep: Callable[[Connection, list[dict[str, Any]], dt.datetime], int],
        *,
        accepted: Callable[[Connection, list[int], dt.datetime], None] | None = None,
        progress: Progress | None = None,
    ) -> None:
        """Store ``ing`` chunk by chunk, one transaction each (records, quarantine, scores).

        Good rows are chunked by subject: a record goes with the subject its
        first row names, and all the rows of a subject, in input order, go in
        the same chunk of about ``chunk_rows`` rows. So a record's rows of one
        input are always decided together (see :meth:`_classify`), and each
        subject is rescored once per ingest, however its rows are spread over
        the input (a record moved to another subject touches both). Quarantined
        rows are chunked by their place in the input.
        """
        self.con.execute(f"""
            CREATE OR REPLACE TEMP TABLE ing_chunks AS
            WITH good AS (
                SELECT seq, source, record_id,
                       arg_min(subject_id, seq) OVER r AS a_sid, arg_min(subject_kind, seq) OVER r AS a_kind
                FROM ing WHERE reason IS NULL
                WINDOW r AS (PARTITION BY source, record_id)),
            groups AS (
                SELECT a_sid, a_kind, min(seq) AS first_seq, count(*) AS n FROM good GROUP BY ALL),
            placed AS (
                SELECT a_sid, a_kind, (sum(n) OVER (ORDER BY first_seq) - n) // {chunk_rows} AS chunk_no FROM groups)
            SELECT g.seq, p.chunk_no FROM good g JOIN placed p ON p.a_sid = g.a_sid AND p.a_kind = g.a_kind
            UNION ALL
            SELECT seq, (seq - 1) // {chunk_rows} AS chunk_no FROM ing WHERE reason IS NOT NULL""").fetchall()
        sizes = self.con.execute("SELECT chunk_no, count(*) FROM ing_chunks GROUP BY 1 ORDER BY 1").fetchall()
        done = 0
        for chunk_no, size in sizes:
            where = f"seq IN (SELECT seq FROM ing_chunks WHERE chunk_no = {int(chunk_no)})"
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE ing_now AS SELECT * FROM ing WHERE {where}").fetchall()
            with self.store.begin() as connection:
                self._chunk(connection, summary, keep, accepted)
            summary.chunks += 1
            done += int(size)
            if progress is not None:
                progress(done, total)

    def _chunk(
        self,
        connection: Connection,
        summary: IngestSummary,
        keep: Callable[[Connection, list[dict[str, Any]], dt.datetime], int],
        accepted: Callable[[Connection, list[int], dt.datetime], None] | None,
    ) -> None:
        con, now = self.con, self.store.clock()
        raw_cols = ", ".join(f"raw_{name}" for name in _RAW_FIELDS)
        bad = con.sql(
            f"SELECT file, row_no, reason, malformed, {raw_cols} FROM ing_now WHERE reason IS NOT NULL ORDER BY seq"
        ).to_arrow_table()
        if bad.num_rows:
            kept = bad.to_pylist()
            summary.quarantined += len(kept)
            summary.already_quarantined += len(kept) - keep(connection, kept, now)
            for row in kept:
                summary.reasons[row["reason"]] = summary.reasons.get(row["reason"], 0) + 1
        pairs = con.execute("SELECT DISTINCT subject_id, subject_kind FROM ing_now WHERE reason IS NULL").fetchall()
        if not pairs:
            return
        ids, created = ensure_subjects(connection, self.ring, [(str(s), str(k)) for s, k in pairs], now)
        con.register(
            "ing_subj_t",
            pa.table(
                {
                    "subject_id": pa.array([p[0] for p in pairs], pa.string()),
                    "subject_kind": pa.array([p[1] for p in pairs], pa.string()),
                    "subject_pk": pa.array(ids, pa.int64()),
                }
            ),
        )
        con.register("ing_latest_t", self._latest(connection))
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE ing_hashed AS
            WITH g AS (
                SELECT i.seq, i.row_no, i.source, i.record_id, s.subject_pk, i.category, i.occurred_on, i.amount,
                       i.resolved_on, i.status, i.reference
                FROM ing_now i JOIN ing_subj_t s ON s.subject_id = i.subject_id AND s.subject_kind = i.subject_kind
                WHERE i.reason IS NULL),
            h AS (SELECT *, {CONTENT_HASH_SQL} AS content_hash FROM g)
            SELECT h.*, coalesce(lag(h.content_hash) OVER w = h.content_hash, FALSE) AS repeat,
                   l.old_id, l.old_version, l.old_subject
            FROM h LEFT JOIN ing_latest_t l ON l.source = h.source AND l.record_id = h.record_id
            WINDOW w AS (PARTITION BY h.source, h.record_id ORDER BY h.seq)""").fetchall()
        con.register("ing_history_t", self._history(connection))
        self._classify()
        counts = dict(con.execute("SELECT outcome, count(*) FROM ing_chunk GROUP BY outcome").fetchall())
        summary.new += int(counts.get("new", 0))
        summary.versions += int(counts.get("version", 0))
        summary.unchanged += int(counts.get("unchanged", 0))
        superseded = [
            int(r[0])
            for r in con.execute(
                "SELECT DISTINCT old_id FROM ing_chunk WHERE outcome <> 'unchanged' AND old_id IS NOT NULL"
            ).fetchall()
        ]
        supersede(connection, superseded)
        written = insert_select(
            connection,
            con,
            records,
            """SELECT source AS source_id, record_id,
                   CAST(coalesce(old_version, 0) + row_number() OVER w AS INTEGER) AS version,
                   subject_pk AS subject_id, category, occurred_on, amount, resolved_on, status, reference,
                   content_hash, row_number() OVER (PARTITION BY source, record_id ORDER BY seq DESC) = 1 AS is_latest
            FROM ing_chunk WHERE outcome <> 'unchanged'
            WINDOW w AS (PARTITION BY source, record_id ORDER BY seq)
            ORDER BY subject_pk, seq""",
            constants={"received_at": now},
        )
        if written >= ANALYZE_FROM and connection.dialect.name == "postgresql":
            # The planner's statistics of a table that grew in bulk, so the next lookups use both key columns
            # (seen: a million-row first ingest spent minutes scanning a source's records without it).
            connection.exec_driver_sql("ANALYZE records, subjects")
        moved = con.execute("""
            SELECT source, record_id, subject_pk
            FROM (SELECT *, row_number() OVER (PARTITION BY source, record_id ORDER BY seq DESC) AS last
                  FROM ing_chunk WHERE outcome <> 'unchanged')
            WHERE last = 1 AND old_subject IS NOT NULL AND subject_pk <> old_subject""").fetchall()
        close_moved_disputes(connection, [(s, r, int(pk)) for s, r, pk in moved], today=self.today, now=now)
        touched = [
            int(r[0])
            for r in con.execute("""
                SELECT subject_pk FROM ing_chunk WHERE outcome <> 'unchanged'
                UNION SELECT old_subject FROM ing_chunk WHERE outcome <> 'unchanged' AND old_subject IS NOT NULL
                ORDER BY 1""").fetchall()
        ]
        if touched:
            self.rescore(connection, touched, self.today, fresh=self._fresh(created))
            summary.subjects_rescored += len(touched)
        if accepted is not None:
            accepted(connection, [int(r[0]) for r in con.execute("SELECT row_no FROM ing_chunk").fetchall()], now)

    def _fresh(self, created: frozenset[int]) -> FreshSubjects | None:
        """The subjects this chunk created, with their records: all they have, so rescoring needn't read them back."""
        if not created:
            return None
        self.con.register("ing_created_t", pa.table({"ka": pa.array(sorted(created), pa.int64())}))
        subjects_t = self.con.sql("""
            SELECT DISTINCT c.ka, CASE WHEN s.subject_kind = 'person' THEN 0 ELSE 1 END AS kb
            FROM ing_created_t c JOIN ing_subj_t s ON s.subject_pk = c.ka ORDER BY 1""").to_arrow_table()
        records_t = self.con.sql(f"""
            SELECT subject_pk AS ka, source, record_id, category, occurred_on - {EPOCH_SQL} AS occ,
                   resolved_on - {EPOCH_SQL} AS res, amount
            FROM (SELECT *, row_number() OVER (PARTITION BY source, record_id ORDER BY seq DESC) AS last
                  FROM ing_chunk WHERE outcome <> 'unchanged')
            WHERE last = 1 AND status = 'active' AND subject_pk IN (SELECT ka FROM ing_created_t)""").to_arrow_table()
        return FreshSubjects(subjects_t, records_t)

    def _classify(self) -> None:
        """Create ``ing_chunk``: the chunk's good rows with their outcome, new, version or unchanged.

        A row equal to the row before it (of the same record, in this input)
        is a re-send. Of the other rows, the longest run at the start that
        equals the latest stored versions, in order, is a re-send too: so
        running the same input again, whole or after a crash part-way, writes
        nothing twice, even for a record the input holds in several versions.
        Every row after that run is a new version (or, with nothing stored, the
        first is the new record). With one row per record this is simply: the
        same content hash as the latest version, or not.
        """
        self.con.execute("""
            CREATE OR REPLACE TEMP TABLE ing_chunk AS
            WITH d AS (
                SELECT seq, source, record_id, content_hash, old_version,
                       row_number() OVER (PARTITION BY source, record_id ORDER BY seq) AS j,
                       count(*) OVER (PARTITION BY source, record_id) AS n
                FROM ing_hashed WHERE NOT repeat),
            hist AS (
                SELECT source, record_id, old_version AS version, old_hash AS content_hash FROM ing_latest_t
                UNION ALL SELECT source, record_id, version, content_hash FROM ing_history_t),
            keys AS (SELECT source, record_id, max(n) AS n, max(old_version) AS m FROM d GROUP BY ALL),
            cand AS (
                SELECT source, record_id, m, unnest(range(1, least(n, coalesce(m, 0)) + 1)) AS k FROM keys),
            fits AS (
                SELECT c.source, c.record_id, c.k
                FROM cand c
                JOIN d ON d.source = c.source AND d.record_id = c.record_id AND d.j <= c.k
                LEFT JOIN hist s ON s.source = c.source AND s.record_id = c.record_id AND s.version = c.m - c.k + d.j
                GROUP BY c.source, c.record_id, c.k
                HAVING count(*) FILTER (WHERE s.content_hash = d.content_hash) = c.k),
            ok AS (SELECT source, record_id, max(k) AS k FROM fits GROUP BY ALL)
            SELECT h.*,
                   CASE WHEN h.repeat OR d.j <= coalesce(ok.k, 0) THEN 'unchanged'
                        WHEN h.old_id IS NULL AND d.j = 1 THEN 'new'
                        ELSE 'version' END AS outcome
            FROM ing_hashed h
            LEFT JOIN d ON d.seq = h.seq
            LEFT JOIN ok ON ok.source = h.source AND ok.record_id = h.record_id""").fetchall()

    def _history(self, connection: Connection) -> pa.Table:
        """The earlier stored versions of the records the chunk holds in several versions (few, usually none)."""
        keys = self.con.execute("""
            SELECT source, record_id FROM ing_hashed WHERE NOT repeat AND old_version >= 2
            GROUP BY ALL HAVING count(*) >= 2 ORDER BY 1, 2""").fetchall()
        return earlier_versions(connection, keys)

    def _latest(self, connection: Connection) -> pa.Table:
        """The latest stored version of every (source, record_id) of the chunk, fetched in bulk."""
        keys = self.con.execute(
            "SELECT DISTINCT source, record_id FROM ing_now WHERE reason IS NULL ORDER BY 1, 2"
        ).fetchall()
        return latest_versions(connection, keys)


def _raw_of(row: Mapping[str, Any]) -> dict[str, object]:
    raw: dict[str, object] = {name: row[f"raw_{name}"] for name in _RAW_FIELDS}
    if row.get("malformed") is not None:
        raw["malformed"] = row["malformed"]
    return raw


def _prepare(store: Store, today: dt.date | None, forced: str | None) -> tuple[dt.date, dict[str, Source], KeyRing]:
    day = today or store_today(store)
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
    """Ingest the record file(s) at ``path``; see the module docstring. Raises InputError or StoreError."""
    started = time.perf_counter()
    day, registered, ring = _prepare(store, today, source)
    con = connect(threads)
    try:
        raw = read_rows(con, path)
        pipeline = _Pipeline(
            store,
            con,
            today=day,
            rescore=rescore or _default_rescore(),
            forced=source,
            registered=registered,
            ring=ring,
        )
        try:
            total = pipeline.check(raw.view)  # every row read and checked before anything is written
        except duckdb.Error as exc:  # e.g. a Parquet file whose pages are damaged
            raise InputError(f"{path}: cannot read: {str(exc).splitlines()[0]}") from None
        summary = IngestSummary(read=total, files=raw.files)
        with store.begin() as connection:
            open_rows = open_rows_of(connection, ring, raw.files)

        def keep(connection: Connection, rows: list[dict[str, Any]], now: dt.datetime) -> int:
            held = [(row["file"], row["row_no"], row["reason"], _raw_json(_raw_of(row))) for row in rows]
            fresh = [entry for entry in held if entry not in open_rows]
            hold(connection, ring, fresh, now)
            return len(fresh)

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
        pipeline = _Pipeline(
            store,
            con,
            today=day,
            rescore=rescore or _default_rescore(),
            forced=None,
            registered=registered,
            ring=ring,
        )
        total = pipeline.check("retry_raw")
        outcome = IngestSummary(read=total)

        def keep(connection: Connection, rows: list[dict[str, Any]], now: dt.datetime) -> int:
            still_open(connection, [(row["row_no"], row["reason"]) for row in rows], now)  # the reason as it is now
            return len(rows)

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
