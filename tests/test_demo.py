"""The demo: its rulebook, the synthetic town generator and ``credo demo`` end to end."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from credo.batch.sqlids import org_code_check_sql, resident_id_check_sql, uscc_check_sql
from credo.demo import DEMO_AS_OF, TownStats, demo_rulebook_text, generate_town
from credo.demo.rates import CATEGORIES, SOURCES, YEARS
from credo.demo.summary import summarize
from credo.domain.identifiers import (
    USCC_ALPHABET,
    org_code_check,
    problem_with_identifier,
    resident_id_check,
    uscc_check,
)
from credo.domain.records import Reason, Record, parse_row
from credo.rulebook_file import parse_rulebook
from credo.services import administration, signin
from credo.services.unit_of_work import unit_of_work
from credo.store.bootstrap import open_store

ROOT = Path(__file__).resolve().parents[1]
PEOPLE, ORGS, BAD = 5_000, 1_000, 8


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, TownStats]:
    path = str(tmp_path_factory.mktemp("town") / "records.parquet")
    return path, generate_town(path, PEOPLE, ORGS, seed=11, as_of=DEMO_AS_OF, bad_rows=BAD)


def _rows(path: str, where: str = "TRUE") -> list[dict[str, Any]]:
    con = duckdb.connect()
    try:
        result = con.execute(f"SELECT * FROM read_parquet('{path}') WHERE {where}")
        names = [d[0] for d in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    finally:
        con.close()


def _sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --- the rulebook ---------------------------------------------------------------


def test_packaged_rulebook_is_the_one_in_rulebooks() -> None:
    assert (ROOT / "rulebooks" / "demo-city.yaml").read_text(encoding="utf-8") == demo_rulebook_text()


def test_demo_rulebook_is_valid_and_its_examples_pass() -> None:
    loaded = parse_rulebook(demo_rulebook_text())
    assert loaded.ok, loaded.problems
    book = loaded.rulebook
    assert book is not None and len(book.examples) >= 3
    assert all(rule.title for rule in book.rules)
    # every category the town produces has a rule, so every record can count
    assert {(c.category, c.kind) for c in CATEGORIES} <= {(r.category, k) for r in book.rules for k in r.applies_to}


# --- the generator ----------------------------------------------------------------


def test_same_seed_same_file_other_seed_other_file(tmp_path: Path) -> None:
    paths = [str(tmp_path / f"{name}.parquet") for name in ("a", "b", "c")]
    generate_town(paths[0], 1_500, 150, seed=3, bad_rows=4)
    generate_town(paths[1], 1_500, 150, seed=3, bad_rows=4, threads=1)
    generate_town(paths[2], 1_500, 150, seed=4, bad_rows=4)
    assert _sha256(paths[0]) == _sha256(paths[1])
    assert _sha256(paths[0]) != _sha256(paths[2])


def test_sql_check_characters_match_python() -> None:
    rng = random.Random(5)
    digits = ["".join(rng.choice("0123456789") for _ in range(17)) for _ in range(400)]
    bodies = ["".join(rng.choice(USCC_ALPHABET) for _ in range(8)) for _ in range(400)]
    codes = ["".join(rng.choice(USCC_ALPHABET) for _ in range(17)) for _ in range(400)]
    con = duckdb.connect()
    try:
        for values, sql, python in (
            (digits, resident_id_check_sql("v"), resident_id_check),
            (bodies, org_code_check_sql("v"), org_code_check),
            (codes, uscc_check_sql("v"), uscc_check),
        ):
            got = [row[0] for row in con.execute(f"SELECT {sql} FROM unnest($1) t(v)", [values]).fetchall()]
            assert got == [python(v) for v in values]
    finally:
        con.close()


def test_every_identifier_passes_the_domain_checks(town: tuple[str, TownStats]) -> None:
    path, _ = town
    con = duckdb.connect()
    try:
        ids = con.execute(
            f"SELECT DISTINCT subject_id, subject_kind FROM read_parquet('{path}') WHERE record_id NOT LIKE 'BAD-%'"
        ).fetchall()
    finally:
        con.close()
    kinds = Counter(kind for _, kind in ids)
    assert kinds["person"] > PEOPLE // 3 and kinds["organization"] > ORGS // 3
    assert [(sid, problem_with_identifier(sid, kind)) for sid, kind in ids if problem_with_identifier(sid, kind)] == []
    areas = Counter(sid[:6] for sid, kind in ids if kind == "person")
    assert set(areas) == {"371082", "370321", "110101", "310104", "440305", "510107"}
    births = [dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14])) for s, k in ids if k == "person"]
    assert all(18 <= (DEMO_AS_OF - b).days / 365.25 <= 81 for b in births)


def test_rows_are_valid_records_and_bad_rows_are_rejected(town: tuple[str, TownStats]) -> None:
    path, stats = town
    rows = _rows(path)
    assert len(rows) == stats.records
    parsed = [parse_row(row) for row in rows[::7] if not str(row["record_id"]).startswith("BAD-")]
    bad = [parse_row(row) for row in rows if str(row["record_id"]).startswith("BAD-")]
    assert [p for p in parsed if isinstance(p, str)] == []
    assert all(isinstance(p, Record) for p in parsed)
    assert len(bad) == BAD == stats.bad_rows
    assert set(bad) == {
        "person identifier fails its check character",
        Reason.BAD_OCCURRED_ON,
        Reason.NEGATIVE_AMOUNT,
        Reason.RESOLVED_BEFORE,
        "organisation identifier: embedded organisation code fails its check character",
        Reason.BAD_STATUS,
        "person identifier must start with 17 digits",
        Reason.missing("category"),
    }
    assert {row["source"] for row in rows} == set(SOURCES)


def test_dates_versions_withdrawals_and_amounts(town: tuple[str, TownStats]) -> None:
    path, stats = town
    rows = [r for r in _rows(path) if not str(r["record_id"]).startswith("BAD-")]
    occurred = [dt.date.fromisoformat(r["occurred_on"]) for r in rows]
    assert min(occurred) > DEMO_AS_OF - dt.timedelta(days=YEARS * 365 + 1)
    assert sum(d > DEMO_AS_OF for d in occurred) >= 1 and max(occurred) <= DEMO_AS_OF + dt.timedelta(days=61)
    resolved = [(r, dt.date.fromisoformat(r["resolved_on"])) for r in rows if r["resolved_on"]]
    assert resolved and all(dt.date.fromisoformat(r["occurred_on"]) <= d <= DEMO_AS_OF for r, d in resolved)
    # a withdrawal or a later version comes after the first version of the same record
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["source"], row["record_id"])
        if row["status"] == "withdrawn" or key in seen:
            assert key in seen
        seen[key] = row
    assert stats.withdrawn == sum(r["status"] == "withdrawn" for r in rows) > 0
    assert stats.later_versions > 0 and stats.future_dated > 0
    # amounts cross the tiers of tax.late_payment (10,000 and 100,000)
    late = [float(r["amount"]) for r in rows if r["category"] == "tax.late_payment"]
    assert min(late) < 10_000 <= max(late) and any(a >= 100_000 for a in late)


def test_rates_are_roughly_those_documented(town: tuple[str, TownStats]) -> None:
    path, _ = town
    con = duckdb.connect()
    try:
        observed = {
            (category, kind): (int(subjects), int(records))
            for category, kind, subjects, records in con.execute(
                f"""SELECT category, subject_kind, count(DISTINCT subject_id), count(DISTINCT (source, record_id))
                    FROM read_parquet('{path}') WHERE record_id NOT LIKE 'BAD-%' GROUP BY ALL"""
            ).fetchall()
        }
    finally:
        con.close()
    for rate in CATEGORIES:
        population = PEOPLE if rate.kind == "person" else ORGS
        subjects, records = observed.get((rate.category, rate.kind), (0, 0))
        spread = 4 * (rate.share * (1 - rate.share) / population) ** 0.5 + 0.002
        assert abs(subjects / population - rate.share) <= spread, (rate.category, rate.kind, subjects)
        if subjects >= 40:
            assert records / subjects == pytest.approx(rate.events, rel=0.25), (rate.category, rate.kind)
    court = observed[("court.judgment_default", "person")][0] / PEOPLE
    assert 0.006 <= court <= 0.02


def test_arguments_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="people"):
        generate_town(str(tmp_path / "x.parquet"), people=-1)
    with pytest.raises(ValueError, match="bad_rows"):
        generate_town(str(tmp_path / "x.parquet"), people=10, organizations=0, bad_rows=3)


# --- the summary and the command --------------------------------------------------


def test_summary_counts_grades_lists_measures_and_reasons(tmp_path: Path) -> None:
    book = parse_rulebook(demo_rulebook_text()).rulebook
    assert book is not None
    scores = str(tmp_path / "scores.parquet")
    duckdb.execute(
        f"""COPY (SELECT * FROM (VALUES
                ('a', 'person', 'A', '', '', ''),
                ('b', 'person', 'B', 'dishonest-judgment-debtors', 'high-consumption-restriction',
                 'court.judgment_default;loan.overdue'),
                ('c', 'organization', 'AA', 'honour-roll', 'deposit-free-public-services', 'loan.overdue'))
              t(subject_id, subject_kind, grade, lists, measures, reasons)) TO '{scores}' (FORMAT parquet)"""
    ).fetchall()
    summary = summarize(scores, book)
    assert summary.subjects == 3 and summary.by_kind == {"person": 2, "organization": 1}
    assert [(g.name, g.count) for g in summary.grades] == [
        ("AAA", 0),
        ("AA", 1),
        ("A", 1),
        ("B", 1),
        ("C", 0),
        ("D", 0),
    ]
    assert {x.name: x.count for x in summary.lists} == {"dishonest-judgment-debtors": 1, "honour-roll": 1}
    assert {m.name: m.count for m in summary.measures}["high-consumption-restriction"] == 1
    assert [(r.name, r.count, r.extra) for r in summary.reasons] == [
        ("loan.overdue", 2, 1),
        ("court.judgment_default", 1, 1),
    ]


def test_credo_demo_end_to_end(tmp_path: Path) -> None:
    from credo.cli.app import app

    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--people", "2000", "--organizations", "200", "--out", str(out)])
    assert result.exit_code == 0, result.output
    for heading in ("Grades", "Lists", "Measures in force", "Reason codes", "Records", "Subjects", "Time"):
        assert heading in result.stdout
    assert "rejected 16" in result.stdout
    assert {p.name for p in out.iterdir()} >= {"records.parquet", "scores.parquet", "rejects.csv", "credo.db"}
    # The town went through ingestion into the store too, and the store's scores are the batch's.
    assert "quarantined 16;" in result.stdout
    assert re.search(r"Agreement\s+the store's scores equal the batch engine's for all [\d,]+ subjects", result.stdout)

    assert_links_sign_in_as_each_visitor(result.stdout, out)

    again = CliRunner().invoke(app, ["demo", "--people", "2000", "--organizations", "200", "--out", str(out)])
    assert again.exit_code == 0, again.output
    assert "unchanged 0," in again.stdout  # a fresh store each run: every record is new again

    kept = tmp_path / "kept.db"
    args = ["--db", f"sqlite:///{kept}", "demo", "--people", "300", "--organizations", "30", "--out", str(out)]
    first, second = CliRunner().invoke(app, args), CliRunner().invoke(app, args)
    assert first.exit_code == second.exit_code == 0, first.output + second.output
    assert "new 0, new versions 0" in second.stdout  # a store named by --db is kept: the same town is unchanged
    assert "Agreement" in second.stdout


def assert_links_sign_in_as_each_visitor(said: str, out: Path) -> None:
    """The demo says how to serve its store, and its links sign in as a person worth a dispute, a clerk of the
    bank it registered, a reviewer and an operator."""
    url = f"sqlite:///{out / 'credo.db'}"
    assert f"--db {url} serve" in said
    codes = re.findall(r"http://127\.0\.0\.1:8000/signin/(\S+)", said)
    store = open_store(url)
    try:
        with unit_of_work(store) as uow:
            assert [p.id for p in administration.list_relying(uow)] == ["demo-bank"]
            started = [signin.sign_in(uow, code) for code in codes]
    finally:
        store.engine.dispose()
    roles = [s.session.principal.role if s else None for s in started]
    assert roles == ["subject", "relying", "reviewer", "operator"]
    person = started[0].session.principal.name if started[0] else ""
    scores = duckdb.sql(f"SELECT lists FROM read_parquet('{out / 'scores.parquet'}') WHERE subject_id = '{person}'")
    assert "dishonest-judgment-debtors" in str(scores.fetchall())
    counted = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{out / 'records.parquet'}') WHERE subject_id = '{person}'"
    )
    assert counted.fetchall() == [(1,)]  # one record: disputing it takes the person off the list


def test_credo_demo_without_the_store(tmp_path: Path) -> None:
    from credo.cli.app import app

    out = tmp_path / "demo"
    args = ["demo", "--people", "200", "--organizations", "20", "--out", str(out), "--no-store"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Store" not in result.stdout and not (out / "credo.db").exists()
