"""``credo batch`` never scores a bad row and never loses one.

Every row that breaks a rule of SCORING.md (Records, Identifiers) goes to the
rejects output with its file, its row number and the reason, the summary
counts it (read = accepted + rejected), and only subjects with an accepted
row get a score. Row numbers are the line numbers of CSV (header = line 1)
and JSON Lines, and 1-based row numbers of Parquet.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credo.batch.reader import FIELDS, InputError
from credo.domain.identifiers import IdProblem, problem_with_uscc, resident_id_check, uscc_check
from credo.domain.records import REQUIRED_FIELDS, Reason, Record, parse_row
from credo.domain.rulebook import Rulebook
from credo.domain.scoring import explain
from tests.batchio import ABSENT, AS_OF, FORMATS, Batch, base_book, batch, write_records
from tests.strategies import record_rows, rulebooks
from tests.support import ORG, OTHER_PERSON, PERSON
from tests.test_reject_parity import rows as parity_rows

# ---------------------------------------------------------------------------------------------
# Synthetic identifiers that break exactly one rule each (built, never copied from anyone).


def person_id(birth: str, area: str = "110101", sequence: str = "007") -> str:
    """A resident identity number with a correct check character, whatever the birth date says."""
    first17 = area + birth + sequence
    return first17 + resident_id_check(first17)


def other_last_char(identifier: str, alphabet: str) -> str:
    return identifier[:-1] + next(c for c in alphabet if c != identifier[-1])


def org_with_broken_org_code() -> str:
    """A USCC whose own check character is right but whose embedded organisation code check is wrong."""
    wrong = next(c for c in "0123456789" if c != ORG[16])
    first17 = ORG[:16] + wrong
    return first17 + uscc_check(first17)


def replace_at(identifier: str, position: int, char: str) -> str:
    return identifier[:position] + char + identifier[position + 1 :]


# ---------------------------------------------------------------------------------------------
# One row per case. Bad rows name PERSON where they can, with a category that would change
# PERSON's score and lists if the row were ever scored.


def good_row(n: int) -> dict[str, Any]:
    return {
        "source": "civic-registry",
        "record_id": f"good-{n}",
        "subject_id": PERSON,
        "subject_kind": "person",
        "category": "civic.volunteer_service",
        "occurred_on": "2026-03-01",
    }


def case_row(case_id: str, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "source": "court",
        "record_id": case_id,
        "subject_id": PERSON,
        "subject_kind": "person",
        "category": "court.judgment_default",
        "occurred_on": "2026-03-01",
        "reference": case_id,  # comes back in the rejects output whatever else the row lacks
    }
    row.update(changes)
    return row


@dataclass(frozen=True)
class Case:
    id: str
    changes: dict[str, Any]
    reason: str | None  # None: the row is accepted

    @property
    def row(self) -> dict[str, Any]:
        return case_row(self.id, **self.changes)


CASES = [
    *(Case(f"missing-{f}-empty", {f: ""}, Reason.missing(f)) for f in REQUIRED_FIELDS),
    *(Case(f"missing-{f}-null", {f: None}, Reason.missing(f)) for f in REQUIRED_FIELDS),
    *(Case(f"missing-{f}-absent", {f: ABSENT}, Reason.missing(f)) for f in REQUIRED_FIELDS),
    Case("missing-two-fields", {"category": "", "subject_id": ""}, Reason.missing("subject_id")),
    Case("person-check", {"subject_id": other_last_char(PERSON, "0123456789X")}, IdProblem.PERSON_CHECK),
    Case("person-birth-feb-30", {"subject_id": person_id("19900230")}, IdProblem.PERSON_BIRTH),
    Case("person-birth-year-0", {"subject_id": person_id("00000101")}, IdProblem.PERSON_BIRTH),
    Case("person-birth-not-leap", {"subject_id": person_id("19000229")}, IdProblem.PERSON_BIRTH),
    Case("person-length-17", {"subject_id": PERSON[:17]}, IdProblem.PERSON_LENGTH),
    Case("person-length-19", {"subject_id": PERSON + "1"}, IdProblem.PERSON_LENGTH),
    Case("person-letter", {"subject_id": replace_at(PERSON, 5, "A")}, IdProblem.PERSON_DIGITS),
    Case("person-arabic-digit", {"subject_id": replace_at(PERSON, 8, "\u0661")}, IdProblem.PERSON_DIGITS),
    Case(
        "org-check",
        {"subject_id": other_last_char(ORG, "0123456789ABC"), "subject_kind": "organization"},
        IdProblem.ORG_CHECK,
    ),
    Case(
        "org-code-check",
        {"subject_id": org_with_broken_org_code(), "subject_kind": "organization"},
        IdProblem.ORG_CODE_CHECK,
    ),
    Case(
        "org-letter-I", {"subject_id": replace_at(ORG, 3, "I"), "subject_kind": "organization"}, IdProblem.ORG_ALPHABET
    ),
    Case("org-lowercase", {"subject_id": ORG.lower(), "subject_kind": "organization"}, IdProblem.ORG_ALPHABET),
    Case("org-length", {"subject_id": ORG[:17], "subject_kind": "organization"}, IdProblem.ORG_LENGTH),
    Case(
        "person-id-as-organization", {"subject_id": PERSON, "subject_kind": "organization"}, problem_with_uscc(PERSON)
    ),
    Case("org-id-as-person", {"subject_id": ORG, "subject_kind": "person"}, IdProblem.PERSON_DIGITS),
    Case("kind-company", {"subject_kind": "company"}, Reason.BAD_KIND),
    Case("kind-capital", {"subject_kind": "Person"}, Reason.BAD_KIND),
    Case("kind-space", {"subject_kind": " person"}, Reason.BAD_KIND),
    Case("category-capital", {"category": "Court.judgment_default"}, Reason.BAD_CATEGORY),
    Case("category-space", {"category": "court judgment"}, Reason.BAD_CATEGORY),
    Case("occurred-feb-30", {"occurred_on": "2026-02-30"}, Reason.BAD_OCCURRED_ON),
    Case("occurred-slashes", {"occurred_on": "2026/03/01"}, Reason.BAD_OCCURRED_ON),
    Case("occurred-short", {"occurred_on": "2026-3-1"}, Reason.BAD_OCCURRED_ON),
    Case("occurred-year-0", {"occurred_on": "0000-03-01"}, Reason.BAD_OCCURRED_ON),
    Case("occurred-year-9000", {"occurred_on": "9000-01-01"}, Reason.out_of_range("occurred_on")),
    Case("occurred-year-3000", {"occurred_on": "3000-01-01"}, Reason.out_of_range("occurred_on")),
    Case("occurred-latest", {"occurred_on": "2999-12-31"}, None),
    Case("occurred-earliest", {"occurred_on": "1900-01-01"}, None),
    Case("occurred-year-1899", {"occurred_on": "1899-12-31"}, Reason.out_of_range("occurred_on")),
    Case("occurred-year-1", {"occurred_on": "0001-01-01"}, Reason.out_of_range("occurred_on")),
    Case("resolved-year-9999", {"resolved_on": "9999-12-31"}, Reason.out_of_range("resolved_on")),
    Case("occurred-trailing-junk", {"occurred_on": "2026-03-01x"}, Reason.BAD_OCCURRED_ON),
    Case("occurred-with-time", {"occurred_on": "2026-03-02T10:30:00"}, None),
    Case("occurred-with-space-time", {"occurred_on": "2026-03-03 23:59"}, None),
    Case("resolved-before", {"resolved_on": "2026-02-28"}, Reason.RESOLVED_BEFORE),
    Case("resolved-feb-30", {"resolved_on": "2026-02-30"}, Reason.BAD_RESOLVED_ON),
    Case("resolved-same-day", {"occurred_on": "2026-03-04", "resolved_on": "2026-03-04"}, None),
    Case("resolved-with-time", {"occurred_on": "2026-03-05", "resolved_on": "2026-03-06T08:00"}, None),
    Case("amount-negative", {"amount": "-5"}, Reason.NEGATIVE_AMOUNT),
    Case("amount-largest", {"occurred_on": "2026-03-09", "amount": "1000000000000000"}, None),
    Case("amount-too-large", {"amount": "1000000000000001"}, Reason.AMOUNT_TOO_LARGE),
    Case("amount-400-digits", {"amount": "9" * 400}, Reason.AMOUNT_TOO_LARGE),
    Case("amount-negative-cents", {"amount": "-0.01"}, Reason.NEGATIVE_AMOUNT),
    Case("amount-minus-zero", {"occurred_on": "2026-03-07", "amount": "-0"}, None),
    Case("amount-text", {"amount": "abc"}, Reason.BAD_AMOUNT),
    Case("amount-comma", {"amount": "12,50"}, Reason.BAD_AMOUNT),
    Case("amount-exponent-text", {"amount": "1e3"}, Reason.BAD_AMOUNT),
    Case("amount-decimal", {"occurred_on": "2026-03-08", "amount": "250000.75"}, None),
    Case("status-unknown", {"status": "deleted"}, Reason.BAD_STATUS),
    Case("status-capital", {"status": "ACTIVE"}, Reason.BAD_STATUS),
    Case("status-withdrawn", {"status": "withdrawn"}, None),
    Case("status-empty-is-active", {"occurred_on": "2026-03-09", "status": ""}, None),
]
REJECTED = [c for c in CASES if c.reason is not None]


def all_rows() -> list[dict[str, Any]]:
    """A good row, then each case followed by a good row, so that a reject's number cannot be off by one."""
    rows = [good_row(0)]
    for n, case in enumerate(CASES, start=1):
        rows += [case.row, good_row(n)]
    return rows


