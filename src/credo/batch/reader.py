"""Reading record files (CSV, JSON Lines, Parquet) into DuckDB, every row kept.

Each row keeps its file and its row number so that a reject can be found in
the file, and a sequence number so that, within a run, a later row is the
later version of a record. Rows that cannot even be split into fields (a CSV
line with the wrong number of cells, a JSON line that is not an object) are
kept too, with a ``malformed`` reason, and become rejects.

Row numbers are line numbers for CSV (the header is line 1; a row whose
quoted value spans lines is numbered by its first line) and JSON Lines, and
1-based row numbers for Parquet. Blank lines are skipped but counted. An
empty (zero-byte) CSV or JSON Lines file has no rows. Files of a folder or
glob are read in name order.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

from credo.batch.sqltext import lit
from credo.batch.text_rows import NOT_UTF8, count_breaks, numbered, read_text
from credo.domain.records import FIELD_ORDER, REQUIRED_FIELDS, Reason
from credo.errors import InputError

__all__ = ["FIELDS", "FORMATS", "InputError", "RawRows", "find_files", "read_rows"]

FIELDS = FIELD_ORDER
FORMATS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
MALFORMED_JSON = "malformed JSON line: not a JSON object"
MAX_COLUMNS = 4096  # CSV columns read as text; more are read with guessed types


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
    if not os.path.exists(path) and any(ch in path for ch in "*?["):  # an existing name is never a pattern
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


def _quote(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _with_header(table: pa.Table) -> pa.Table:
    """The first row as column names (the first of a repeated name wins), the other rows as data."""
    if table.num_rows == 0:
        return pa.table({f: pa.array([], pa.string()) for f in FIELDS})
    names, seen = [], set()
    for i, column in enumerate(table.columns):
        name = column[0].as_py() or ""
        names.append(name if name not in seen else f"{name} (column {i + 1})")
        seen.add(name)
    return table.slice(1).rename_columns(names)


def _shown_column(name: str) -> str:
    """A column name as an error line may show it: printable, short, and never a value that may identify."""
    if re.search(r"[0-9]{6}", name):  # an identifier or a record id: the file has no header, its first row is data
        return "(a value)"
    text = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in name)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_columns(path: str, names: list[str], *, csv_file: bool) -> None:
    """A file whose columns cannot be the contract's is refused whole, naming what is missing and unknown.

    Without this every row would be rejected as ``missing ...`` and the run
    would succeed: a wrong delimiter or a file without a header is a
    mistake about the file, not about its rows.
    """
    for name in FIELDS:
        if names.count(name) > 1:
            raise InputError(f"{path}: the header names column {name} more than once (ambiguous)")
    missing = [f for f in REQUIRED_FIELDS if f not in names]
    if not missing:
        return
    unknown = [_shown_column(n) for n in names if n not in FIELDS]
    line = f"{path}: missing required columns {', '.join(missing)}"
    if unknown:
        line += f"; unknown columns {', '.join(unknown[:8])}{', ...' if len(unknown) > 8 else ''}"
    if csv_file and any(d in n for n in names for d in ";\t|"):
        line += "; is the delimiter a comma? (CSV fields are separated by commas)"
    elif csv_file and not set(names) & set(FIELDS):
        line += f"; the first line must name the columns ({', '.join(FIELDS)})"
    raise InputError(line)


def _register_csv(con: duckdb.DuckDBPyConnection, index: int, path: str) -> str:
    # Columns are named f0, f1, ... and all read as text, the header being the first row: an extra
    # column can then never fail a type guess half-way through a large file.
    raw, bad, breaks = read_text(
        path,
        parse={},
        convert=pacsv.ConvertOptions(
            column_types={f"f{i}": pa.string() for i in range(MAX_COLUMNS)},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
        reason=lambda row: f"malformed CSV row: expected {row.expected_columns} cells, found {row.actual_columns}",
        column_names=[],
    )
    if raw.num_rows:
        _check_columns(path, [column[0].as_py() or "" for column in raw.columns], csv_file=True)
    table = _with_header(raw)
    breaks = breaks.slice(1) if breaks is not None else None  # the header row is not a data row
    header_breaks = sum(count_breaks(c) for c in table.column_names)
    name = f"_in{index}"
    row_no, source, bad_rows = numbered(con, name, table, bad, breaks, first_row=2, first_line=2 + header_breaks)
    present = set(table.column_names)
    cells = ", ".join(f"t.{_quote(f)} AS {f}" if f in present else f"CAST(NULL AS VARCHAR) AS {f}" for f in FIELDS)
    # A blank line comes back as a row of empty cells; it is skipped, but its line still counts.
    blank = " AND ".join(f"t.{_quote(f)} = ''" for f in FIELDS if f in present) or "FALSE"
    sql = f"""
        SELECT {row_no} AS row_no, CAST(NULL AS VARCHAR) AS malformed, {cells}
        FROM {source}
        WHERE NOT ({blank})"""
    if bad_rows:
        nulls = ", ".join(f"CAST(NULL AS VARCHAR) AS {f}" for f in FIELDS)
        sql += f" UNION ALL SELECT row_no, reason, {nulls} FROM {bad_rows}"
    return sql


NOT_TEXT_TYPES = "'DOUBLE', 'BOOLEAN', 'OBJECT', 'ARRAY'"
NOT_AMOUNT_TYPES = "'BOOLEAN', 'OBJECT', 'ARRAY'"


def _register_jsonl(con: duckdb.DuckDBPyConnection, index: int, path: str) -> str:
    # Every line as one text column: no quoting, and a delimiter that valid JSON text never holds
    # unescaped; a line that holds it anyway is malformed and kept as such.
    lines, bad, _ = read_text(
        path,
        parse={"delimiter": "\x1e", "quote_char": False, "escape_char": False, "double_quote": False},
        convert=pacsv.ConvertOptions(
            column_types={"line": pa.string()}, strings_can_be_null=False, quoted_strings_can_be_null=False
        ),
        reason=lambda _row: MALFORMED_JSON,
        column_names=["line"],
    )
    name = f"_in{index}"
    row_no, source, bad_rows = numbered(con, name, lines, bad, None, first_row=1, first_line=1)
    paths = ", ".join(f"'$.\"{f}\"'" for f in FIELDS)
    # JSON values have types: text fields take text or whole numbers, the amount a number (written out
    # in full, as parse_row does, one too large for a double as 10^308) or text. The same checks, in the
    # same order, as parse_row; an object that names a key twice first (readers disagree on its value).
    wrong = " ".join(
        f"WHEN ty[{i + 1}] IN ({NOT_AMOUNT_TYPES}) THEN '{Reason.AMOUNT_NOT_A_NUMBER}'"
        if f == "amount"
        else f"WHEN ty[{i + 1}] IN ({NOT_TEXT_TYPES}) THEN '{Reason.not_text(f)}'"
        for i, f in enumerate(FIELDS)
    )
    cells = ", ".join(
        f"CASE WHEN ok AND ty[{i + 1}] IN ('DOUBLE', 'UBIGINT', 'BIGINT') THEN "
        f"CASE WHEN isinf(TRY_CAST(v[{i + 1}] AS DOUBLE)) "
        f"THEN CASE WHEN TRY_CAST(v[{i + 1}] AS DOUBLE) < 0 THEN '-' ELSE '' END || '1' || repeat('0', 308) "
        f"ELSE printf('%.20f', TRY_CAST(v[{i + 1}] AS DOUBLE)) END "
        f"WHEN ok THEN v[{i + 1}] END AS {f}"
        if f == "amount"
        else f"CASE WHEN ok THEN v[{i + 1}] END AS {f}"
        for i, f in enumerate(FIELDS)
    )
    sql = f"""
        SELECT row_no, CASE WHEN NOT ok THEN '{MALFORMED_JSON}' WHEN dup THEN {lit(Reason.DUPLICATE_KEYS)} {wrong}
                           END AS malformed, {cells}
        FROM (
            SELECT row_no, ok, CASE WHEN ok THEN json_extract_string(line, [{paths}]) END AS v,
                   CASE WHEN ok THEN json_type(line, [{paths}]) END AS ty,
                   CASE WHEN ok THEN len(json_keys(line)) <> len(list_distinct(json_keys(line))) END AS dup
            FROM (
                SELECT {row_no} AS row_no, t.line,
                       json_valid(t.line) AND json_type(CASE WHEN json_valid(t.line) THEN t.line END) = 'OBJECT' AS ok
                FROM {source}
                WHERE NOT regexp_full_match(t.line, '[ \\t]*')
            )
        )"""
    if bad_rows:
        nulls = ", ".join(f"CAST(NULL AS VARCHAR) AS {f}" for f in FIELDS)
        sql += f" UNION ALL SELECT row_no, reason, {nulls} FROM {bad_rows}"
    return sql


def _register_parquet(con: duckdb.DuckDBPyConnection, path: str) -> str:
    quoted = path.replace("'", "''")
    try:
        columns = {row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{quoted}')").fetchall()}
    except duckdb.Error as exc:
        raise InputError(f"{path}: cannot read as Parquet: {str(exc).splitlines()[0]}") from None
    if "file_row_number" in columns:
        raise InputError(f"{path}: cannot read as Parquet: a column is named file_row_number, which Credo reserves")
    _check_columns(path, list(columns), csv_file=False)
    cells = ", ".join(f'"{f}"' if f in columns else f"CAST(NULL AS VARCHAR) AS {f}" for f in FIELDS)
    return f"""
        SELECT CAST(file_row_number + 1 AS BIGINT) AS row_no, CAST(NULL AS VARCHAR) AS malformed, {cells}
        FROM read_parquet('{quoted}', file_row_number = true)"""


def _why(kind: str, exc: BaseException) -> str:
    """One line on why a file cannot be read, never a row of its content."""
    if isinstance(exc, NOT_UTF8) or "invalid UTF8" in str(exc):
        return "not UTF-8 text"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if kind != "csv":
        return "not JSON Lines text"
    # pyarrow may append the offending row or value: record content never goes to a terminal or a log.
    text = re.sub(r"(got \d+|invalid value)\b.*", r"\1", (str(exc).splitlines() or [""])[0])
    return "".join(ch for ch in text if ch.isprintable())


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
        except (pa.ArrowInvalid, OSError, *NOT_UTF8) as exc:
            raise InputError(f"{file}: cannot read as {kind}: {_why(kind, exc)}") from None
        literal = file.replace("'", "''")
        parts.append(f"SELECT '{literal}' AS file, {index} AS file_no, * FROM ({body})")
    union = " UNION ALL BY NAME ".join(f"({p})" for p in parts) if len(parts) > 1 else parts[0]
    con.register(
        "_input_files_t",
        pa.table({"file_no": pa.array(range(len(files)), pa.int32()), "file": pa.array(files, pa.string())}),
    )
    try:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {union}").fetchall()
        con.execute("CREATE OR REPLACE TEMP TABLE input_files AS SELECT * FROM _input_files_t").fetchall()
        rows = con.execute(f"SELECT count(*) FROM {view}").fetchall()[0]
    except duckdb.Error as exc:
        raise InputError(f"{path}: cannot read: {str(exc).splitlines()[0]}") from None
    return RawRows(view, tuple(files), int(rows[0]) if rows else 0)
