"""Reading record files (CSV, JSON Lines, Parquet) into DuckDB, every row kept.

Each row keeps its file and its row number so that a reject can be found in
the file, and a sequence number so that, within a run, a later row is the
later version of a record. Rows that cannot even be split into fields (a CSV
line with the wrong number of cells, a JSON line that is not an object) are
kept too, with a ``malformed`` reason, and become rejects.

Row numbers are line numbers for CSV (the header is line 1) and JSON Lines,
and 1-based row numbers for Parquet. Files of a folder or glob are read in
name order.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

__all__ = ["FIELDS", "FORMATS", "InputError", "RawRows", "find_files", "read_rows"]

FIELDS = (
    "source",
    "record_id",
    "subject_id",
    "subject_kind",
    "category",
    "occurred_on",
    "amount",
    "resolved_on",
    "status",
    "reference",
)
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet", ".pq": "parquet"}


class InputError(Exception):
    """The input cannot be read at all: no such file, unknown format, unreadable bytes."""


@dataclass(frozen=True)
class RawRows:
    """The name of a DuckDB view over every input row, and how many rows it has.

    The view has ``file``, ``row_no``, ``seq``, ``malformed`` and the record
    fields. Fields keep their type from Parquet (a DATE stays a DATE);
    CSV and JSON Lines fields are text.
    """

    view: str
    files: tuple[str, ...]
    rows: int


def find_files(path: str) -> list[str]:
    """A file, every record file in a folder, or every file a glob matches, in name order."""
    if any(ch in path for ch in "*?["):
        files = sorted(f for f in glob.glob(path, recursive=True) if os.path.isfile(f))
    elif os.path.isdir(path):
        files = sorted(str(p) for p in Path(path).rglob("*") if p.is_file() and p.suffix.lower() in FORMATS)
    elif os.path.isfile(path):
        files = [path]
    else:
        raise InputError(f"{path}: no such file or folder")
    if not files:
        raise InputError(f"{path}: no record files found (expected .csv, .jsonl or .parquet)")
    for f in files:
        if Path(f).suffix.lower() not in FORMATS:
            raise InputError(f"{f}: unknown format; use .csv, .jsonl or .parquet")
    return files


def _csv(path: str) -> tuple[pa.Table, list[tuple[int, str]]]:
    """A CSV file as text columns plus the malformed lines (line number, reason)."""
    bad: list[tuple[int | None, str]] = []

    def handler(row: pacsv.InvalidRow) -> str:
        bad.append((row.number, f"malformed CSV row: expected {row.expected_columns} cells, found {row.actual_columns}"))
        return "skip"

    def read(threads: bool) -> pa.Table:
        bad.clear()
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=threads, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=False, ignore_empty_lines=False, invalid_row_handler=handler
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(FIELDS, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )

    table = read(threads=True)
    if bad and any(number is None for number, _ in bad):
        table = read(threads=False)  # line numbers of bad rows are only known single-threaded
    return table, [(int(n or 0), reason) for n, reason in bad]


def _lines(path: str) -> pa.Table:
    """Every line of a text file as one text column, blank lines included."""
    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=["line"], block_size=1 << 24),
        parse_options=pacsv.ParseOptions(
            delimiter="\x1e", quote_char=False, escape_char=False, double_quote=False,
            newlines_in_values=False, ignore_empty_lines=False,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={"line": pa.string()}, strings_can_be_null=False, quoted_strings_can_be_null=False
        ),
    )


def _register_csv(con: duckdb.DuckDBPyConnection, index: int, path: str) -> str:
    table, bad = _csv(path)
    present = set(table.column_names)
    name = f"_in{index}"
    con.register(f"{name}_t", table)
    cells = ", ".join(f'"{f}"' if f in present else f"CAST(NULL AS VARCHAR) AS {f}" for f in FIELDS)
    if not bad:
        row_no = "CAST(rn + 2 AS BIGINT)"  # header is line 1, data row k (0-based) is line k + 2
    else:
        # Valid row k sits after the malformed lines before it; thresholds[i] = line_i - 2 - i.
        thresholds = pa.table({"t": pa.array(sorted(n - 2 - i for i, (n, _) in enumerate(sorted(bad))), pa.int64())})
        con.register(f"{name}_bad_t", thresholds)
        shift = f" + (SELECT count(*) FROM {name}_bad_t b WHERE b.t <= rn)"
        row_no = f"CAST(rn + 2{shift} AS BIGINT)"
        bad_table = pa.table({"row_no": [n for n, _ in bad], "reason": [r for _, r in bad]})
        con.register(f"{name}_badrows_t", bad_table)
    blank = " AND ".join(f"\"{f}\" = ''" for f in FIELDS if f in present) or "FALSE"
    sql = f"""
        SELECT {row_no} AS row_no, CAST(NULL AS VARCHAR) AS malformed, {cells}
        FROM {name}_t POSITIONAL JOIN (SELECT range AS rn FROM range({table.num_rows}))
        WHERE NOT ({blank})"""
    if bad:
        nulls = ", ".join(f"CAST(NULL AS VARCHAR) AS {f}" for f in FIELDS)
        sql += f" UNION ALL SELECT row_no, reason, {nulls} FROM {name}_badrows_t"
    return sql


def _register_jsonl(con: duckdb.DuckDBPyConnection, index: int, path: str) -> str:
    name = f"_in{index}"
    lines = _lines(path)
    con.register(f"{name}_t", lines)
    paths = ", ".join(f"'$.\"{f}\"'" for f in FIELDS)
    cells = ", ".join(f"CASE WHEN ok THEN v[{i + 1}] END AS {f}" for i, f in enumerate(FIELDS))
    return f"""
        SELECT row_no,
               CASE WHEN NOT ok THEN 'malformed JSON line: not a JSON object' END AS malformed,
               {cells}
        FROM (
            SELECT row_no, ok, CASE WHEN ok THEN json_extract_string(line, [{paths}]) END AS v
            FROM (
                SELECT CAST(rn + 1 AS BIGINT) AS row_no, line,
                       json_valid(line) AND json_type(CASE WHEN json_valid(line) THEN line END) = 'OBJECT' AS ok
                FROM {name}_t POSITIONAL JOIN (SELECT range AS rn FROM range({lines.num_rows}))
            )
            WHERE trim(line) <> ''
        )"""


def _register_parquet(con: duckdb.DuckDBPyConnection, path: str) -> str:
    quoted = path.replace("'", "''")
    try:
        columns = {row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{quoted}')").fetchall()}
    except duckdb.Error as exc:
        raise InputError(f"{path}: cannot read as Parquet: {str(exc).splitlines()[0]}") from None
    cells = ", ".join(f'"{f}"' if f in columns else f"CAST(NULL AS VARCHAR) AS {f}" for f in FIELDS)
    return f"""
        SELECT CAST(file_row_number + 1 AS BIGINT) AS row_no, CAST(NULL AS VARCHAR) AS malformed, {cells}
        FROM read_parquet('{quoted}', file_row_number = true)"""


def read_rows(con: duckdb.DuckDBPyConnection, path: str, view: str = "raw_rows") -> RawRows:
    """Create ``view`` over every row of the file(s) at ``path``."""
    files = find_files(path)
    parts = []
    for index, file in enumerate(files):
        kind = FORMATS[Path(file).suffix.lower()]
        try:
            if kind == "csv":
                body = _register_csv(con, index, file)
            elif kind == "jsonl":
                body = _register_jsonl(con, index, file)
            else:
                body = _register_parquet(con, file)
        except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{file}: cannot read as {kind}: {str(exc).splitlines()[0]}") from None
        literal = file.replace("'", "''")
        parts.append(f"SELECT '{literal}' AS file, {index} AS file_no, * FROM ({body})")
    union = " UNION ALL BY NAME ".join(f"({p})" for p in parts) if len(parts) > 1 else parts[0]
    con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {union}").fetchall()
    names = pa.table({"file_no": pa.array(range(len(files)), pa.int32()), "file": pa.array(files, pa.string())})
    con.execute("CREATE OR REPLACE TEMP TABLE input_files AS SELECT * FROM names").fetchall()
    try:
        rows = con.execute(f"SELECT count(*) FROM {view}").fetchall()[0]
    except duckdb.Error as exc:
        raise InputError(f"{path}: cannot read: {str(exc).splitlines()[0]}") from None
    return RawRows(view, tuple(files), int(rows[0]) if rows else 0)