def first_row_number(fmt: str) -> int:
    return {"csv": 2, "jsonl": 1, "parquet": 1}[fmt]


def row_number(fmt: str, case: Case) -> int:
    return first_row_number(fmt) + all_rows().index(case.row)


@pytest.fixture(scope="module", params=FORMATS)
def cases_batch(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Batch]:
    fmt = request.param
    folder = tmp_path_factory.mktemp(f"cases-{fmt}")
    records = write_records(folder / f"records.{fmt}", all_rows())
    return fmt, records, batch(records, folder / "scores.csv")


def test_the_case_table_agrees_with_the_reference_row_check() -> None:
    assert problem_with_uscc(PERSON) is not None  # a person's number is not also a valid USCC
    for case in CASES:
        row = {k: v for k, v in case.row.items() if v is not ABSENT}
        expected = parse_row(row)
        assert (expected if isinstance(expected, str) else None) == case.reason, case.id


@pytest.mark.parametrize("case", REJECTED, ids=lambda c: c.id)
def test_a_bad_row_is_rejected_with_its_file_row_and_reason(cases_batch: tuple[str, Path, Batch], case: Case) -> None:
    fmt, records, result = cases_batch
    reject = result.reject_at(records, row_number(fmt, case))
    assert reject is not None, f"{case.id} is not in the rejects at row {row_number(fmt, case)}"
    assert (reject["reason"], reject["reference"]) == (case.reason, case.id)


