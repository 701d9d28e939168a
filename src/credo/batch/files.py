"""Record files as a plan's ``checked`` input: read and checked once, by the same SQL for every engine.

Reading is not scoring: every engine must accept and reject exactly the same
rows, so the files are read by :mod:`credo.batch.reader` and checked by
:func:`credo.batch.validation.checked_sql` whichever engine scores them. An
engine that runs on DuckDB reads them in its own connection (nothing is
materialised); any other engine gets them as Arrow (:meth:`RecordFiles.to_arrow`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from credo.batch.reader import InputError, read_rows
from credo.batch.validation import checked_sql
from credo.domain.rulebook import Rulebook

__all__ = ["RAW_FIELDS", "RecordFiles", "connect", "load_checked"]

# The fields of ``checked`` kept as read (typed when Parquet brought a type); as Arrow they are text, as a
# plan writes them out in the rejects.
RAW_FIELDS = ("raw_occurred_on", "raw_resolved_on", "raw_amount", "raw_status", "reference")


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(config={"threads": threads or os.cpu_count() or 1, "preserve_insertion_order": False})


def load_checked(con: duckdb.DuckDBPyConnection, records: str, rulebook: Rulebook | None = None) -> int:
    """Create the view ``checked`` over every row of ``records``; return how many rows were read."""
    raw = read_rows(con, records)
    types = {row[0]: row[1] for row in con.execute(f"DESCRIBE {raw.view}").fetchall()}
    known = [rule.category for rule in rulebook.rules] if rulebook else []
    con.execute(f"CREATE OR REPLACE TEMP VIEW checked AS {checked_sql(raw.view, types, known)}").fetchall()
    return raw.rows


@dataclass(frozen=True)
class RecordFiles:
    """The record files at ``path`` (a file, a folder or a glob), not yet read, for ``book``'s categories."""

    path: str
    book: Rulebook | None = None

    def load(self, con: duckdb.DuckDBPyConnection) -> int:
        """``checked`` (a view) and ``input_files`` in ``con``; the number of rows read."""
        return load_checked(con, self.path, self.book)

    def to_arrow(self) -> dict[str, pa.Table]:
        """``checked`` (raw fields as text) and ``input_files`` as Arrow tables."""
        con = connect()
        try:
            self.load(con)
            raw = ", ".join(f"CAST({f} AS VARCHAR) AS {f}" for f in RAW_FIELDS)
            try:
                checked = con.sql(f"SELECT * REPLACE ({raw}) FROM checked").to_arrow_table()
            except duckdb.Error as exc:  # e.g. a Parquet file whose pages are damaged
                raise InputError(f"{self.path}: cannot read: {str(exc).splitlines()[0]}") from None
            return {"checked": checked, "input_files": con.sql("SELECT * FROM input_files").to_arrow_table()}
        finally:
            con.close()
