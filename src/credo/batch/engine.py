"""Running the scoring plan on DuckDB: files in, scores and rejects out.

No per-row Python: rows are read by Arrow or DuckDB, validated and scored by
SQL, and written by DuckDB's COPY.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from credo.batch.plan import compile_plan
from credo.batch.reader import InputError, find_files, read_rows
from credo.batch.validation import checked_sql
from credo.domain.rulebook import Rulebook
from credo.errors import OutputError

__all__ = [
    "OUTPUT_FORMATS",
    "BatchSummary",
    "OutputError",
    "connect",
    "default_rejects_path",
    "load_checked",
    "run_batch",
]

OUTPUT_FORMATS = {".csv": "csv", ".jsonl": "json", ".ndjson": "json", ".json": "json", ".parquet": "parquet"}
Progress = Callable[[str], None]


@dataclass(frozen=True)
class BatchSummary:
    read: int
    accepted: int
    rejected: int
    subjects: int
    seconds: float
    out: str
    rejects: str


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"threads": threads or os.cpu_count() or 1, "preserve_insertion_order": False})
    return con


def _output_format(path: str) -> str:
    fmt = OUTPUT_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise OutputError(f"{path}: unknown output format; use .csv, .jsonl or .parquet")
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise OutputError(f"{path}: folder {folder} does not exist")
    return fmt


def _refuse_clobbering(records: str, out: str, rejects: str) -> None:
    """Outputs may not replace an input file or each other: records and scores would be lost."""
    if Path(out).resolve() == Path(rejects).resolve():
        raise OutputError(f"{out}: scores and rejects would be the same file; give --rejects another path")
    inputs = {Path(f).resolve() for f in find_files(records)}
    for path in (out, rejects):
        if Path(path).resolve() in inputs:
            raise OutputError(f"{path}: is one of the record files being read; write the output somewhere else")


def default_rejects_path(out: str) -> str:
    """Rejects go beside the output unless told otherwise: never dropped."""
    p = Path(out)
    return str(p.with_name(p.stem + ".rejects.csv"))


def _copy(con: duckdb.DuckDBPyConnection, query: str, path: str, fmt: str) -> int:
    """Write the query's rows to ``path``; return how many were written."""
    quoted = path.replace("'", "''")
    options = {"csv": "FORMAT csv, HEADER true", "json": "FORMAT json", "parquet": "FORMAT parquet, COMPRESSION zstd"}
    try:
        written = con.execute(f"COPY ({query}) TO '{quoted}' ({options[fmt]})").fetchall()
    except duckdb.IOException as exc:
        raise OutputError(f"{path}: cannot write: {str(exc).splitlines()[0]}") from None
    return int(written[0][0])


def load_checked(con: duckdb.DuckDBPyConnection, records: str, rulebook: Rulebook | None = None) -> int:
    """Create the view ``checked`` over every row of ``records``; return how many rows were read."""
    raw = read_rows(con, records)
    types = {row[0]: row[1] for row in con.execute(f"DESCRIBE {raw.view}").fetchall()}
    known = [rule.category for rule in rulebook.rules] if rulebook else []
    con.execute(f"CREATE OR REPLACE TEMP VIEW checked AS {checked_sql(raw.view, types, known)}").fetchall()
    return raw.rows


def run_batch(
    records: str,
    rulebook: Rulebook,
    as_of: dt.date,
    out: str,
    *,
    rejects: str | None = None,
    reasons: bool = False,
    progress: Progress | None = None,
    threads: int | None = None,
) -> BatchSummary:
    """Score every subject in ``records`` at ``as_of``; write scores to ``out`` and rejects beside them."""
    started = time.perf_counter()
    say = progress or (lambda _phase: None)
    rejects = rejects or default_rejects_path(out)
    out_fmt = _output_format(out)
    rejects_fmt = _output_format(rejects)
    _refuse_clobbering(records, out, rejects)
    con = connect(threads)
    try:
        say("reading records")
        read = load_checked(con, records, rulebook)
        say("validating and scoring")
        plan = compile_plan(rulebook, as_of, reasons=reasons)
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE batch_rows AS {plan.rows_sql}").fetchall()
        except duckdb.Error as exc:  # e.g. a Parquet file whose pages are damaged
            raise InputError(f"{records}: cannot read: {str(exc).splitlines()[0]}") from None
        con.execute(f"CREATE OR REPLACE TEMP TABLE subject_scores AS {plan.subjects_sql}").fetchall()
        say("writing scores")
        query = plan.output_sql
        if out_fmt == "csv":  # an empty list is an empty cell, as in the published vectors
            cols = ", ".join(
                f"NULLIF({c}, '') AS {c}" if c in ("lists", "measures", "reasons") else c for c in plan.columns
            )
            query = f"SELECT {cols} FROM ({query})"
        subjects = _copy(con, f"{query} ORDER BY subject_id, subject_kind", out, out_fmt)
        say("writing rejects")
        rejected = _copy(con, plan.rejects_sql, rejects, rejects_fmt)
    finally:
        con.close()
    return BatchSummary(read, read - rejected, rejected, subjects, time.perf_counter() - started, out, rejects)