@pytest.mark.parametrize("case", [c for c in CASES if c.reason is None], ids=lambda c: c.id)
def test_a_good_row_is_not_rejected(cases_batch: tuple[str, Path, Batch], case: Case) -> None:
    fmt, records, result = cases_batch
    assert result.reject_at(records, row_number(fmt, case)) is None


def test_every_row_is_counted_and_only_bad_rows_are_rejected(cases_batch: tuple[str, Path, Batch]) -> None:
    fmt, records, result = cases_batch
    rows = all_rows()
    assert result.summary.read == len(rows)
    assert result.summary.rejected == len(REJECTED)
    assert result.summary.accepted == len(rows) - len(REJECTED)
    assert sorted(int(r["row"]) for r in result.rejects) == sorted(row_number(fmt, c) for c in REJECTED)
    assert {r["file"] for r in result.rejects} == {str(records)}


def test_bad_rows_are_never_scored(cases_batch: tuple[str, Path, Batch]) -> None:
    """Only PERSON has accepted rows; its score is the reference score of exactly those rows."""
    _, _, result = cases_batch
    assert result.subjects() == {(PERSON, "person")}
    parsed = [parse_row({k: v for k, v in row.items() if v is not ABSENT}) for row in all_rows()]
    records = [r for r in parsed if isinstance(r, Record)]
    expected = explain(base_book(), PERSON, "person", records, AS_OF)
    (scored,) = result.scores
    assert (int(scored["score"]), scored["grade"], scored["lists"]) == (
        expected.score,
        expected.grade,
        ";".join(expected.list_ids),
    )
    assert expected.list_ids == ("dishonest-judgment-debtors",)  # the accepted court records count


