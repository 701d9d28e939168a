"""A large synthetic population for benchmarks, generated in DuckDB SQL.

Not the demo town (see credo.demo): a flat, fast generator with an exact
record and subject count, so runs of different sizes compare. Identifiers
are valid (check characters computed in SQL), so the validation path does
its full work.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from credo.batch.sqlids import org_code_check_sql, resident_id_check_sql, uscc_check_sql
from credo.domain.rulebook import Rulebook

__all__ = ["generate_population"]


def _u(expr: str, salt: int) -> str:
    """A deterministic pseudo-random integer in [0, 2^31) from an integer expression."""
    return f"(hash({expr}, {salt}) % 2147483648)"


def generate_population(path: Path, book: Rulebook, records: int, subjects: int, as_of: dt.date) -> None:
    """Write ``records`` records of ``subjects`` subjects (9 in 10 persons) to a Parquet file."""
    by_kind = {k: [r.category for r in book.rules if k in r.applies_to] for k in ("person", "organization")}
    people, orgs = (("[" + ", ".join(f"'{c}'" for c in by_kind[k]) + "]", len(by_kind[k])) for k in by_kind)
    person17 = (
        "(['110101', '310104', '440305', '510107', '371082'])[1 + i % 5] || "
        f"strftime(DATE '1950-01-01' + CAST({_u('i', 1)} % 20000 AS INTEGER), '%Y%m%d') || "
        "lpad(CAST(i // 5 % 1000 AS VARCHAR), 3, '0')"
    )
    org8 = "lpad(CAST(i AS VARCHAR), 8, '0')"
    con = duckdb.connect()
    con.execute(
        f"""CREATE TABLE subjects AS
        SELECT i,
               CASE WHEN i % 10 = 0 THEN 'organization' ELSE 'person' END AS kind,
               CASE WHEN i % 10 = 0
                    THEN '91110101' || {org8} || {org_code_check_sql(org8)}
                    ELSE {person17} END AS first17
        FROM range({subjects}) t(i)"""
    ).fetchall()
    con.execute(
        f"""CREATE TABLE subjects2 AS
        SELECT i, kind, first17 || CASE WHEN kind = 'person' THEN {resident_id_check_sql("first17")}
                                        ELSE {uscc_check_sql("first17")} END AS subject_id
        FROM subjects"""
    ).fetchall()
    t0 = as_of.isoformat()
    con.execute(
        f"""COPY (
        SELECT split_part(c, '.', 1) || '-source' AS source,
               'R' || lpad(CAST(r AS VARCHAR), 10, '0') AS record_id,
               s.subject_id, s.kind AS subject_kind, c AS category,
               DATE '{t0}' - CAST({_u("r", 3)} % 1100 AS INTEGER) + 10 AS occurred_on,
               CASE WHEN {_u("r", 4)} % 3 = 0 THEN round(({_u("r", 5)} % 20000000) / 100.0, 2) END AS amount,
               CASE WHEN {_u("r", 6)} % 4 = 0
                    THEN DATE '{t0}' - CAST({_u("r", 3)} % 1100 AS INTEGER) + 10
                         + CAST({_u("r", 7)} % 200 AS INTEGER) END AS resolved_on,
               CASE WHEN {_u("r", 8)} % 50 = 0 THEN 'withdrawn' ELSE 'active' END AS status,
               NULL::VARCHAR AS reference
        FROM (
            SELECT x.r, s.subject_id, s.kind, s.cats[1 + CAST(x.pick % s.n_cats AS INTEGER)] AS c
            FROM (SELECT r, {_u("r", 2)} % {subjects} AS sid, {_u("r", 9)} AS pick FROM range({records}) t(r)) x
            JOIN (SELECT *, CASE WHEN kind = 'person' THEN {people[0]} ELSE {orgs[0]} END AS cats,
                            CASE WHEN kind = 'person' THEN {people[1]} ELSE {orgs[1]} END AS n_cats
                  FROM subjects2) s ON s.i = x.sid
        ) s
        ) TO '{path}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)"""
    ).fetchall()
    con.close()
