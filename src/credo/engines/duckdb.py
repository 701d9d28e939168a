"""The one place that runs a compiled plan on DuckDB.

Each step of the plan is one statement, materialised as the temporary table
the next step reads (``batch_rows``, ``subject_scores``). Inputs given as Arrow
are registered, not copied; record files are read in this connection, so ten
million rows never pass through Python.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from credo.batch.files import RecordFiles, connect
from credo.batch.plan import ScoringPlan
from credo.batch.reader import InputError
from credo.engines.base import Gap, Inputs, Outputs, check, register

__all__ = ["DuckDBEngine"]

# The store's rows as the plan's ``checked``: one latest active record per row, already checked on the way in.
STORE_CHECKED = """
    SELECT r.ka, s.kb, CASE WHEN s.kb = 0 THEN 'person' ELSE 'organization' END AS subject_kind,
           r.source, r.record_id, r.category, r.occ, r.res, r.amount, 'active' AS status
    FROM store_records r JOIN store_subjects s ON s.ka = r.ka"""


class DuckDBEngine:
    """Every plan, on an embedded DuckDB with ``threads`` threads (default: one per CPU)."""

    name = "duckdb"
    gaps: frozenset[Gap] = frozenset()

    def __init__(self, *, threads: int | None = None) -> None:
        self.threads = threads

    def run(self, plan: ScoringPlan, inputs: Inputs) -> Outputs:
        check(self, plan, inputs)
        con = connect(self.threads)
        try:
            return _run_store(con, plan, inputs) if plan.store else _run_batch(con, plan, inputs)
        finally:
            con.close()


def _steps(con: duckdb.DuckDBPyConnection, plan: ScoringPlan) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE batch_rows AS {plan.rows_sql}").fetchall()
    con.execute(f"CREATE OR REPLACE TEMP TABLE subject_scores AS {plan.subjects_sql}").fetchall()


def _run_batch(con: duckdb.DuckDBPyConnection, plan: ScoringPlan, inputs: Inputs) -> Outputs:
    checked = inputs["checked"]
    if isinstance(checked, RecordFiles):
        read, where = checked.load(con), checked.path
    else:
        assert isinstance(checked, pa.Table)
        con.register("checked", checked)
        con.register("input_files", inputs["input_files"])
        read, where = checked.num_rows, "checked"
    try:
        _steps(con, plan)
    except duckdb.Error as exc:  # e.g. a Parquet file whose pages are damaged
        raise InputError(f"{where}: cannot read: {str(exc).splitlines()[0]}") from None
    return {
        "scores": con.sql(f"{plan.output_sql} ORDER BY subject_id, subject_kind").to_arrow_table(),
        "rejects": con.sql(plan.rejects_sql).to_arrow_table(),
        "read": pa.table({"rows": pa.array([read], pa.int64())}),
    }


def _run_store(con: duckdb.DuckDBPyConnection, plan: ScoringPlan, inputs: Inputs) -> Outputs:
    for name in ("store_subjects", "store_records"):
        con.register(name, inputs[name])
    con.execute(f"CREATE OR REPLACE TEMP VIEW checked AS {STORE_CHECKED}")
    _steps(con, plan)
    return {"subject_scores": con.sql("SELECT * FROM subject_scores").to_arrow_table()}


register(DuckDBEngine.name, DuckDBEngine)