def test_the_first_broken_rule_is_the_reason_even_when_the_identifier_is_one_of_several(tmp_path: Path) -> None:
    """parse_row checks the identifier before the category, dates, amount and status; so must the batch.

    A row whose identifier fails its check character and whose date does not
    exist is rejected for the identifier, whether or not the subject has other
    rows.
    """
    bad_person = other_last_char(PERSON, "0123456789X")
    bad_org = org_with_broken_org_code()
    rows = [
        case_row("id-and-date", subject_id=bad_person, occurred_on="2026-02-30"),
        case_row("id-and-amount", subject_id=bad_org, subject_kind="organization", amount="abc"),
        case_row("birth-and-status", subject_id=person_id("19900230"), status="deleted"),
        case_row("id-only", subject_id=bad_person),
    ]
    result = batch(write_records(tmp_path / "records.jsonl", rows), tmp_path / "scores.csv")
    expected = {n: parse_row(row) for n, row in enumerate(rows, start=1)}
    assert expected == {
        1: IdProblem.PERSON_CHECK,
        2: IdProblem.ORG_CODE_CHECK,
        3: IdProblem.PERSON_BIRTH,
        4: IdProblem.PERSON_CHECK,
    }
    assert result.reasons() == expected


def test_a_subject_whose_rows_are_all_rejected_gets_no_score(tmp_path: Path) -> None:
    rows = [
        good_row(1),
        case_row("other-1", subject_id=OTHER_PERSON, occurred_on="2026-02-30"),
        case_row("other-2", subject_id=OTHER_PERSON, amount="-1"),
    ]
    result = batch(write_records(tmp_path / "records.csv", rows), tmp_path / "scores.csv")
    assert result.subjects() == {(PERSON, "person")}
    assert result.reasons() == {3: Reason.BAD_OCCURRED_ON, 4: Reason.NEGATIVE_AMOUNT}


# ---------------------------------------------------------------------------------------------
# Rows that cannot even be split into fields, blank lines, empty files.

HEADER = ",".join(FIELDS)


def csv_line(record_id: str, occurred_on: str = "2026-03-01", reference: str = "", status: str = "") -> str:
    cells = ["court", record_id, PERSON, "person", "court.judgment_default", occurred_on, "", "", status, reference]
    return ",".join(cells)


