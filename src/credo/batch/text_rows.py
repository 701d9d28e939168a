"""Text record files (CSV and JSON Lines) read by pyarrow's CSV reader, every row numbered by its line.

Rows pyarrow cannot split are kept aside with their number and reason instead of failing the file; a row
whose quoted value spans lines is numbered by its first line; bytes that are not UTF-8 stop the file with one
clear reason (:data:`NOT_UTF8`). The formats themselves are read in :mod:`credo.batch.reader`.
"""

from __future__ import annotations

import io
import mmap
import os
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

__all__ = ["NOT_UTF8", "count_breaks", "numbered", "read_text"]


class _NotUtf8(Exception):
    """Some bytes of the file are not UTF-8 text."""


# What a read raises when some bytes are not UTF-8 (the callers' ``except`` and ``isinstance`` name this).
NOT_UTF8: tuple[type[Exception], ...] = (_NotUtf8, UnicodeDecodeError)


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


def count_breaks(text: str) -> int:
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
def read_text(
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
        bad.append((row.number, reason(row), count_breaks(row.text), '"' in row.text))
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


def numbered(
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
