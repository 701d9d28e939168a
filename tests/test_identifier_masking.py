"""Identifiers shown to a person are masked, whatever shape the row that carried them had (issue 11, finding 3)."""

from __future__ import annotations

import datetime as dt
import json

from typer.testing import CliRunner

from credo.cli.app import app
from credo.domain.identifiers import make_resident_id, mask_identifier, mask_raw_row, problem_with_resident_id
from tests.apisupport import Api, record
from tests.conftest import Backend
from tests.exposure import unmasked_identifiers
from tests.support import ORG, PERSON

# A person identifier whose check character is a digit, so a source can send it as a JSON number.
NUMERIC = next(
    found
    for sequence in range(1, 100)
    if (found := make_resident_id("320102", dt.date(1979, 3, 4), sequence))[-1].isdigit()
)
assert problem_with_resident_id(NUMERIC) is None


def test_mask_identifier_takes_any_value() -> None:
    assert mask_identifier(PERSON) == PERSON[:4] + "*" * 12 + PERSON[-2:]
    assert mask_identifier(int(NUMERIC)) == mask_identifier(NUMERIC)
    assert mask_identifier("abc") == "***"
    assert NUMERIC not in mask_identifier([NUMERIC, ORG]) and ORG not in mask_identifier({"id": ORG})
    assert mask_identifier(None) == ""


def test_mask_raw_row_masks_any_row() -> None:
    assert mask_raw_row({"subject_id": int(NUMERIC), "category": "court.x"}) == {
        "subject_id": mask_identifier(NUMERIC),
        "category": "court.x",
    }
    kept = mask_raw_row({"malformed": "record is not a JSON object", "text": json.dumps([PERSON, "J-1", ORG])})
    assert PERSON not in str(kept) and ORG not in str(kept) and "J-1" in str(kept)
    assert PERSON not in str(mask_raw_row([PERSON])) and NUMERIC not in str(mask_raw_row(int(NUMERIC)))
    assert mask_raw_row({"subject_id": None}) == {"subject_id": None}


def test_quarantine_lists_mask_identifiers_in_rows_of_any_shape(api: Api, backend: Backend) -> None:
    rows = [
        [PERSON, "court.judgment_default"],
        PERSON,
        int(NUMERIC),
        {**record("N-1", category="nowhere.unknown"), "subject_id": int(NUMERIC)},
        record("O-1", ORG, category="nowhere.unknown"),
    ]
    answer = api.push(*rows)
    assert [r["outcome"] for r in answer["results"]] == ["rejected"] * len(rows)
    listed = api.client.get("/v1/quarantine", headers=api.headers("operator", "alice"))
    assert listed.status_code == 200 and len(listed.json()) == len(rows)
    shown = [listed.text]
    env = {**api.store.environ}
    runner = CliRunner()
    for args in (["quarantine", "list"], ["quarantine", "list", "--json"]):
        result = runner.invoke(app, ["--db", backend.url, *args], env=env)
        assert result.exit_code == 0, result.output
        shown.append(result.stdout)
    for text in shown:
        for identifier in (PERSON, NUMERIC, ORG):
            assert identifier not in text, (identifier, text)
    assert mask_identifier(NUMERIC) in shown[0]


def test_the_scan_finds_valid_identifiers_standing_alone_that_are_not_the_callers() -> None:
    text = f"a {PERSON}, {ORG}; {mask_identifier(NUMERIC)} x{NUMERIC} {NUMERIC[:-1]}0 deadbeef{NUMERIC}"
    assert unmasked_identifiers(text) == {PERSON, ORG}
    assert unmasked_identifiers(text, [PERSON]) == {ORG}