def test_csv_malformed_rows_and_blank_lines_keep_exact_line_numbers(tmp_path: Path) -> None:
    lines = [
        HEADER,  # 1
        csv_line("ok-1"),  # 2
        "",  # 3 blank: skipped, still counted
        "a,b,c",  # 4 too few cells
        csv_line("bad-date", occurred_on="2026-02-30"),  # 5
        csv_line("ok-2") + ",surplus",  # 6 too many cells
        "",  # 7
        "",  # 8
        csv_line("bad-status", status="gone"),  # 9
        csv_line("ok-3"),  # 10
    ]
    path = tmp_path / "records.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = batch(path, tmp_path / "scores.csv")
    assert result.reasons() == {
        4: "malformed CSV row: expected 10 cells, found 3",
        5: Reason.BAD_OCCURRED_ON,
        6: "malformed CSV row: expected 10 cells, found 11",
        9: Reason.BAD_STATUS,
    }
    assert (result.summary.read, result.summary.accepted, result.summary.rejected) == (6, 2, 4)
    malformed = result.reject_at(path, 4)
    assert malformed is not None and malformed["record_id"] == ""  # nothing to split, nothing invented


def test_csv_with_crlf_line_ends_keeps_line_numbers(tmp_path: Path) -> None:
    lines = [HEADER, csv_line("ok-1"), "", csv_line("bad", occurred_on="2026-02-30"), "x,y"]
    path = tmp_path / "records.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    result = batch(path, tmp_path / "scores.csv")
    assert result.reasons() == {4: Reason.BAD_OCCURRED_ON, 5: "malformed CSV row: expected 10 cells, found 2"}


def test_csv_quoted_value_spanning_lines_is_numbered_by_its_first_line(tmp_path: Path) -> None:
    lines = [
        HEADER,  # 1
        csv_line("multi-line", reference='"case 17/2026\nsecond line\nthird line"'),  # 2-4
        csv_line("bad-date", occurred_on="2026-02-30"),  # 5
        "a,b",  # 6
        csv_line("bad-status", reference='"x\r\ny"', status="gone"),  # 7-8
        csv_line("bad-date-2", occurred_on="2026-13-01"),  # 9
    ]
    path = tmp_path / "records.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="")
    result = batch(path, tmp_path / "scores.csv")
    # A line break is a control character: refused in a record (docs/batch.md), but the lines still count.
    assert result.reasons() == {
        2: Reason.control("reference"),
        5: Reason.BAD_OCCURRED_ON,
        6: "malformed CSV row: expected 10 cells, found 2",
        7: Reason.control("reference"),
        9: Reason.BAD_OCCURRED_ON,
    }
    assert result.summary.accepted == 0


def test_csv_header_names_that_look_like_sql_do_not_matter(tmp_path: Path) -> None:
    header = HEADER + ",rn,range,file,row_no,_rn"
    path = tmp_path / "records.csv"
    path.write_text(f"{header}\n{csv_line('a')},1,2,3,4,5\n{csv_line('b', '2026-02-30')},1,2,3,4,5\n")
    result = batch(path, tmp_path / "scores.csv")
    assert result.reasons() == {3: Reason.BAD_OCCURRED_ON}
    assert result.subjects() == {(PERSON, "person")}


def test_csv_without_a_required_column_is_refused_whole(tmp_path: Path) -> None:
    """A mistake about the file, not about its rows (issue 11, finding 22)."""
    fields = [f for f in FIELDS if f != "subject_kind"]
    path = write_records(tmp_path / "records.csv", [good_row(1), good_row(2)], fields=fields)
    with pytest.raises(InputError, match=r"missing required columns subject_kind$"):
        batch(path, tmp_path / "scores.csv")
    header_only = tmp_path / "header.csv"
    header_only.write_text(",".join(FIELDS) + "\n", encoding="utf-8")
    assert batch(header_only, tmp_path / "empty.csv").summary.read == 0


