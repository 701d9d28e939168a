"""``credo batch``: record files in, scores and rejects out, scored by any registered engine.

The files are read and checked once for every engine (:mod:`credo.batch.files`),
the plan runs on the chosen engine (:mod:`credo.engines`), and the Arrow tables
it gives back are written by DuckDB's COPY. On the DuckDB engine no row passes
through Python.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from credo import engines
from credo.batch.files import RecordFiles, connect, load_checked
from credo.batch.plan import batch_plan
from credo.batch.reader import find_files
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


def _writer() -> duckdb.DuckDBPyConnection:
    """A connection that writes Arrow tables out in their order (the engine's)."""
    return duckdb.connect(config={"threads": 1, "preserve_insertion_order": True})


def _write(
    scores: pa.Table, rejects: pa.Table, columns: tuple[str, ...], files: tuple[str, str, str, str], say: Progress
) -> int:
    """Write the engine's scores and rejects (``files``: their paths and formats); the rows of scores written."""
    out, out_fmt, rejects_path, rejects_fmt = files
    con = _writer()
    try:
        con.register("scores", scores)
        con.register("rejects", rejects)
        query = "SELECT * FROM scores"
        if out_fmt == "csv":  # an empty list is an empty cell, as in the published vectors
            cols = ", ".join(f"NULLIF({c}, '') AS {c}" if c in ("lists", "measures", "reasons") else c for c in columns)
            query = f"SELECT {cols} FROM scores"
        say("writing scores")
        written = _copy(con, query, out, out_fmt)
        say("writing rejects")
        _copy(con, "SELECT * FROM rejects", rejects_path, rejects_fmt)
    finally:
        con.close()
    return written


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
    engine: str = "duckdb",
) -> BatchSummary:
    """Score every subject in ``records`` at ``as_of`` on ``engine``; write scores to ``out`` and rejects beside them."""
    started = time.perf_counter()
    say = progress or (lambda _phase: None)
    rejects = rejects or default_rejects_path(out)
    out_fmt = _output_format(out)
    rejects_fmt = _output_format(rejects)
    _refuse_clobbering(records, out, rejects)
    scorer = engines.get(engine, threads=threads)
    say("reading records")
    plan = batch_plan(rulebook, as_of, reasons=reasons)
    say("validating and scoring")
    result = scorer.run(plan, {"checked": RecordFiles(records, rulebook)})
    scores, rejected_rows = result["scores"], result["rejects"]
    subjects = _write(scores, rejected_rows, plan.columns, (out, out_fmt, rejects, rejects_fmt), say)
    read, rejected = int(result["read"].column("rows")[0].as_py()), rejected_rows.num_rows
    return BatchSummary(read, read - rejected, rejected, subjects, time.perf_counter() - started, out, rejects)
