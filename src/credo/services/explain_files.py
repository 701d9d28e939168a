"""Explaining one subject from files: the batch reader and checks, then the reference scorer.

Rows are read and validated by the same SQL as ``credo batch`` so that both
commands accept and reject exactly the same rows; only the chosen subject's
accepted rows reach Python.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from credo.batch.files import connect, load_checked
from credo.batch.reader import InputError
from credo.domain.explanation import Explanation
from credo.domain.identifiers import problem_with_identifier
from credo.domain.records import Record
from credo.domain.rulebook import Rulebook
from credo.domain.scoring import explain
from credo.errors import SubjectNotFound

__all__ = ["SubjectNotFound", "explain_from_files"]


ROWS_OF_SUBJECT = """
    SELECT source, record_id, subject_id, subject_kind, category, occurred_on, amount, resolved_on, status, reference
    FROM (SELECT *, DATE '1970-01-01' + CAST(occ AS INTEGER) AS occurred_on,
                 DATE '1970-01-01' + CAST(res AS INTEGER) AS resolved_on FROM checked)
    WHERE pre_reason IS NULL AND post_reason IS NULL AND (source, record_id) IN (
        SELECT (source, record_id) FROM checked
        WHERE pre_reason IS NULL AND post_reason IS NULL AND subject_id = ?)
    ORDER BY file_no, row_no"""


def explain_from_files(subject_id: str, records: str, book: Rulebook, as_of: dt.date) -> list[Explanation]:
    """One explanation per subject kind the identifier has records under (almost always one)."""
    if problem_with_identifier(subject_id, "person") and problem_with_identifier(subject_id, "organization"):
        raise SubjectNotFound("the subject identifier is neither a valid resident identity number nor a valid USCC")
    con = connect()
    try:
        load_checked(con, records, book)
        try:
            rows = con.execute(ROWS_OF_SUBJECT, [subject_id]).fetchall()
        except duckdb.Error as exc:  # e.g. a Parquet file whose pages are damaged
            raise InputError(f"{records}: cannot read: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
    # Rows whose identifier fails its check characters are rejects, as in ``credo batch``.
    rows = [row for row in rows if problem_with_identifier(row[2], row[3]) is None]
    parsed = [Record(*row) for row in rows]
    # Only the subject's own accepted rows make it known: the rows fetched beside them are other
    # versions of its records, which may name other subjects.
    kinds = sorted({r.subject_kind for r in parsed if r.subject_id == subject_id})
    if not kinds:
        raise SubjectNotFound("no accepted record names this subject in the given records")
    return [explain(book, subject_id, kind, parsed, as_of) for kind in kinds]