def test_jsonl_malformed_and_blank_lines_keep_exact_line_numbers(tmp_path: Path) -> None:
    good = json.dumps(good_row(1))
    lines = [
        good,  # 1
        "",  # 2 blank
        "not json at all",  # 3
        "[1, 2, 3]",  # 4 JSON, not an object
        "   ",  # 5 blank
        '"just text"',  # 6
        json.dumps(case_row("bad-date", occurred_on="2026-02-30")),  # 7
        '{"source": "court", "record_id": ',  # 8 cut short
        "\t",  # 9 blank
        "null",  # 10
        "42",  # 11
        '{"source": "court"\x1e}',  # 12 a control character no JSON text holds
        json.dumps(good_row(2)),  # 13
    ]
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = batch(path, tmp_path / "scores.csv")
    malformed = "malformed JSON line: not a JSON object"
    assert result.reasons() == {
        3: malformed,
        4: malformed,
        6: malformed,
        7: Reason.BAD_OCCURRED_ON,
        8: malformed,
        10: malformed,
        11: malformed,
        12: malformed,
    }
    assert (result.summary.read, result.summary.accepted) == (10, 2)
    assert result.subjects() == {(PERSON, "person")}


WITHOUT_ROWS = {
    "header-only.csv": HEADER + "\n",
    "header-only-no-newline.csv": HEADER,
    "header-and-blank-lines.csv": HEADER + "\n\n\n",
    "empty.csv": "",
    "empty.jsonl": "",
    "blank-lines.jsonl": "\n  \n\n",
}


