"""One validation at intake, on both backends: a file ingest, a push and a reviewer's correction refuse the
same values with the same words (issue 11, findings 8 to 11), and a bad row never takes others down with it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from typer.testing import CliRunner

from credo.cli.app import app as cli
from credo.domain.records import Reason
from credo.services.ingest import ingest_path
from credo.store.bootstrap import Store
from credo.store.quarantine import quarantine_entries
from credo.store.rulebooks import activate, publish
from credo.store.sources import add_source
from credo.store.tables import records
from tests.apisupport import BANK, SOURCE, Api, record
from tests.conftest import Backend
from tests.support import BASE_YAML, PERSON

NOW = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)
TODAY = dt.date(2026, 6, 30)

# (field changes, reason): each value once broke a whole push, a whole ingest or was stored as it came.
BAD: list[tuple[dict[str, Any], str]] = [
    ({"occurred_on": "0001-01-01"}, Reason.out_of_range("occurred_on")),
    ({"occurred_on": "1899-12-31"}, Reason.out_of_range("occurred_on")),
    ({"occurred_on": "3000-01-01"}, Reason.out_of_range("occurred_on")),
    ({"resolved_on": "0001-01-01"}, Reason.out_of_range("resolved_on")),
    ({"amount": "9" * 400}, Reason.AMOUNT_TOO_LARGE),
    ({"amount": 10**400}, Reason.AMOUNT_TOO_LARGE),
    ({"amount": 1e300}, Reason.AMOUNT_TOO_LARGE),
    ({"amount": 1000000000000001}, Reason.AMOUNT_TOO_LARGE),
    ({"record_id": "nul\x00"}, Reason.control("record_id")),
    ({"reference": "a\x00b"}, Reason.control("reference")),
    ({"category": "tax.\x1b[2Jx"}, Reason.control("category")),
    ({"reference": "\x9b31m"}, Reason.control("reference")),
    ({"record_id": "x" * 201}, Reason.too_long("record_id")),
]
GOOD: list[dict[str, Any]] = [
    {"occurred_on": "1900-01-01"},
    {"occurred_on": "2999-12-31"},
    {"amount": 10**15},
    {"record_id": "2026/01/Zhi-7"},
    {"reference": "(2026)\u4eac01\u6267123\u53f7 \U0001f600"},
]


def _row(n: int, changes: dict[str, Any]) -> dict[str, Any]:
    base = {
        "source": "tax-authority",
        "record_id": f"R-{n}",
        "subject_id": PERSON,
        "subject_kind": "person",
        "category": "tax.late_payment",
        "occurred_on": "2026-03-01",
    }
    return {**base, **changes}


def _ready(store: Store) -> Store:
    with store.begin() as connection:
        publish(connection, BASE_YAML, "book.yaml", NOW)
        activate(connection, "2026.1", NOW)
        add_source(connection, "tax-authority", ["tax.*"], NOW)
    return store


def test_a_file_ingest_quarantines_each_bad_row_and_stores_the_rest(store: Store, tmp_path: Path) -> None:
    """0001-01-01 once aborted the whole file; NUL aborted it on PostgreSQL and was stored on SQLite."""
    _ready(store)
    rows = [_row(i, changes) for i, (changes, _) in enumerate(BAD)]
    rows += [_row(100 + i, changes) for i, changes in enumerate(GOOD)]
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    summary = ingest_path(store, str(path), today=TODAY)
    assert (summary.read, summary.new, summary.quarantined) == (len(rows), len(GOOD), len(BAD))
    with store.begin() as connection:
        entries = quarantine_entries(connection, store.keys(connection))
        stored = connection.execute(sa.select(records.c.record_id, records.c.occurred_on, records.c.amount)).all()
    assert [(e.row, e.reason) for e in entries] == [(i + 1, reason) for i, (_, reason) in enumerate(BAD)]
    assert sorted(r[0] for r in stored) == sorted(r["record_id"] for r in rows[len(BAD) :])
    assert max(r[2] or 0 for r in stored) == 10**15


def test_a_push_rejects_each_bad_record_with_the_words_of_file_ingestion(api: Api) -> None:
    """Before: a 500 for the whole push (0001-01-01, NUL on PostgreSQL, a lone surrogate), Infinity stored."""
    bad = [{**record(f"P-{i}"), **changes} for i, (changes, _) in enumerate(BAD)]
    bad.append(record("P-surrogate", reference="\ud800"))
    good = [{**record(f"G-{i}"), **changes} for i, changes in enumerate(GOOD)]
    headers = {**api.headers("source", SOURCE), "Content-Type": "application/json"}
    answer = api.client.post("/v1/records", content=json.dumps(bad + good), headers=headers)
    assert answer.status_code == 200, answer.text
    reasons = [r.get("reason") for r in answer.json()["results"]]
    expected = [reason for _, reason in BAD] + [Reason.control("reference")] + [None] * len(GOOD)
    assert reasons == expected
    listed = api.client.get("/v1/quarantine", headers=api.headers("operator"))
    assert listed.status_code == 200
    assert len(listed.json()) == len(bad)
    assert api.client.get(f"/v1/subjects/{PERSON}/report", headers=api.headers("operator")).status_code < 500


def _dispute(api: Api, record_id: str) -> str:
    api.push(record(record_id))
    opened = api.client.post(
        "/v1/me/disputes",
        json={"source": SOURCE, "record_id": record_id, "statement": "wrong date"},
        headers=api.headers("subject", PERSON),
    )
    assert opened.status_code == 201, opened.text
    return str(opened.json()["dispute_id"])


def test_a_correction_is_checked_as_a_record_is(api: Api) -> None:
    """Before: a correction to 0001-01-01 answered 500; 1e300 was taken as an amount."""
    dispute_id = _dispute(api, "C-1")
    reviewer = api.headers("reviewer", "rita")
    for correction, reason in [
        ({"occurred_on": "0001-01-01"}, Reason.out_of_range("occurred_on")),
        ({"resolved_on": "3000-01-01"}, Reason.out_of_range("resolved_on")),
        ({"amount": 1e300}, Reason.AMOUNT_TOO_LARGE),
        ({"resolved_on": "2000-01-01"}, Reason.RESOLVED_BEFORE),
        ({"occurred_on": "2026-6-30"}, Reason.BAD_OCCURRED_ON),  # one date parser: records, options, bodies
        ({"resolved_on": "2026-02-30"}, Reason.BAD_RESOLVED_ON),
    ]:
        body = {"outcome": "corrected", "reasons": "checked", "correction": correction}
        answer = api.client.post(f"/v1/disputes/{dispute_id}/decision", json=body, headers=reviewer)
        problem = answer.json()
        said = [problem["detail"]] + [e["problem"] for e in problem.get("errors", [])]
        assert answer.status_code == 422 and reason in said, (correction, problem)
    body = {"outcome": "corrected", "reasons": "checked", "correction": {"occurred_on": "1900-01-01"}}
    assert api.client.post(f"/v1/disputes/{dispute_id}/decision", json=body, headers=reviewer).status_code == 200


def _routes_with_parameters(api: Api) -> list[tuple[str, str]]:
    paths = api.client.get("/v1/openapi.json").json()["paths"]
    return [(method, path) for path, item in paths.items() if "{" in path for method in item if method != "parameters"]


PRINCIPALS = [("operator", None), ("source", SOURCE), ("subject", PERSON), ("reviewer", "rita"), ("relying", BANK)]


def test_control_characters_in_any_path_or_query_parameter_are_a_422(api: Api) -> None:
    """Before: NUL in a path parameter gave 500 on eleven routes on PostgreSQL. Now one check for every route."""
    routes = _routes_with_parameters(api)
    assert len(routes) >= 10
    for bad in ("%00", "%1B%5B2J", "%C2%85"):
        for method, path in routes:
            url = re.sub(r"\{[^}]+\}", f"x{bad}y", path)
            for role, principal in PRINCIPALS:
                answer = api.client.request(method.upper(), url, headers=api.headers(role, principal))
                assert answer.status_code == 422, (method, path, role, answer.text)
                assert answer.json()["code"] == "invalid-request"
                assert "control character" in answer.json()["detail"]
        answer = api.client.get(f"/v1/lists/dishonest-judgment-debtors?subject={PERSON}{bad}")
        assert answer.status_code == 422, answer.text


def test_a_record_id_holding_a_slash_can_be_withdrawn(api: Api) -> None:
    """Ids are the sources' own (court case numbers hold "/"): withdrawal reaches any id, encoded or not."""
    api.push(record("2026/01/Zhi-7"), record("a/b"), record("ends/"))
    headers = api.headers("source", SOURCE)
    for sent in ("2026%2F01%2FZhi-7", "a/b", "ends/"):
        answer = api.client.post(f"/v1/records/{SOURCE}/{sent}/withdraw", headers=headers)
        assert answer.status_code == 200, (sent, answer.text)
        assert answer.json()["outcome"] == "version"
    missing = api.client.post(f"/v1/records/{SOURCE}/no/such/withdraw", headers=headers)
    assert (missing.status_code, missing.json()["instance"]) == (404, "/v1/records/{source}/{record_id}/withdraw")


