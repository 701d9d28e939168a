"""The batch engine equals the reference scorer on every subject (property test)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings

from credo.batch.engine import run_batch
from credo.domain.records import Record, parse_row
from credo.domain.rulebook import Rulebook
from credo.domain.scoring import explain
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


def batch_rows(book: Rulebook, rows: list[dict[str, Any]], tmp: Path) -> dict[tuple[str, str], list[str]]:
    records = tmp / "records.jsonl"
    records.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp / "scores.csv"
    summary = run_batch(str(records), book, AS_OF, str(out), threads=1)
    assert summary.rejected == 0
    got = {}
    with out.open() as fh:
        for row in csv.DictReader(fh):
            got[(row["subject_id"], row["subject_kind"])] = [
                row["score"],
                row["grade"],
                *(row[f"dim_{d}"] for d in book.dimensions),
                row["lists"],
                row["measures"],
            ]
    return got


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(book=rulebooks(), rows=record_rows())
def test_batch_engine_equals_reference(book: Rulebook, rows: list[dict[str, Any]], tmp_path: Path) -> None:
    assert batch_rows(book, rows, tmp_path) == reference_rows(book, rows)
