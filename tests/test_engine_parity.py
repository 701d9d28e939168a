"""Every engine equals the reference scorer on every subject (property test, Arrow tables in and out).

The rows are written once as JSON Lines and read and checked as ``credo batch`` does
(:class:`credo.batch.files.RecordFiles`); each engine then runs the compiled plan on the Arrow tables in
memory, and its Arrow output is compared with :func:`credo.domain.scoring.explain` subject by subject.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from credo import engines
from credo.batch.engine import run_batch
from credo.batch.files import RecordFiles
from credo.batch.plan import batch_plan
from credo.domain.records import Record, parse_row
from credo.domain.rulebook import Rulebook
from credo.domain.scoring import explain
from tests.engines import every_engine
from tests.strategies import AS_OF, record_rows, rulebooks


def reference_rows(book: Rulebook, rows: list[dict[str, Any]]) -> dict[tuple[str, str], list[str]]:
    records = []
    for row in rows:
        record = parse_row(row)
        assert isinstance(record, Record), record
        records.append(record)
    expected = {}
    for subject, kind in {(r.subject_id, r.subject_kind) for r in records}:
        e = explain(book, subject, kind, records, AS_OF)
        expected[(subject, kind)] = [
            str(e.score),
            e.grade,
            *(f"{e.dimension_total(d) / 100:.2f}" for d in book.dimensions),
            ";".join(e.list_ids),
            ";".join(e.measure_ids),
        ]
    return expected


def _standing(book: Rulebook, row: dict[str, Any]) -> list[str]:
    """A subject's output row as text, in the order of :func:`reference_rows`."""
    dims = [str(row[f"dim_{d}"]) for d in book.dimensions]
    return [str(row["score"]), row["grade"], *dims, row["lists"] or "", row["measures"] or ""]


def engine_rows(engine: str, book: Rulebook, rows: list[dict[str, Any]], tmp: Path) -> dict[tuple[str, str], list[str]]:
    """The engine's scores from Arrow tables in memory (the rows are read and checked as credo batch does)."""
    records = tmp / "records.jsonl"
    records.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = engines.get(engine, threads=1).run(batch_plan(book, AS_OF), RecordFiles(str(records), book).to_arrow())
    assert out["rejects"].num_rows == 0
    return {(row["subject_id"], row["subject_kind"]): _standing(book, row) for row in out["scores"].to_pylist()}


def batch_rows(book: Rulebook, rows: list[dict[str, Any]], tmp: Path) -> dict[tuple[str, str], list[str]]:
    """The scores ``credo batch`` writes (CSV, on the default engine)."""
    records = tmp / "records.jsonl"
    records.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp / "scores.csv"
    summary = run_batch(str(records), book, AS_OF, str(out), threads=1)
    assert summary.rejected == 0
    with out.open() as fh:
        return {(row["subject_id"], row["subject_kind"]): _standing(book, row) for row in csv.DictReader(fh)}


@pytest.mark.parametrize("engine", every_engine())
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(book=rulebooks(), rows=record_rows())
def test_batch_engine_equals_reference(engine: str, book: Rulebook, rows: list[dict[str, Any]], tmp_path: Path) -> None:
    assert engine_rows(engine, book, rows, tmp_path) == reference_rows(book, rows)
