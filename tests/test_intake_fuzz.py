"""Fuzzing intake on both backends: hostile rows through ``credo ingest`` and through pushes (issue 11).

Rows mix every field type, odd Unicode (controls, lone surrogates, bidi,
combining marks, CJK, emoji), extreme numbers (hundreds of digits, 1e308,
negative zero) and dates (year 1, 9999, 29 February), broken CSV quoting and
broken JSON lines, among well-formed rows so that some are stored. Whatever
comes: never a traceback or a 5xx; every row is stored or quarantined with
its reason (``read = stored + quarantined``); a file that cannot be read is
refused whole with one line and nothing stored.

Example counts are kept small (each ingest runs the DuckDB pipeline): the
parity test and the pools of tests/test_reject_parity.py cover the rules
themselves, this test covers the paths.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from credo.batch.reader import InputError
from credo.domain.records import FIELD_ORDER
from credo.services.ingest import ingest_path
from credo.store.bootstrap import Store
from credo.store.quarantine import quarantine_entries
from credo.store.rulebooks import activate, publish
from credo.store.sources import add_source
from credo.store.tables import quarantine, records
from tests.apisupport import SOURCE, Api
from tests.batchio import cell
from tests.strategies import ORGS, PEOPLE
from tests.support import BASE_YAML

NOW = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)
TODAY = dt.date(2026, 6, 30)
_examples = itertools.count(1)

ODD = [
    "\x00",
    "\x1b[2J",
    "\x7f",
    "\x85",
    "\t",
    "\r\n",
    "\u2028",
    "\u202e",
    "\u200b",
    "\u0301",
    "\ufeff",
    "\U0001f600",
    "\u4eac",
    '"',
    ",",
    "'",
    "\\",
    "{",
]
odd_text = st.lists(st.one_of(st.sampled_from(ODD), st.text(max_size=4)), max_size=4).map("".join)
surrogates = st.sampled_from(["\ud800", "a\udfffb", "\udbff\udc00"])  # the last one is a pair: text
DATES = ["2026-03-01", "2024-02-29", "2023-02-29", "0001-01-01", "1899-12-31", "1900-01-01", "2999-12-31",
         "3000-01-01", "9999-12-31", "2026-6-30", "2026-03-01T10:00:00", "20260301", ""]  # fmt: skip
dates = st.one_of(st.sampled_from(DATES), st.dates().map(dt.date.isoformat), odd_text)
amounts = st.one_of(
    st.none(),
    st.integers(-(10**20), 10**20),
    st.sampled_from([10**15, 10**15 + 1, 10**400, -(10**400), -0.0, 1e308, 5e-324, "9" * 400, "1e3", "-0", "007"]),
    st.floats(allow_nan=False, allow_infinity=False),
    odd_text,
)
kinds = st.sampled_from(["person", "organization", "Person", "", "\x00person"])


@st.composite
def rows(draw: st.DrawFn, source: str, category: str, surrogate: bool) -> dict[str, Any]:
    """A row that is well formed about half the time, hostile in one or several fields otherwise."""
    kind = draw(st.sampled_from(["person", "organization"]))
    row: dict[str, Any] = {
        "source": source,
        "record_id": draw(st.sampled_from(["R-1", "R-2", "a/b", "\u4eac-7"])),
        "subject_id": draw(st.sampled_from(PEOPLE if kind == "person" else ORGS)),
        "subject_kind": kind,
        "category": category,
        "occurred_on": "2026-03-01",
    }
    text = st.one_of(odd_text, surrogates) if surrogate else odd_text
    hostile: dict[str, st.SearchStrategy[Any]] = {
        "source": text,
        "record_id": st.one_of(text, st.text(min_size=190, max_size=210), st.integers()),
        "subject_id": st.one_of(text, st.integers(0, 10**20)),
        "subject_kind": kinds,
        "category": st.one_of(text, st.just(category + "\n")),
        "occurred_on": dates,
        "amount": amounts,
        "resolved_on": dates,
        "status": st.sampled_from(["active", "withdrawn", "", "Active", "active\x00"]),
        "reference": st.one_of(st.none(), text),
    }
    for name in draw(st.lists(st.sampled_from(FIELD_ORDER), max_size=3, unique=True)):
        row[name] = draw(hostile[name])
    return row


BROKEN_JSON = ['{"source": "tax-authority", "record_id": ', "[1, 2]", '{"a": "\\ud800"}', "{'a': 1}",
               '{"amount": NaN}', '{"record_id": "x", "record_id": "y"}', "\x00", '"just text"']  # fmt: skip
BROKEN_CSV = ['"unterminated,x', 'a,b"c,d', '"",""', ",,,,,,,,,,,", "x" * 10, '"a""b",c']


def _is_json(text: str) -> bool:
    try:
        json.loads(text, parse_constant=lambda name: 1 / 0)
    except (ValueError, ZeroDivisionError):
        return False
    return True


def _csv_line(row: dict[str, Any]) -> str:
    def quoted(value: Any) -> str:
        text = cell(value)
        return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\r\n') else text

    return ",".join(quoted(row.get(f)) for f in FIELD_ORDER)


@st.composite
def files(draw: st.DrawFn) -> tuple[str, list[str], int | None]:
    """(format, lines, rows the file holds or None when broken quoting may join lines)."""
    fmt = draw(st.sampled_from(["jsonl", "csv"]))
    drawn = draw(st.lists(rows("tax-authority", "tax.late_payment", surrogate=False), min_size=1, max_size=8))
    if fmt == "jsonl":
        lines = [json.dumps(r) for r in drawn]  # ensure_ascii: a surrogate would be an escape
        lines += draw(st.lists(st.sampled_from(BROKEN_JSON), max_size=2))
        return fmt, draw(st.permutations(lines)), len(lines)
    lines = [_csv_line(r) for r in drawn]
    broken = draw(st.lists(st.sampled_from(BROKEN_CSV), max_size=2))
    return fmt, [",".join(FIELD_ORDER), *draw(st.permutations(lines + broken))], None


SETTINGS = settings(
    max_examples=12,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _ready(store: Store) -> None:
    if getattr(store, "_fuzz_ready", False):
        return
    with store.begin() as connection:
        publish(connection, BASE_YAML, "book.yaml", NOW)
        activate(connection, "2026.1", NOW)
        add_source(connection, "tax-authority", ["tax.*"], NOW)
    store._fuzz_ready = True  # type: ignore[attr-defined]


def _counts(store: Store) -> tuple[int, int]:
    with store.begin() as connection:
        stored = connection.execute(sa.select(sa.func.count()).select_from(records)).scalar_one()
        kept = connection.execute(sa.select(sa.func.count()).select_from(quarantine)).scalar_one()
    return int(stored), int(kept)


def _known(**changes: Any) -> str:
    """A row that once aborted a whole ingest (year 1; NUL on PostgreSQL) or was stored as infinity."""
    row = {"source": "tax-authority", "record_id": "K", "subject_id": PEOPLE[0], "subject_kind": "person",
           "category": "tax.late_payment", "occurred_on": "2026-03-01"}  # fmt: skip
    return json.dumps({**row, **changes})


@SETTINGS
@given(file=files())
@example(file=("jsonl", [_known(occurred_on="0001-01-01"), _known(reference="\x00"), _known(amount=10**400)], 3))
def test_ingest_stores_or_quarantines_every_row_of_any_file(
    store: Store, tmp_path: Path, file: tuple[str, list[str], int | None]
) -> None:
    _ready(store)
    fmt, lines, expected = file
    path = tmp_path / f"f{next(_examples)}.{fmt}"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8", errors="surrogateescape")
    before = _counts(store)
    try:
        summary = ingest_path(store, str(path), today=TODAY)
    except InputError as exc:  # refused whole: one printable line, nothing stored
        assert "\n" not in str(exc) and str(exc).isprintable()
        assert fmt == "csv" and _counts(store) == before
        return
    assert summary.adds_up  # read = new + versions + unchanged + quarantined
    if expected is not None:
        assert summary.read == expected
    stored, kept = _counts(store)
    assert stored - before[0] == summary.new + summary.versions
    assert kept - before[1] == summary.quarantined - summary.already_quarantined
    with store.begin() as connection:
        entries = quarantine_entries(connection, store.keys(connection))
    assert all(e.reason for e in entries)
    json.dumps([e.as_json() for e in entries])  # every kept row can be shown


@SETTINGS
@given(
    pushed=st.lists(rows(SOURCE, "court.judgment_default", surrogate=True), min_size=1, max_size=8),
    lines=st.booleans(),
    broken=st.lists(st.sampled_from(BROKEN_JSON), max_size=1),
)
@example(
    pushed=[{"record_id": "\ud800", "subject_id": PEOPLE[0], "subject_kind": "person", "occurred_on": "0001-01-01",
             "category": "court.judgment_default", "reference": "\x00"}],
    lines=False,
    broken=[],
)  # fmt: skip
def test_a_push_stores_or_rejects_every_record_and_never_fails(
    api: Api, pushed: list[dict[str, Any]], lines: bool, broken: list[str]
) -> None:
    headers = api.headers("source", SOURCE)
    if lines:
        body = "\n".join([json.dumps(r) for r in pushed] + broken)
        headers["Content-Type"] = "application/x-ndjson"
    else:
        body = json.dumps(pushed)
        headers["Content-Type"] = "application/json"
    before = _counts(api.store)
    answer = api.client.post("/v1/records", content=body.encode(), headers=headers)
    assert answer.status_code < 500, answer.text
    if answer.status_code != 200:  # a body that is not JSON is refused whole, as a problem, nothing stored
        assert answer.status_code == 400 and broken and lines, answer.text
        assert _counts(api.store) == before
        return
    result = answer.json()
    outcomes = [r["outcome"] for r in result["results"]]
    extra = sum(_is_json(b) for b in broken) if lines else 0  # a line of JSON that is no object is a record too
    assert result["received"] == len(outcomes) == len(pushed) + extra
    assert all(("reason" in r) == (r["outcome"] == "rejected") for r in result["results"])
    stored, kept = _counts(api.store)
    assert stored - before[0] == result["new"] + result["versions"]
    assert (kept > before[1]) <= (result["rejected"] > 0)
    for url in ("/v1/quarantine", "/v1/stats"):
        assert api.client.get(url, headers=api.headers("operator")).status_code < 500
    assert api.client.post("/v1/quarantine/retry", headers=api.headers("operator")).status_code == 200
