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
import io
import mmap
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from credo.batch.sqltext import lit
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


class _NotUtf8(Exception):
    """Some bytes of the file are not UTF-8 text."""


@contextmanager
def _undecodable_rows() -> Iterator[list[BaseException]]:
    """Collect, instead of printing, the decoding errors pyarrow meets while handing a bad row over.

    pyarrow decodes an invalid row before it calls the handler; when the row
    is not UTF-8 the error can only go to :func:`sys.unraisablehook`, which
    would print a traceback in the middle of the command's output.
    """
    seen: list[BaseException] = []
    previous = sys.unraisablehook

    def hook(args: Any) -> None:
        if isinstance(args.exc_value, UnicodeDecodeError):
            seen.append(args.exc_value)
        else:
            previous(args)

    sys.unraisablehook = hook
    try:
        yield seen
    finally:
        sys.unraisablehook = previous


@dataclass(frozen=True)
class _Bad:
    """A row pyarrow skipped: its number as pyarrow counts rows, the reason, and the line breaks it holds."""

    number: int
    reason: str
    breaks: int


def _count_breaks(text: str) -> int:
    """Line breaks in a text: LF, CR or CRLF, as the CSV reader ends lines."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _breaks_per_row(table: pa.Table) -> pa.Array | None:
    """How many line breaks the text cells of each row hold; None when no cell holds one (the usual case)."""
    counts = None
    for column, kind in zip(table.columns, table.schema.types, strict=True):
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            continue
        if not any(pc.any(pc.match_substring(column, brk)).as_py() for brk in ("\n", "\r")):
            continue
        lf, cr, crlf = (pc.count_substring(column, brk) for brk in ("\n", "\r", "\r\n"))
        here = pc.fill_null(pc.cast(pc.subtract(pc.add(lf, cr), crlf), pa.int64()), 0)
        counts = here if counts is None else pc.add(counts, here)
    return counts


def _contains(path: str, needle: bytes) -> bool:
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return data.find(needle) >= 0


def _single_line(path: str) -> bool:
    """Whether the file holds no line end at all (only then is it read whole, to add one)."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
        return b"\n" not in head and b"\r" not in head and not fh.read(1)


# Long: pyarrow's CSV reader, its bad-row callback and the line-break check belong to one read.
def _read_text(
    path: str,
    parse: dict[str, Any],
    convert: pacsv.ConvertOptions,
    reason: Callable[[pacsv.InvalidRow], str],
    column_names: list[str],
) -> tuple[pa.Table, list[_Bad], pa.Array | None]:
    """Read with pyarrow's CSV reader; rows it cannot split are kept aside with their number and reason.

    ``column_names`` names the columns, or is empty to autogenerate ``f0``,
    ``f1``, ... (the caller then reads the header from the first row).
    Returns the table, the bad rows and, when some cell holds a line break,
    the line breaks of each row (see :func:`_breaks_per_row`).
    """
    if os.path.getsize(path) == 0:  # no header and no rows: nothing to read, nothing to lose
        return pa.table({n: pa.array([], pa.string()) for n in column_names}), [], None
    bad: list[tuple[int | None, str, int, bool]] = []

    def handler(row: pacsv.InvalidRow) -> str:
        bad.append((row.number, reason(row), _count_breaks(row.text), '"' in row.text))
        return "skip"

    source: str | io.BytesIO = path
    if _single_line(path):
        # pyarrow cannot read a lone line without a line end (e.g. a header alone): give it one.
        source = io.BytesIO(Path(path).read_bytes() + b"\n")

    def read(threads: bool, newlines: bool) -> pa.Table:
        bad.clear()
        if isinstance(source, io.BytesIO):
            source.seek(0)
        with _undecodable_rows() as undecodable:
            try:
                table = pacsv.read_csv(
                    source,
                    read_options=pacsv.ReadOptions(
                        use_threads=threads,
                        block_size=1 << 24,
                        column_names=column_names,
                        autogenerate_column_names=not column_names,
                    ),
                    parse_options=pacsv.ParseOptions(
                        **parse, newlines_in_values=newlines, ignore_empty_lines=False, invalid_row_handler=handler
                    ),
                    convert_options=convert,
                )
            except pa.ArrowInvalid:
                if undecodable:
                    raise _NotUtf8 from None
                raise
        if undecodable:
            raise _NotUtf8
        return table

    # Only a quoted value can hold a line break; most files have no quote at all, and looking costs little.
    quoting = parse.get("quote_char", '"') is not False and _contains(path, b'"')
    newlines = False
    try:
        table = read(threads=True, newlines=False)
    except pa.ArrowInvalid as exc:
        if not quoting or "newlines_in_values" not in str(exc):
            raise
        newlines = True  # a quoted value spanning lines met a block boundary
        table = read(threads=True, newlines=True)
    breaks = _breaks_per_row(table) if quoting else None
    if not newlines and quoting and (breaks is not None or any(quoted for *_, quoted in bad)):
        # Quoted values span lines: read again splitting blocks by quotes, so that none is cut in two.
        newlines = True
        table = read(threads=True, newlines=True)
        breaks = _breaks_per_row(table)
    if any(number is None for number, *_ in bad):
        table = read(threads=False, newlines=newlines)  # numbers of bad rows are only known single-threaded
    rows = [_Bad(int(n or 0), r, b) for n, r, b, _ in sorted(bad, key=lambda item: item[0] or 0)]
    return table, rows, breaks


