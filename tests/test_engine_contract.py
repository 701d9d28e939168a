"""The engine seam's contract, over every registered engine (tests/engines.py).

The registry and the declared gaps; the published vectors on every engine, through ``run_batch`` as
``credo batch`` runs it. The property tests against the reference scorer and the reject reasons run over
the same engines (tests/test_engine_parity.py, tests/test_reject_parity.py); so does whole-store
rescoring, per store backend (tests/test_store_rescore.py).
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from credo import engines
from credo.batch.engine import run_batch
from credo.batch.plan import store_plan
from credo.cli.app import app
from credo.rulebook_file import load_rulebook
from tests.engines import ENGINES, every_engine
from tests.support import VECTORS, needs_vectors

AS_OF = dt.date(2026, 6, 30)


def test_the_suite_runs_every_registered_engine() -> None:
    assert engines.names() == ENGINES


def test_an_unknown_engine_is_refused_naming_the_registered_ones() -> None:
    with pytest.raises(engines.UnknownEngine, match=r"unknown engine 'spark': use duckdb, python$"):
        engines.get("spark")


def test_gaps_are_declared_not_discovered() -> None:
    assert {name: engines.get(name).gaps for name in ENGINES} == {
        "duckdb": frozenset(),
        "python": frozenset({engines.Gap.STORE}),
    }


@needs_vectors
@pytest.mark.parametrize("engine", every_engine(notimpl={"python": engines.Gap.STORE}))
def test_the_store_plan_runs_or_is_refused_in_one_line(engine: str) -> None:
    book = load_rulebook(VECTORS / "v1-rulebook.yaml")
    subjects = pa.table({"ka": pa.array([7], pa.int64()), "kb": pa.array([0], pa.int64())})
    records = pa.table(
        {
            "ka": pa.array([7], pa.int64()),
            "source": ["tax"],
            "record_id": ["r1"],
            "category": ["tax.late_payment"],
            "occ": pa.array([20_500], pa.int64()),
            "res": pa.array([None], pa.int64()),
            "amount": pa.array([None], pa.float64()),
        }
    )
    out = engines.get(engine).run(store_plan(book, AS_OF), {"store_subjects": subjects, "store_records": records})
    assert out["subject_scores"].column("ka").to_pylist() == [7]


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@needs_vectors
@pytest.mark.parametrize("engine", every_engine())
@pytest.mark.parametrize("name", ["v1", "v2", "v3"])
def test_published_vectors_on_every_engine(name: str, engine: str, tmp_path: Path) -> None:
    book = load_rulebook(VECTORS / f"{name}-rulebook.yaml")
    out = tmp_path / "scores.csv"
    summary = run_batch(str(VECTORS / f"{name}-records.jsonl"), book, AS_OF, str(out), threads=1, engine=engine)
    assert summary.rejected == 0
    assert _read(out) == _read(VECTORS / f"{name}-expected.csv")


@needs_vectors
def test_credo_batch_takes_the_engine_by_name_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    args = ["batch", "--records", str(VECTORS / "v2-records.jsonl"), "--rulebook", str(VECTORS / "v2-rulebook.yaml")]
    args += ["--as-of", AS_OF.isoformat()]
    written = {}
    for engine in ENGINES:
        out = tmp_path / f"{engine}.parquet"
        result = CliRunner().invoke(app, [*args, "--out", str(out), "--reasons", "--engine", engine])
        assert result.exit_code == 0, result.output
        written[engine] = pq.read_table(out)
    assert all(table.equals(written["duckdb"]) for table in written.values())
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "x.csv"), "--engine", "spark"])
    assert result.exit_code == 1 and "unknown engine 'spark': use duckdb, python" in result.output
