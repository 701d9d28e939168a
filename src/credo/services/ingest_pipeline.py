"""Ingestion: record files into the store, every row exactly one outcome, scores in the same transaction.

Rows are read by the batch reader (:func:`credo.batch.reader.read_rows`) and
checked by the batch engine's SQL (:func:`credo.batch.validation.checked_sql`,
identifiers' check characters included), so a row ``credo batch`` rejects is
quarantined here for the same reason, word for word. Then, in this order
(:func:`credo.services.ingest_check.check_rows`):

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
versions of its (source, record_id) keys, fetched in bulk from the store
(:mod:`credo.store.record_versions`).
Python only hashes and encrypts each new subject (the keys live in Python)
and encrypts quarantined rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

import duckdb
import pyarrow as pa
from sqlalchemy import Connection

from credo.batch.sqltext import EPOCH_SQL
from credo.services.bulk_writes import insert_select
from credo.services.ingest_check import RAW_FIELDS
from credo.store.bootstrap import Store
from credo.store.bulk_reads import FreshSubjects
from credo.store.keys import KeyRing
from credo.store.moves import close_moved_disputes
from credo.store.record_versions import earlier_versions, latest_versions, supersede
from credo.store.subjects import ensure_subjects
from credo.store.tables import records

__all__ = [
    "CHUNK_ROWS",
    "CONTENT_HASH_SQL",
    "Accepted",
    "IngestSummary",
    "Keep",
    "Pipeline",
    "Progress",
    "Rescore",
]

CHUNK_ROWS = 200_000
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


Keep = Callable[[Connection, list[dict[str, Any]], dt.datetime], int]  # quarantines a chunk's bad rows; how many kept
Accepted = Callable[[Connection, list[int], dt.datetime], None]  # told the row_no of a chunk's good rows


class Pipeline:
    """Checked rows in DuckDB (table ``ing``), stored chunk by chunk; one instance per command."""

    def __init__(
        self,
        store: Store,
        con: duckdb.DuckDBPyConnection,
        *,
        today: dt.date,
        rescore: Rescore,
        ring: KeyRing,
    ) -> None:
        self.store, self.con, self.today, self.rescore, self.ring = store, con, today, rescore, ring

    def run(
        self,
        total: int,
        chunk_rows: int,
        summary: IngestSummary,
        keep: Keep,
        *,
        accepted: Accepted | None = None,
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

    def _chunk(self, connection: Connection, summary: IngestSummary, keep: Keep, accepted: Accepted | None) -> None:
        """Store the chunk ``ing_now`` in the caller's transaction: its bad rows, its records, its subjects' scores."""
        now = self.store.clock()
        self._quarantine(connection, summary, keep, now)
        pairs = self.con.execute(
            "SELECT DISTINCT subject_id, subject_kind FROM ing_now WHERE reason IS NULL"
        ).fetchall()
        if not pairs:
            return
        created = self._hash(connection, pairs, now)
        self._classify()
        self._write(connection, summary, now)
        self._rescore(connection, summary, created, now)
        if accepted is not None:
            accepted(connection, [int(r[0]) for r in self.con.execute("SELECT row_no FROM ing_chunk").fetchall()], now)

    def _quarantine(self, connection: Connection, summary: IngestSummary, keep: Keep, now: dt.datetime) -> None:
        """Hand the chunk's bad rows, in input order, to ``keep``, and count them and their reasons."""
        raw_cols = ", ".join(f"raw_{name}" for name in RAW_FIELDS)
        bad = self.con.sql(
            f"SELECT file, row_no, reason, malformed, {raw_cols} FROM ing_now WHERE reason IS NOT NULL ORDER BY seq"
        ).to_arrow_table()
        if bad.num_rows:
            kept = bad.to_pylist()
            summary.quarantined += len(kept)
            summary.already_quarantined += len(kept) - keep(connection, kept, now)
            for row in kept:
                summary.reasons[row["reason"]] = summary.reasons.get(row["reason"], 0) + 1

    def _hash(self, connection: Connection, pairs: list[Any], now: dt.datetime) -> frozenset[int]:
        """Create ``ing_hashed``: the good rows with their subject, content hash and latest stored version.

        Registers ``ing_subj_t``, ``ing_latest_t`` and ``ing_history_t`` for :meth:`_classify` and :meth:`_fresh`;
        returns the subjects this chunk created.
        """
        con = self.con
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
        keys = con.execute("SELECT DISTINCT source, record_id FROM ing_now WHERE reason IS NULL ORDER BY 1, 2")
        con.register("ing_latest_t", latest_versions(connection, keys.fetchall()))
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
        # The earlier stored versions of the records the chunk holds in several versions (few, usually none).
        several = con.execute("""
            SELECT source, record_id FROM ing_hashed WHERE NOT repeat AND old_version >= 2
            GROUP BY ALL HAVING count(*) >= 2 ORDER BY 1, 2""").fetchall()
        con.register("ing_history_t", earlier_versions(connection, several))
        return created

    def _write(self, connection: Connection, summary: IngestSummary, now: dt.datetime) -> None:
        """Count the outcomes of ``ing_chunk``; supersede the latest versions it replaces and write the new ones."""
        con = self.con
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

    def _rescore(
        self, connection: Connection, summary: IngestSummary, created: frozenset[int], now: dt.datetime
    ) -> None:
        """Close the disputes of records that moved to another subject; rescore every subject the chunk touched."""
        con = self.con
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