def test_control_characters_in_request_bodies_are_a_422_not_a_500(api: Api) -> None:
    """NUL in a body field reached PostgreSQL (500); every request body model refuses it, once (TextIn)."""
    api.push(record("B-1"))
    subject, operator = api.headers("subject", PERSON), api.headers("operator")
    for method, url, headers, body in [
        ("POST", "/v1/me/disputes", subject, {"source": "court\x00", "record_id": "B-1", "statement": "x"}),
        ("POST", "/v1/me/disputes", subject, {"source": SOURCE, "record_id": "B-1", "statement": "a\x00b"}),
        ("POST", "/v1/me/repairs", subject, {"source": SOURCE, "record_id": "B-1\x1b[2J", "statement": "x"}),
        ("POST", "/v1/sources", operator, {"id": "s\x00", "categories": ["tax.*"]}),
        ("POST", "/v1/sources", operator, {"id": "s2", "categories": ["tax.\x00"]}),
        ("POST", "/v1/relying", operator, {"id": "r\x00", "measures": ["loan-fast-track"]}),
        ("PUT", "/v1/me/contact", subject, {"email": "a\x00@example.org"}),
    ]:
        answer = api.client.request(method, url, headers=headers, json=body)
        assert answer.status_code == 422, (url, body, answer.text)
        assert "control character" in answer.text
    lines = {"source": SOURCE, "record_id": "B-1", "statement": "First line.\nSecond line.\tTabbed."}
    assert api.client.post("/v1/me/disputes", headers=subject, json=lines).status_code == 201


