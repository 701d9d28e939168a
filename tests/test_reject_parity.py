"""The batch's SQL row checks and the reference ``parse_row`` agree word for word (property test).

Rows are drawn from small pools of values on the edges of each rule (see
tests/strategies.py for the style), written as JSON Lines or CSV, and run
through ``run_batch`` on every engine (tests/engines.py). For every row: if ``parse_row`` names a reason, the
batch rejects the row at its line with exactly that reason; if ``parse_row``
returns a Record, the batch accepts the row.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from credo.batch.reader import FIELDS
from credo.domain.identifiers import make_uscc, resident_id_check, uscc_check
from credo.domain.records import Reason, Record, json_object, parse_row
from tests.batchio import ABSENT, batch, cell, write_records
from tests.engines import every_engine
from tests.strategies import ORGS, PEOPLE


def _swap(text: str, position: int, char: str) -> str:
    return text[:position] + char + text[position + 1 :]


def _person(birth: str, area: str = "110101", sequence: str = "042") -> str:
    first17 = area + birth + sequence
    return first17 + resident_id_check(first17)


def _org_code_broken(code: str) -> str:
    first17 = code[:16] + ("1" if code[16] != "1" else "2")
    return first17 + uscc_check(first17)


def identifiers(valid: str, kind: str) -> list[str]:
    """The valid identifier and versions of it that break one identifier rule each."""
    out = [
        valid,
        valid[:-1],
        valid + "0",
        valid.lower(),
        _swap(valid, 3, "I"),
        _swap(valid, 5, "\u0661"),
        " " + valid,
        _swap(valid, 5, "\x00"),
        "",
    ]
    if kind == "person":
        out += [_swap(valid, 17, c) for c in "0X5x"]
        out += [_person("20230229"), _person("00000101"), _person("19900431"), _person("20000229"), ORGS[0]]
    else:
        out += [_swap(valid, 17, c) for c in "0AY"]
        out += [_org_code_broken(valid), make_uscc("91110101", "ABCDEFGH"), PEOPLE[0]]
    return out


# Values that break (or just pass) each rule. Only text, whole numbers, decimals that Python and
# JSON write the same way, and absent values: see the two tests at the end for other JSON values.
POOLS: dict[str, list[Any]] = {
    "source": ["tax", "Court", "", None, ABSENT, " ", 7, "src\u00e9", "a,b", 'say "x"', "t\x00x", "s" * 101],
    "record_id": ["r1", "r2", "R1", "", None, ABSENT, 12, "line\nbreak", "r/1", "\x1b[31mr", "r" * 200, "r" * 201],
    "subject_kind": [
        "person",
        "organization",
        "Person",
        "company",
        "",
        None,
        ABSENT,
        " person",
        "organisation",
        "person\x85",
    ],
    "category": [
        "tax.late_payment",
        "court.judgment_default",
        "misc.unscored",
        "Tax.late",
        "tax..late",
        "tax.",
        ".tax",
        "tax late",
        "",
        None,
        ABSENT,
        "t",
        "a_b.c_1",
        "tax.late\n",
        "tax." + "x" * 196,
        "tax." + "x" * 197,
    ],
    "occurred_on": [
        "2026-02-28",
        "2026-02-30",
        "2024-02-29",
        "2023-02-29",
        "2026-02-28T10:00:00",
        "2026-02-28 10:00",
        "2026-02-28T",
        "2026-02-28x",
        "2026/02/28",
        "26-02-28",
        "2026-2-28",
        "0000-01-01",
        "0001-01-01",
        "1899-12-31",
        "1900-01-01",
        "2999-12-31",
        "3000-01-01",
        "8999-12-31",
        "9000-01-01",
        "9999-12-31",
        " 2026-02-28",
        "2026-02-28\n",
        "",
        None,
        ABSENT,
        20260228,
        "2026-13-01",
        "2026-06-30",
        "2026-07-01",
    ],
    "amount": [
        None,
        ABSENT,
        "",
        0,
        12,
        12.5,
        100000,
        "10000",
        "-5",
        -5,
        "-0",
        "-0.0",
        -0.0,
        "abc",
        "1e3",
        "12.",
        ".5",
        "1,5",
        "007",
        " 5",
        "5 ",
        "+5",
        "0.00",
        9.99,
        "-",
        "1.5.1",
        "-0.001",
        "1000000000000000",
        "1000000000000000.5",
        10**15,
        10**15 + 1,
        "9" * 400,
        "-" + "9" * 400,
        10**400,
        -(10**400),
        1e300,
        "5\x7f",
    ],
    "resolved_on": [
        None,
        ABSENT,
        "",
        "2026-02-27",
        "2026-02-28",
        "2026-03-01",
        "2026-03-01T00:00",
        "2026-02-30",
        "3000-01-01",
        "2026-03-01\t",
        "x",
        0,
    ],
    "status": [None, ABSENT, "", "active", "withdrawn", "ACTIVE", "deleted", " active", "active\n"],
    "reference": [None, ABSENT, "", "case 1", 5, "multi\nline", "\u2028 and \U0001f600 are text", "bell\x07"],
}


@st.composite
def rows(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["person", "organization"]))
    subject = draw(st.sampled_from(PEOPLE if kind == "person" else ORGS))
    row: dict[str, Any] = {
        "source": "tax",
        "record_id": "r1",
        "subject_id": subject,
        "subject_kind": kind,
        "category": "tax.late_payment",
        "occurred_on": "2026-02-28",
    }
    for name, pool in POOLS.items():  # each field broken now and then, several at once sometimes
        if draw(st.integers(0, 2)) == 0:
            row[name] = draw(st.sampled_from(pool))
    if draw(st.booleans()):
        row["subject_id"] = draw(st.sampled_from(identifiers(subject, kind)))
    return row


def reference_reasons(rows_: list[dict[str, Any]], as_text: bool) -> list[str | None]:
    """parse_row's verdict on each row as the file gives it: the reason, or None for a record."""
    verdicts = []
    for row in rows_:
        given_row = {k: cell(v) if as_text else v for k, v in row.items() if v is not ABSENT}
        result = parse_row(given_row)
        verdicts.append(None if isinstance(result, Record) else result)
    return verdicts


