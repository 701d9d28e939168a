"""The reference scorer (:mod:`credo.domain.scoring`) behind the engine interface.

It scores record by record in Python: slow (thousands of records a second,
not millions), and meant for checking the other engines and for small files.
It runs batch plans only; rescoring a store in bulk is a declared gap.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pyarrow as pa

from credo.batch.files import RecordFiles
from credo.batch.plan import ScoringPlan
from credo.batch.sqltext import EPOCH
from credo.domain.identifiers import problem_with_identifier
from credo.domain.records import Record
from credo.domain.scoring import explain, latest_versions, score_only
from credo.engines.base import Gap, Inputs, Outputs, check, register

__all__ = ["PythonEngine"]

# The rejects' columns after file, row and reason: the fields as read (``checked``'s names).
REJECT_FIELDS = (
    ("source", "source"),
    ("record_id", "record_id"),
    ("subject_id", "subject_id"),
    ("subject_kind", "subject_kind"),
    ("category", "category"),
    ("occurred_on", "raw_occurred_on"),
    ("amount", "raw_amount"),
    ("resolved_on", "raw_resolved_on"),
    ("status", "raw_status"),
    ("reference", "reference"),
)


class PythonEngine:
    """Batch plans by the reference scorer, one subject at a time (slow: for checks and small files)."""

    name = "python"
    gaps = frozenset({Gap.STORE})

    def __init__(self, *, threads: int | None = None) -> None:
        del threads  # one Python thread

    def run(self, plan: ScoringPlan, inputs: Inputs) -> Outputs:
        check(self, plan, inputs)
        checked, files = inputs["checked"], inputs.get("input_files")
        if isinstance(checked, RecordFiles):
            read = checked.to_arrow()
            checked, files = read["checked"], read["input_files"]
        assert isinstance(checked, pa.Table) and isinstance(files, pa.Table)
        names = dict(zip(files.column("file_no").to_pylist(), files.column("file").to_pylist(), strict=True))
        rows = sorted(checked.to_pylist(), key=lambda r: (r["file_no"], r["row_no"]))
        records, rejects = _sorted_out(rows, names)
        return {
            "scores": _scores(plan, records),
            "rejects": _rejects_table(rejects, checked.schema.field("row_no").type),
            "read": pa.table({"rows": pa.array([checked.num_rows], pa.int64())}),
        }


def _day(number: int | None) -> dt.date | None:
    return None if number is None else EPOCH + dt.timedelta(days=number)


def _sorted_out(rows: list[dict[str, Any]], files: dict[int, str]) -> tuple[list[Record], list[list[Any]]]:
    """Accepted rows as records (input order) and rejected rows as the rejects' rows, as ``parse_row`` sorts them."""
    records, rejects = [], []
    for row in rows:
        reason = row["pre_reason"]
        if reason is None:  # the identifier's own problem before a bad category, date, amount or status
            reason = problem_with_identifier(row["subject_id"], row["subject_kind"]) or row["post_reason"]
        if reason is not None:
            rejects.append([files[row["file_no"]], row["row_no"], reason, *(row[f] for _, f in REJECT_FIELDS)])
            continue
        occurred = _day(row["occ"])
        assert occurred is not None
        records.append(
            Record(
                row["source"],
                row["record_id"],
                row["subject_id"],
                row["subject_kind"],
                row["category"],
                occurred,
                row["amount"],
                _day(row["res"]),
                row["status"],
            )
        )
    return records, rejects


def _scores(plan: ScoringPlan, records: list[Record]) -> pa.Table:
    """One row per subject with an accepted row, in the plan's columns, ordered by (subject_id, subject_kind)."""
    book, as_of = plan.book, plan.as_of
    mine: dict[tuple[str, str], list[Record]] = {(r.subject_id, r.subject_kind): [] for r in records}
    for record in latest_versions(records):
        mine[(record.subject_id, record.subject_kind)].append(record)
    columns: dict[str, list[Any]] = defaultdict(list)
    for (subject, kind), own in sorted(mine.items()):
        score, grade, dims, lists, measures = score_only(book, kind, own, as_of)
        columns["subject_id"].append(subject)
        columns["subject_kind"].append(kind)
        columns["score"].append(score)
        columns["grade"].append(grade)
        for name in book.dimensions:
            columns[f"dim_{name}"].append(Decimal(dims[name]).scaleb(-2))
        columns["lists"].append(";".join(lists))
        columns["measures"].append(";".join(measures))
        if plan.reasons:
            reasons = explain(book, subject, kind, own, as_of).reasons
            columns["reasons"].append(";".join(r.code for r in reasons))
    types = {"score": pa.int32(), **{f"dim_{n}": pa.decimal128(18, 2) for n in book.dimensions}}
    return pa.table({c: pa.array(columns[c], types.get(c, pa.string())) for c in plan.columns})


def _rejects_table(rows: list[list[Any]], row_type: pa.DataType) -> pa.Table:
    names = ["file", "row", "reason", *(n for n, _ in REJECT_FIELDS)]
    types = {"row": row_type}
    return pa.table({n: pa.array([r[i] for r in rows], types.get(n, pa.string())) for i, n in enumerate(names)})


register(PythonEngine.name, PythonEngine)
