"""The first step of ingestion (:mod:`credo.services.ingest_pipeline`): every row read, checked in DuckDB.

A row is checked as ``credo batch`` checks it, then against the sources registered (the order is in that
module's docstring); the reason is NULL for a row that may be stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import duckdb
import pyarrow as pa

from credo.batch.sqltext import EPOCH_SQL, lit
from credo.batch.validation import checked_sql, identifier_problem_sql
from credo.store.sources import SOURCE_ID, Source, source_allows

__all__ = ["RAW_FIELDS", "SOURCE_MISMATCH", "check_rows", "raw_text", "unregistered_source"]

SOURCE_MISMATCH = "source does not match --source"

RAW_FIELDS = {
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


def raw_text(row: Mapping[str, Any]) -> str:
    """A bad row of the pipeline as its raw fields' JSON text, as the quarantine keeps it (encrypted)."""
    raw: dict[str, object] = {name: row[f"raw_{name}"] for name in RAW_FIELDS}
    if row.get("malformed") is not None:
        raw["malformed"] = row["malformed"]
    return json.dumps(raw, ensure_ascii=False, default=str)


def unregistered_source(source: str) -> str:
    """The reason for a row whose source is not registered; names the source only if it looks like an id.

    Reasons never hold identifiers: a value that is all digits (or not a
    source id at all) may be an identifier put in the wrong column.
    """
    if SOURCE_ID.fullmatch(source) and not re.fullmatch(r"[0-9]+", source):
        return f"source {source} is not registered"
    return "source is not registered (not a source id)"


def check_rows(
    con: duckdb.DuckDBPyConnection, view: str, *, forced: str | None, registered: Mapping[str, Source]
) -> int:
    """Create ``ing``: every row of ``view`` with its seq, typed fields and reason (NULL when it may be stored)."""
    types = {row[0]: row[1] for row in con.execute(f"DESCRIBE {view}").fetchall()}
    id_problem = identifier_problem_sql("subject_id", "subject_kind")
    raw = ", ".join(f"CAST(c.{col} AS VARCHAR) AS raw_{name}" for name, col in RAW_FIELDS.items())
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
        + ("" if forced is None else f" AND source = {lit(forced)}")
    ).fetchall()
    allowed = []
    for source_id, category in pairs:
        src = registered.get(source_id)
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
    mismatch = "FALSE" if forced is None else f"r.source <> {lit(forced)}"
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