def line_numbers(rows_: list[dict[str, Any]], fmt: str) -> list[int]:
    """JSON Lines: one line per row. CSV: header on line 1, a quoted value may span lines."""
    if fmt == "jsonl":
        return list(range(1, len(rows_) + 1))
    numbers, line = [], 2
    for row in rows_:
        numbers.append(line)
        line += 1 + sum(cell(row.get(f)).count("\n") for f in FIELDS)
    return numbers


def check_parity(rows_: list[dict[str, Any]], fmt: str, engine: str = "duckdb") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        result = batch(write_records(folder / f"records.{fmt}", rows_), folder / "scores.csv", engine=engine)
    got = result.reasons()
    expected = reference_reasons(rows_, as_text=fmt == "csv")
    lines = line_numbers(rows_, fmt)
    assert result.summary.read == len(rows_)
    for row, line, reason in zip(rows_, lines, expected, strict=True):
        assert got.get(line) == reason, (line, row)
    assert len(got) == sum(r is not None for r in expected)


# No shrinking: every example runs a whole batch, and a failure already names its line and row.
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)


@pytest.mark.parametrize("engine", every_engine())
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
@SETTINGS
@given(rows_=st.lists(rows(), min_size=5, max_size=50))
def test_batch_rejects_exactly_what_parse_row_rejects_with_the_same_reason(
    fmt: str, engine: str, rows_: list[dict[str, Any]]
) -> None:
    check_parity(rows_, fmt, engine)


# JSON values that are not text. parse_row turns them into text with Python's str(); the batch
# reads JSON's own spelling of them. The two must still agree on every row.

BASE = {
    "source": "tax",
    "subject_id": PEOPLE[0],
    "subject_kind": "person",
    "category": "tax.late_payment",
    "occurred_on": dt.date(2026, 2, 28).isoformat(),
}


@pytest.mark.parametrize("engine", every_engine())
def test_json_numbers_in_any_notation_are_judged_alike(engine: str) -> None:
    """0.00001 and 1e16 are decimal numbers >= 0; Python writes them 1e-05 and 1e+16, JSON readers 0.00001."""
    rows_ = [
        {**BASE, "record_id": "small", "amount": 0.00001},
        {**BASE, "record_id": "large", "amount": 1e16},
        {**BASE, "record_id": "small-negative", "amount": -0.00001},
        {**BASE, "record_id": "category", "category": 0.00001},
    ]
    check_parity(rows_, "jsonl", engine)


@pytest.mark.parametrize("engine", every_engine())
def test_json_booleans_are_judged_alike(engine: str) -> None:
    """A JSON true is not a category: parse_row sees 'True' and rejects it, the batch must too."""
    rows_ = [{**BASE, "record_id": "flag", "category": True}, {**BASE, "record_id": "off", "category": False}]
    check_parity(rows_, "jsonl", engine)


def test_the_pools_reach_every_reason() -> None:
    """The property test is only as good as its pools: each reason must be reachable by one change."""
    base = {**BASE, "record_id": "r"}
    reached = set()
    for name, pool in POOLS.items():
        for value in pool:
            row = {**base, name: value}
            reached.add(parse_row({k: v for k, v in row.items() if v is not ABSENT}))
    for kind, valid in (("person", PEOPLE[0]), ("organization", ORGS[0])):
        for sid in identifiers(valid, kind):
            reached.add(parse_row({**base, "subject_kind": kind, "subject_id": sid}))
    reasons = {r for r in reached if isinstance(r, str)}
    # missing fields, row rules, dates out of range, too large, too long, control characters, identifier problems
    assert len(reasons) == 6 + 8 + 2 + 1 + 3 + 10 + 8


@pytest.mark.parametrize("engine", every_engine())
def test_duplicate_keys_are_refused_alike(engine: str) -> None:
    """JSON readers disagree on an object that names a key twice (DuckDB keeps the first, Python the last)."""
    head = f'{{"source": "tax", "subject_id": "{PEOPLE[0]}", "subject_kind": "person", "occurred_on": "2026-02-28"'
    lines = [
        head + ', "record_id": "d1", "category": "tax.late_payment", "amount": 5, "amount": 500}',
        head + ', "record_id": "d2", "record_id": "d3", "category": "tax.late_payment"}',
        head + ', "record_id": "d4", "category": "tax.late_payment", "extra": 1, "extra": 2}',
        head + ', "record_id": "d5", "category": "tax.late_payment", "reference": {"a": 1, "a": 2}}',
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "records.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        got = batch(path, Path(tmp) / "scores.csv", engine=engine).reasons()
    expected = {}
    for number, line in enumerate(lines, start=1):
        verdict = parse_row(json.loads(line, object_pairs_hook=json_object))
        assert isinstance(verdict, str)
        expected[number] = verdict
    assert got == expected
    assert got[1] == got[2] == got[3] == Reason.DUPLICATE_KEYS
    assert got[4] == Reason.not_text("reference")  # a nested object is no text, whatever its keys
