"""The compiled SQL stays portable: SQLGlot reads it as DuckDB and writes it for PostgreSQL and Spark.

The plan is written once, in DuckDB's dialect but with portable constructs
only (docs/adr/0002-batch-plan-sql-sqlglot.md). These tests parse every SQL
text the batch runs (the row checks and each step of the plan) for the three
published vector rulebooks and the demo rulebook, and transpile it with
errors raised, not logged.

The compiled SQL of the v1 vector rulebook is also kept as a snapshot in
tests/snapshots/plan-v1.sql, and each plan (the batch plan with reasons, the
store plan) in each dialect in tests/snapshots/plans/, so that every change to
the plan, or to what SQLGlot writes of it, shows up in review as a diff. When a
change is intended, refresh the snapshots with

    CREDO_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/test_sql_portability.py

and commit the new file with the change.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import os
from pathlib import Path

import pytest
import sqlglot
from sqlglot import ErrorLevel

from credo.batch.plan import batch_plan, store_plan
from credo.batch.reader import FIELDS
from credo.batch.validation import checked_sql
from credo.demo import demo_rulebook_text
from credo.domain.rulebook import Rulebook
from credo.rulebook_file import load_rulebook, parse_rulebook
from tests.support import VECTORS

AS_OF = dt.date(2026, 6, 30)
TARGETS = ("postgres", "spark")
SNAPSHOT = Path(__file__).parent / "snapshots" / "plan-v1.sql"
UPDATE = os.environ.get("CREDO_UPDATE_SNAPSHOTS") == "1"

TEXT_TYPES = dict.fromkeys(FIELDS, "VARCHAR")
# The column types a Parquet file may bring: the checks skip text parsing for them.
TYPED = {
    "typed": {**TEXT_TYPES, "occurred_on": "DATE", "resolved_on": "DATE", "amount": "DOUBLE"},
    "timestamps": {**TEXT_TYPES, "occurred_on": "TIMESTAMP", "resolved_on": "TIMESTAMP", "amount": "BIGINT"},
    "other": {**TEXT_TYPES, "amount": "BOOLEAN", "subject_id": "BIGINT"},
}


def _rulebook(name: str) -> Rulebook:
    if name == "demo":
        loaded = parse_rulebook(demo_rulebook_text(), "demo-city.yaml")
        assert loaded.rulebook is not None, loaded.problems
        return loaded.rulebook
    path = VECTORS / f"{name}-rulebook.yaml"
    if not path.is_file():
        pytest.skip(f"the published scoring vectors are not at {VECTORS}")
    return load_rulebook(path)


def plan_sql(book: Rulebook, *, reasons: bool = False) -> dict[str, str]:
    """Every SQL text of the compiled plan, by the name of its field, in field order."""
    plan = batch_plan(book, AS_OF, reasons=reasons)
    return {f.name: getattr(plan, f.name) for f in dataclasses.fields(plan) if f.name.endswith("_sql")}


def all_sql(book: Rulebook) -> dict[str, str]:
    texts = {f"plan.{k}": v for k, v in plan_sql(book).items()}
    texts.update({f"plan(reasons).{k}": v for k, v in plan_sql(book, reasons=True).items()})
    known = [rule.category for rule in book.rules]
    texts["checked_sql(text)"] = checked_sql("raw_rows", TEXT_TYPES, known)
    texts["checked_sql(no known categories)"] = checked_sql("raw_rows", TEXT_TYPES)
    for label, types in TYPED.items():
        texts[f"checked_sql({label})"] = checked_sql("raw_rows", types, known)
    return texts


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", ["v1", "v2", "v3", "demo"])
def test_compiled_sql_parses_and_transpiles(name: str, target: str) -> None:
    book = _rulebook(name)
    texts = all_sql(book)
    assert "plan.subjects_sql" in texts
    for label, sql in texts.items():
        try:  # parsed as DuckDB, written for the target, and what is written reads back in the target
            (written,) = sqlglot.transpile(
                sql, read="duckdb", write=target, error_level=ErrorLevel.RAISE, unsupported_level=ErrorLevel.RAISE
            )
            sqlglot.parse_one(written, read=target, error_level=ErrorLevel.RAISE)
        except sqlglot.errors.SqlglotError as exc:
            pytest.fail(f"{name} {label} -> {target}: {exc}")
        assert written.strip()


# ---------------------------------------------------------------------------------------------
# Snapshot of the v1 plan


def snapshot_text() -> str:
    sections = [f"-- {label}\n{sql.strip()}\n" for label, sql in plan_sql(_rulebook("v1")).items()]
    header = f"-- compile_plan(v1-rulebook.yaml, as_of={AS_OF.isoformat()}); refresh: CREDO_UPDATE_SNAPSHOTS=1\n"
    text = header + "\n".join(sections)
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


REFRESH = "CREDO_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/test_sql_portability.py"


def check_snapshot(path: Path, current: str, what: str) -> None:
    """``current`` equals the snapshot at ``path`` (written instead with CREDO_UPDATE_SNAPSHOTS=1)."""
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(current, encoding="utf-8")
        return
    if not path.is_file():
        pytest.fail(f"no snapshot at {path}; create it with: {REFRESH}")
    saved = path.read_text(encoding="utf-8")
    if saved != current:
        diff = "".join(
            difflib.unified_diff(
                saved.splitlines(keepends=True),
                current.splitlines(keepends=True),
                fromfile=str(path),
                tofile="compiled now",
                n=2,
            )
        )
        pytest.fail(f"{what} differs from its snapshot. If the change is intended: {REFRESH}\n{diff}")


def test_v1_plan_matches_its_snapshot() -> None:
    check_snapshot(SNAPSHOT, snapshot_text(), "the compiled v1 plan")


# ---------------------------------------------------------------------------------------------
# Snapshots of each plan (the batch plan and the store plan) in each dialect

DIALECTS = ("duckdb", *TARGETS)
PLANS_DIR = Path(__file__).parent / "snapshots" / "plans"


def _plan_texts(plan: str) -> dict[str, str]:
    book, store = _rulebook("v1"), plan == "store"
    compiled = store_plan(book, AS_OF) if store else batch_plan(book, AS_OF, reasons=True)
    return {f.name: getattr(compiled, f.name) for f in dataclasses.fields(compiled) if f.name.endswith("_sql")}


def plan_snapshot_text(plan: str, dialect: str) -> str:
    sections = []
    for label, compiled in _plan_texts(plan).items():
        if not compiled:
            continue  # the store plan has no rejects: the store checked every record on the way in
        sql = compiled
        if dialect != "duckdb":
            (sql,) = sqlglot.transpile(sql, read="duckdb", write=dialect, pretty=True, error_level=ErrorLevel.RAISE)
        sections.append(f"-- {label}\n{sql.strip()}\n")
    header = f"-- the {plan} plan of v1-rulebook.yaml as of {AS_OF.isoformat()}, in {dialect}; refresh: {REFRESH}\n"
    text = header + "\n".join(sections)
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("plan", ["batch", "store"])
def test_each_plan_matches_its_snapshot_in_each_dialect(plan: str, dialect: str) -> None:
    path = PLANS_DIR / f"{plan}-v1.{dialect}.sql"
    check_snapshot(path, plan_snapshot_text(plan, dialect), f"the compiled {plan} plan in {dialect}")