def _numbered(
    con: duckdb.DuckDBPyConnection,
    name: str,
    table: pa.Table,
    bad: list[_Bad],
    breaks: pa.Array | None,
    *,
    first_row: int,
    first_line: int,
) -> tuple[str, str, str | None]:
    """Line numbers for the rows of ``table`` and for the bad rows pyarrow skipped.

    pyarrow numbers rows, not lines, and the first row of ``table`` is its row
    ``first_row``, on line ``first_line``. A bad row it skipped sits between
    good ones: good row k (0-based) follows the i-th bad row when
    ``number_i - first_row - i <= k``. A quoted value may span lines: a row's
    line is its row number plus the line breaks inside the rows before it.

    Returns (the row number expression, the FROM clause with the table as
    ``t``, the relation ``(row_no, reason)`` of the bad rows or None).
    """
    con.register(f"{name}_t", table)
    offset = first_line - first_row
    if breaks is None:
        source = f"{name}_t t POSITIONAL JOIN (SELECT range AS _rn, 0 AS _breaks FROM range({table.num_rows})) p"
        upto = None
    else:
        upto = pc.cumulative_sum(breaks)  # breaks in rows 0..k
        before = pc.subtract(upto, breaks)
        con.register(f"{name}_n_t", pa.table({"_rn": pa.array(range(table.num_rows), pa.int64()), "_breaks": before}))
        source = f"{name}_t t POSITIONAL JOIN {name}_n_t p"
    if not bad:
        return f"CAST(p._rn + p._breaks + {first_line} AS BIGINT)", source, None
    thresholds = [b.number - first_row - i for i, b in enumerate(bad)]
    lines, earlier = [], 0
    for threshold, b in zip(thresholds, bad, strict=True):
        inside_good = upto[threshold - 1].as_py() if upto is not None and threshold > 0 else 0
        lines.append(b.number + offset + inside_good + earlier)
        earlier += b.breaks
    con.register(
        f"{name}_bad_t",
        pa.table({"t": pa.array(thresholds, pa.int64()), "breaks": pa.array([b.breaks for b in bad], pa.int64())}),
    )
    con.register(
        f"{name}_badrows_t",
        pa.table({"row_no": pa.array(lines, pa.int64()), "reason": pa.array([b.reason for b in bad], pa.string())}),
    )
    shift = f"(SELECT count(*) + coalesce(sum(b.breaks), 0) FROM {name}_bad_t b WHERE b.t <= p._rn)"
    return f"CAST(p._rn + p._breaks + {first_line} + {shift} AS BIGINT)", source, f"{name}_badrows_t"


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
    raw, bad, breaks = _read_text(
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
    header_breaks = sum(_count_breaks(c) for c in table.column_names)
    name = f"_in{index}"
    row_no, source, bad_rows = _numbered(con, name, table, bad, breaks, first_row=2, first_line=2 + header_breaks)
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
    lines, bad, _ = _read_text(
        path,
        parse={"delimiter": "\x1e", "quote_char": False, "escape_char": False, "double_quote": False},
        convert=pacsv.ConvertOptions(
            column_types={"line": pa.string()}, strings_can_be_null=False, quoted_strings_can_be_null=False
        ),
        reason=lambda _row: MALFORMED_JSON,
        column_names=["line"],
    )
    name = f"_in{index}"
    row_no, source, bad_rows = _numbered(con, name, lines, bad, None, first_row=1, first_line=1)
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
    if isinstance(exc, _NotUtf8 | UnicodeDecodeError) or "invalid UTF8" in str(exc):
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
        except (pa.ArrowInvalid, OSError, UnicodeDecodeError, _NotUtf8) as exc:
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