@pytest.mark.parametrize("name", WITHOUT_ROWS)
def test_a_file_without_rows_gives_empty_outputs(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(WITHOUT_ROWS[name], encoding="utf-8")
    result = batch(path, tmp_path / "scores.csv")
    assert (result.summary.read, result.summary.subjects, result.scores, result.rejects) == (0, 0, [], [])
    assert (tmp_path / "scores.csv").read_text().startswith("subject_id,subject_kind,score,grade")


def test_a_parquet_file_without_rows_gives_empty_outputs(tmp_path: Path) -> None:
    path = write_records(tmp_path / "records.parquet", [])
    result = batch(path, tmp_path / "scores.csv")
    assert (result.summary.read, result.scores, result.rejects) == (0, [], [])


# ---------------------------------------------------------------------------------------------
# Parquet with typed columns.


def test_parquet_with_typed_date_and_number_columns(tmp_path: Path) -> None:
    day = dt.date(2026, 3, 1)
    rows: list[tuple[str, dt.date | None, float | None, dt.date | None, str | None]] = [
        ("ok", day, 12.5, None, None),  # 1
        ("negative", day, -5.0, None, None),  # 2
        ("nan", day, math.nan, None, None),  # 3
        ("infinite", day, math.inf, None, None),  # 4
        ("resolved-before", day, None, dt.date(2026, 2, 28), None),  # 5
        ("no-date", None, None, None, None),  # 6
        ("minus-zero", day, -0.0, day, "withdrawn"),  # 7
        ("bad-status", day, 1.0, None, "gone"),  # 8
        ("year-9000", dt.date(9000, 1, 1), None, None, None),  # 9
        ("resolved-9999", day, None, dt.date(9999, 12, 31), None),  # 10
    ]
    table = pa.table(
        {
            "source": ["court"] * len(rows),
            "record_id": [r[0] for r in rows],
            "subject_id": [PERSON] * len(rows),
            "subject_kind": ["person"] * len(rows),
            "category": ["court.judgment_default"] * len(rows),
            "occurred_on": pa.array([r[1] for r in rows], pa.date32()),
            "amount": pa.array([r[2] for r in rows], pa.float64()),
            "resolved_on": pa.array([r[3] for r in rows], pa.date32()),
            "status": pa.array([r[4] for r in rows], pa.string()),
        }
    )
    path = tmp_path / "typed.parquet"
    pq.write_table(table, path)
    typed = batch(path, tmp_path / "typed-scores.csv")
    assert typed.reasons() == {
        2: Reason.NEGATIVE_AMOUNT,
        3: Reason.BAD_AMOUNT,
        4: Reason.AMOUNT_TOO_LARGE,
        5: Reason.RESOLVED_BEFORE,
        6: "missing occurred_on",
        8: Reason.BAD_STATUS,
        9: Reason.out_of_range("occurred_on"),
        10: Reason.out_of_range("resolved_on"),
    }
    # The accepted rows score as the same rows written as text.
    text_rows = [
        case_row("ok", amount="12.5"),
        case_row("minus-zero", amount="-0.0", resolved_on="2026-03-01", status="withdrawn"),
    ]
    text = batch(write_records(tmp_path / "text.parquet", text_rows), tmp_path / "text-scores.csv")
    assert typed.scores == text.scores
    assert [s["lists"] for s in typed.scores] == ["dishonest-judgment-debtors"]


def test_parquet_timestamps_count_by_their_date(tmp_path: Path) -> None:
    table = pa.table(
        {
            "source": ["court", "court"],
            "record_id": ["late-evening", "bad"],
            "subject_id": [PERSON, PERSON],
            "subject_kind": ["person", "person"],
            "category": ["court.judgment_default"] * 2,
            "occurred_on": pa.array(
                [dt.datetime(2026, 6, 30, 23, 59), dt.datetime(2026, 7, 1, 0, 0)], pa.timestamp("s")
            ),
            "resolved_on": pa.array([None, dt.datetime(2026, 6, 30, 12, 0)], pa.timestamp("s")),
        }
    )
    path = tmp_path / "timestamps.parquet"
    pq.write_table(table, path)
    result = batch(path, tmp_path / "scores.csv")
    assert result.reasons() == {2: Reason.RESOLVED_BEFORE}
    assert [(s["score"], s["lists"]) for s in result.scores] == [("900", "dishonest-judgment-debtors")]


# ---------------------------------------------------------------------------------------------
# Folders and globs: files in name order, rows numbered per file, later files hold later versions.


def court(record_id: str, status: str = "active", **changes: Any) -> dict[str, Any]:
    return case_row(record_id, source="court", status=status, **changes)


def test_a_folder_is_read_file_by_file_in_name_order(tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    # Written in another order than their names, so that only name order can pass.
    write_records(folder / "c.parquet", [court("T-1", "withdrawn"), court("T-2"), court("x", subject_kind="firm")])
    write_records(folder / "a.csv", [court("T-1"), court("x", occurred_on="2026-02-30")])
    write_records(
        folder / "b.jsonl",
        [court("T-2", "withdrawn"), court("x", amount="-3"), court("T-3"), court("T-3", "withdrawn")],
    )
    (folder / "notes.txt").write_text("not records")
    os.utime(folder / "a.csv", (1, 1))

    result = batch(folder, tmp_path / "scores.csv")
    assert [(Path(r["file"]).name, int(r["row"]), r["reason"]) for r in result.rejects] == [
        ("a.csv", 3, Reason.BAD_OCCURRED_ON),
        ("b.jsonl", 2, Reason.NEGATIVE_AMOUNT),
        ("c.parquet", 3, Reason.BAD_KIND),
    ]
    assert {r["file"] for r in result.rejects} == {str(folder / n) for n in ("a.csv", "b.jsonl", "c.parquet")}
    assert (result.summary.read, result.summary.rejected) == (9, 3)
    # T-1: active in a.csv, withdrawn in c.parquet (later). T-2: withdrawn in b.jsonl, active in c.parquet
    # (later). T-3: active then withdrawn within b.jsonl. So exactly one court record counts.
    (scored,) = result.scores
    assert (scored["score"], scored["lists"]) == ("900", "dishonest-judgment-debtors")


def test_a_glob_reads_only_the_files_it_matches_in_name_order(tmp_path: Path) -> None:
    write_records(tmp_path / "day-2.jsonl", [court("T-1", "withdrawn"), court("x", status="void")])
    write_records(tmp_path / "day-1.jsonl", [court("T-1"), court("T-2"), court("x", occurred_on="2026-06-31")])
    write_records(tmp_path / "other.csv", [court("T-9", occurred_on="nope")])
    result = batch(str(tmp_path / "day-*.jsonl"), tmp_path / "scores.csv")
    assert [(Path(r["file"]).name, int(r["row"]), r["reason"]) for r in result.rejects] == [
        ("day-1.jsonl", 3, Reason.BAD_OCCURRED_ON),
        ("day-2.jsonl", 2, Reason.BAD_STATUS),
    ]
    (scored,) = result.scores
    assert scored["score"] == "900"  # T-1 withdrawn by the later file, T-2 counts


# ---------------------------------------------------------------------------------------------
# Outputs: the format follows the extension; rejects go beside the scores unless told otherwise.


def _normalised(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: Decimal(v) if k.startswith("dim_") or k == "score" else v for k, v in r.items()} for r in rows]


@pytest.mark.parametrize("ext", ["csv", "jsonl", "parquet"])
def test_scores_and_rejects_in_the_format_of_their_extension(tmp_path: Path, ext: str) -> None:
    rows = [court("T-1"), court("x", occurred_on="2026-02-30"), good_row(1)]
    records = write_records(tmp_path / "records.jsonl", rows)
    reference = batch(records, tmp_path / "reference-scores.csv")
    out = tmp_path / f"scores.{ext}"
    result = batch(records, out, rejects=str(tmp_path / f"rejected.{ext}"))
    assert _normalised(result.scores) == _normalised(reference.scores)
    assert [(r["row"], r["reason"]) for r in result.rejects] == [("2", Reason.BAD_OCCURRED_ON)]
    if ext == "parquet":
        assert pq.read_table(out).num_rows == 1
    elif ext == "jsonl":
        assert [json.loads(line)["subject_id"] for line in out.read_text().splitlines()] == [PERSON]
    else:
        assert out.read_text().splitlines()[0].startswith("subject_id,subject_kind,score,grade,")


@pytest.mark.parametrize("ext", ["csv", "jsonl", "parquet"])
def test_rejects_default_to_a_csv_beside_the_scores(tmp_path: Path, ext: str) -> None:
    records = write_records(tmp_path / "records.jsonl", [court("x", occurred_on="2026-02-30")])
    (tmp_path / "results").mkdir()
    result = batch(records, tmp_path / "results" / f"scores.{ext}")
    assert result.summary.rejects == str(tmp_path / "results" / "scores.rejects.csv")
    assert (tmp_path / "results" / "scores.rejects.csv").read_text().splitlines()[0].startswith("file,row,reason")
    assert len(result.rejects) == 1


# ---------------------------------------------------------------------------------------------
# Rejected rows never change a score, even when they re-send an accepted record's key.


@st.composite
def rows_with_rejects(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Rows of the engine parity test with rows from the reject parity pools in between."""
    rows = []
    for row in draw(record_rows()):
        rows.append(row)
        if draw(st.integers(0, 2)) == 0:
            other = {k: v for k, v in draw(parity_rows()).items() if v is not ABSENT}
            if draw(st.booleans()):  # a later row for the same record: a new version if accepted
                other.update(source=row["source"], record_id=row["record_id"])
            rows.append(other)
    return rows


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=rulebooks(), rows=rows_with_rejects())
def test_rejected_rows_never_change_a_score(book: Rulebook, rows: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        result = batch(write_records(folder / "records.jsonl", rows), folder / "scores.csv", book)
    records = [r for r in map(parse_row, rows) if isinstance(r, Record)]
    assert result.summary.accepted == len(records)
    expected = {}
    for subject, kind in {(r.subject_id, r.subject_kind) for r in records}:
        e = explain(book, subject, kind, records, AS_OF)
        dims = [f"{e.dimension_total(d) / 100:.2f}" for d in book.dimensions]
        expected[(subject, kind)] = [str(e.score), e.grade, *dims, ";".join(e.list_ids), ";".join(e.measure_ids)]
    got = {
        (r["subject_id"], r["subject_kind"]): [
            r["score"],
            r["grade"],
            *(r[f"dim_{d}"] for d in book.dimensions),
            r["lists"],
            r["measures"],
        ]
        for r in result.scores
    }
    assert got == expected
