"""Helpers for the batch tests: write records as CSV, JSON Lines or Parquet, run a batch, read what it wrote.

Rows are dicts. ``ABSENT`` as a value leaves the field out: no key in JSON
Lines, an empty cell in CSV, a null in Parquet.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from credo.batch.engine import BatchSummary, run_batch
from credo.batch.reader import FIELDS
from credo.domain.rulebook import Rulebook
from credo.rulebook_file import parse_rulebook
from tests.strategies import AS_OF
from tests.support import BASE_YAML

ABSENT: Any = object()
FORMATS = ("csv", "jsonl", "parquet")


def base_book() -> Rulebook:
    loaded = parse_rulebook(BASE_YAML)
    assert loaded.rulebook is not None, loaded.problems
    return loaded.rulebook


def cell(value: Any) -> str:
    """A value as a CSV cell holds it: text, an absent value as an empty cell."""
    return "" if value is None or value is ABSENT else str(value)


def write_records(path: Path, rows: Iterable[Mapping[str, Any]], fields: Iterable[str] = FIELDS) -> Path:
    """Write rows in the format of ``path``'s extension; CSV and Parquet columns are all text."""
    rows, fields = list(rows), list(fields)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(fields)
            writer.writerows([cell(row.get(f)) for f in fields] for row in rows)
    elif path.suffix == ".jsonl":
        lines = [json.dumps({k: v for k, v in row.items() if v is not ABSENT}, allow_nan=False) for row in rows]
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    elif path.suffix == ".parquet":
        columns = {
            f: pa.array([None if row.get(f, ABSENT) is ABSENT else cell(row.get(f)) for row in rows], pa.string())
            for f in fields
        }
        pq.write_table(pa.table(columns), path)
    else:
        raise ValueError(path)
    return path


def read_output(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a scores or rejects file, whatever its format, every value as text ('' for empty)."""
    path = Path(path)
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    if path.suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        rows = pq.read_table(path).to_pylist()
    return [{k: cell(v) for k, v in row.items()} for row in rows]


@dataclass(frozen=True)
class Batch:
    summary: BatchSummary
    scores: list[dict[str, Any]]
    rejects: list[dict[str, Any]]

    def reject_at(self, file: str | Path, row: int) -> dict[str, Any] | None:
        hits = [r for r in self.rejects if r["file"] == str(file) and int(r["row"]) == row]
        assert len(hits) <= 1, hits
        return hits[0] if hits else None

    def reasons(self) -> dict[int, str]:
        """Reject reasons by row number (for a single input file)."""
        return {int(r["row"]): r["reason"] for r in self.rejects}

    def subjects(self) -> set[tuple[str, str]]:
        return {(r["subject_id"], r["subject_kind"]) for r in self.scores}


def batch(records: str | Path, out: Path, book: Rulebook | None = None, **kwargs: Any) -> Batch:
    summary = run_batch(str(records), book or base_book(), AS_OF, str(out), threads=1, **kwargs)
    batch_ = Batch(summary, read_output(summary.out), read_output(summary.rejects))
    # Nothing is lost: every row read is either accepted or in the rejects output.
    assert summary.read == summary.accepted + summary.rejected
    assert summary.rejected == len(batch_.rejects)
    assert summary.subjects == len(batch_.scores)
    return batch_