def test_retrying_the_quarantine_keeps_refusing_what_a_push_refused(api: Api) -> None:
    """A retry reads the kept copy: a duplicate key must stay ambiguous, a lone surrogate must not break it."""
    fields = json.dumps(record("Q-1"))[:-1]
    lone = json.dumps(record("Q-2", reference="\ud800"))
    body = f'[{fields}, "amount": 5, "amount": 500}}, {lone}]'
    headers = {**api.headers("source", SOURCE), "Content-Type": "application/json"}
    assert api.client.post("/v1/records", content=body, headers=headers).json()["rejected"] == 2
    retried = api.client.post("/v1/quarantine/retry", headers=api.headers("operator"))
    assert retried.status_code == 200, retried.text
    listed = api.client.get("/v1/quarantine", headers=api.headers("operator")).json()
    assert sorted(e["reason"] for e in listed) == sorted([Reason.control("reference"), Reason.DUPLICATE_KEYS])


def test_a_correction_from_the_command_line_is_read_as_a_record_is(api: Api, backend: Backend) -> None:
    """--occurred-on and --amount: the parsers of records, one line and exit 1 for a bad value, no usage box."""
    dispute_id = _dispute(api, "L-1")
    env = {**backend.environ, "CREDO_TODAY": "2026-06-30"}
    base = ["--db", backend.url, "dispute", "decide", dispute_id, "--outcome", "corrected", "--reasons", "checked"]
    for extra, message in [
        (["--occurred-on", "2026-6-30"], "--occurred-on is not a valid date (YYYY-MM-DD)"),
        (["--occurred-on", "0001-01-01"], "--occurred-on must be between 1900-01-01 and 2999-12-31"),
        (["--amount", "1e300"], "--amount is not a decimal number"),
        (["--amount", "-5"], "--amount is negative"),
        (["--amount", "9" * 400], "--amount is larger than 1000000000000000"),
    ]:
        result = CliRunner().invoke(cli, base + extra, env=env)
        assert (result.exit_code, result.stdout) == (1, ""), (extra, result.output)
        assert result.stderr.strip() == f"error: {message}", extra
    done = CliRunner().invoke(cli, [*base, "--amount", "1250.50", "--occurred-on", "1900-01-01"], env=env)
    assert done.exit_code == 0, done.output
