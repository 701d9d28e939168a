"""records.parse_row: every reason a row is rejected (SCORING.md, Records and Identifiers)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credo.domain.identifiers import IdProblem
from credo.domain.records import REQUIRED_FIELDS, Reason, Record, parse_row
from tests.support import ORG, PERSON


def row(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "source": "tax-authority",
        "record_id": "T-1",
        "subject_id": PERSON,
        "subject_kind": "person",
        "category": "tax.late_payment",
        "occurred_on": "2026-03-01",
        "amount": "1250.50",
        "resolved_on": "2026-04-01",
        "status": "active",
        "reference": "case 17/2026",
    }
    base.update(changes)
    return base


def test_a_complete_row_becomes_a_record() -> None:
    assert parse_row(row()) == Record(
        source="tax-authority",
        record_id="T-1",
        subject_id=PERSON,
        subject_kind="person",
        category="tax.late_payment",
        occurred_on=dt.date(2026, 3, 1),
        amount=1250.5,
        resolved_on=dt.date(2026, 4, 1),
        status="active",
        reference="case 17/2026",
    )


def test_optional_fields_may_be_absent() -> None:
    minimal = {name: row()[name] for name in REQUIRED_FIELDS}
    record = parse_row(minimal)
    assert isinstance(record, Record)
    assert (record.amount, record.resolved_on, record.status, record.reference) == (None, None, "active", None)


def test_an_organisation_row() -> None:
    record = parse_row(row(subject_id=ORG, subject_kind="organization"))
    assert isinstance(record, Record)
    assert record.key == ("tax-authority", "T-1")


@pytest.mark.parametrize("field", REQUIRED_FIELDS)
@pytest.mark.parametrize("absent", ["drop", None, ""])
def test_missing_required_field(field: str, absent: str | None) -> None:
    data = row()
    if absent == "drop":
        del data[field]
    else:
        data[field] = absent
    assert parse_row(data) == Reason.missing(field) == f"missing {field}"


def test_the_first_missing_field_is_named() -> None:
    assert parse_row(row(category="", subject_id="")) == "missing subject_id"


@pytest.mark.parametrize("kind", ["company", "Person", "ORGANIZATION", "organisation", " person"])
def test_bad_kind(kind: str) -> None:
    assert parse_row(row(subject_kind=kind)) == Reason.BAD_KIND


@pytest.mark.parametrize(
    ("subject_id", "kind", "reason"),
    [
        (ORG, "person", IdProblem.PERSON_DIGITS),  # an organisation's code given as a person
        (PERSON[:17] + ("0" if PERSON[17] != "0" else "1"), "person", IdProblem.PERSON_CHECK),
        (PERSON[:17], "person", IdProblem.PERSON_LENGTH),
        (ORG[:17] + ("0" if ORG[17] != "0" else "1"), "organization", IdProblem.ORG_CHECK),
        (ORG.lower(), "organization", IdProblem.ORG_ALPHABET),
    ],
)
def test_bad_identifier_for_its_kind(subject_id: str, kind: str, reason: str) -> None:
    assert parse_row(row(subject_id=subject_id, subject_kind=kind)) == reason


def test_a_person_id_given_as_an_organisation_is_rejected() -> None:
    result = parse_row(row(subject_kind="organization"))
    assert isinstance(result, str)
    assert result.startswith("organisation identifier")


@pytest.mark.parametrize(
    "category",
    ["Tax.late_payment", "tax..late", "tax late", ".tax", "tax.", "tax-late", "税.late"],
)
def test_bad_category(category: str) -> None:
    assert parse_row(row(category=category)) == Reason.BAD_CATEGORY


@pytest.mark.parametrize("category", ["tax", "tax.late_payment", "a.b.c_2"])
def test_good_category(category: str) -> None:
    assert isinstance(parse_row(row(category=category)), Record)


@pytest.mark.parametrize(
    "text", ["2026-02-30", "2025-02-29", "2026-13-01", "2026-00-10", "2026/03/01", "20260301", "2026-3-1", "yesterday"]
)
def test_impossible_or_malformed_occurred_on(text: str) -> None:
    assert parse_row(row(occurred_on=text, resolved_on=None)) == Reason.BAD_OCCURRED_ON


@pytest.mark.parametrize("text", ["2026-03-01T23:59:59", "2026-03-01 08:00", "2026-03-01T00:00:00+08:00"])
def test_a_time_part_is_accepted_and_ignored(text: str) -> None:
    record = parse_row(row(occurred_on=text, resolved_on=text))
    assert isinstance(record, Record)
    assert record.occurred_on == record.resolved_on == dt.date(2026, 3, 1)


def test_dates_from_a_date_object_are_accepted() -> None:
    record = parse_row(row(occurred_on=dt.date(2026, 3, 1), resolved_on=dt.date(2026, 3, 2)))
    assert isinstance(record, Record)
    assert record.occurred_on == dt.date(2026, 3, 1)


def test_leap_day_exists() -> None:
    record = parse_row(row(occurred_on="2024-02-29", resolved_on=None))
    assert isinstance(record, Record)


@pytest.mark.parametrize("text", ["2026-04-31", "April", "2026-04"])
def test_bad_resolved_on(text: str) -> None:
    assert parse_row(row(resolved_on=text)) == Reason.BAD_RESOLVED_ON


def test_resolved_before_occurred() -> None:
    assert parse_row(row(occurred_on="2026-03-01", resolved_on="2026-02-28")) == Reason.RESOLVED_BEFORE


def test_resolved_on_the_same_day_is_fine() -> None:
    record = parse_row(row(occurred_on="2026-03-01", resolved_on="2026-03-01T10:00"))
    assert isinstance(record, Record)
    assert record.resolved_on == dt.date(2026, 3, 1)


@pytest.mark.parametrize("amount", ["12a", "1,000", "1e5", ".5", "5.", "+5", "NaN", "inf", " 5", "--5"])
def test_non_numeric_amount(amount: str) -> None:
    assert parse_row(row(amount=amount)) == Reason.BAD_AMOUNT


@pytest.mark.parametrize("amount", ["-5", "-0.01", "-100000"])
def test_negative_amount(amount: str) -> None:
    assert parse_row(row(amount=amount)) == Reason.NEGATIVE_AMOUNT


@pytest.mark.parametrize(("amount", "value"), [("0", 0.0), ("-0", 0.0), ("-0.00", 0.0), (12, 12.0), (99.5, 99.5)])
def test_zero_and_numeric_amounts(amount: object, value: float) -> None:
    record = parse_row(row(amount=amount))
    assert isinstance(record, Record)
    assert record.amount == value


@pytest.mark.parametrize("status", ["deleted", "Active", "WITHDRAWN", "inactive"])
def test_bad_status(status: str) -> None:
    assert parse_row(row(status=status)) == Reason.BAD_STATUS


@pytest.mark.parametrize("status", ["", None])
def test_empty_status_defaults_to_active(status: str | None) -> None:
    record = parse_row(row(status=status))
    assert isinstance(record, Record)
    assert record.status == "active"


def test_withdrawn_status_is_kept() -> None:
    record = parse_row(row(status="withdrawn"))
    assert isinstance(record, Record)
    assert record.status == "withdrawn"


def test_checks_run_in_a_fixed_order() -> None:
    # kind before identifier before category before dates before amount before status
    assert parse_row(row(subject_kind="x", subject_id="bad", category="Bad")) == Reason.BAD_KIND
    assert parse_row(row(subject_id="bad", category="Bad")) == IdProblem.PERSON_LENGTH
    assert parse_row(row(category="Bad", occurred_on="bad")) == Reason.BAD_CATEGORY
    assert parse_row(row(occurred_on="bad", amount="-1")) == Reason.BAD_OCCURRED_ON
    assert parse_row(row(resolved_on="2000-01-01", amount="x")) == Reason.RESOLVED_BEFORE
    assert parse_row(row(amount="x", status="x")) == Reason.BAD_AMOUNT


field_values = st.one_of(st.none(), st.text(max_size=20), st.integers(), st.floats(allow_nan=True))


@given(
    st.dictionaries(
        st.sampled_from([*REQUIRED_FIELDS, "amount", "resolved_on", "status", "reference", "extra"]), field_values
    )
)
def test_parse_row_never_raises_and_never_leaks_the_identifier(data: dict[str, object]) -> None:
    result = parse_row(data)
    assert isinstance(result, Record | str)
    if isinstance(result, str) and isinstance(data.get("subject_id"), str) and len(str(data["subject_id"])) >= 4:
        assert str(data["subject_id"]) not in result


@given(st.dictionaries(st.sampled_from(["amount", "resolved_on", "status", "reference"]), field_values))
def test_rows_with_valid_required_fields_either_parse_or_give_a_known_reason(optional: dict[str, object]) -> None:
    data = {name: row()[name] for name in REQUIRED_FIELDS} | optional
    result = parse_row(data)
    known = {
        Reason.BAD_RESOLVED_ON,
        Reason.RESOLVED_BEFORE,
        Reason.BAD_AMOUNT,
        Reason.NEGATIVE_AMOUNT,
        Reason.BAD_STATUS,
        Reason.AMOUNT_NOT_A_NUMBER,
        Reason.AMOUNT_TOO_LARGE,
        Reason.out_of_range("resolved_on"),
        *(Reason.not_text(name) for name in ("resolved_on", "status", "reference")),
        *(Reason.control(name) for name in ("amount", "resolved_on", "status", "reference")),
    }
    assert isinstance(result, Record) or result in known


def test_json_values_of_the_wrong_type_are_named() -> None:
    base = {name: row()[name] for name in REQUIRED_FIELDS}
    assert parse_row(base | {"category": True}) == Reason.not_text("category")
    assert parse_row(base | {"record_id": 1.5}) == Reason.not_text("record_id")
    assert parse_row(base | {"amount": False}) == Reason.AMOUNT_NOT_A_NUMBER
    assert isinstance(parse_row(base | {"record_id": 12345}), Record)  # whole numbers are fine as text


def test_json_numbers_are_amounts_in_any_notation() -> None:
    base = {name: row()[name] for name in REQUIRED_FIELDS}
    small, large = parse_row(base | {"amount": 1e-05}), parse_row(base | {"amount": 1e15})
    assert isinstance(small, Record) and small.amount == 1e-05
    assert isinstance(large, Record) and large.amount == 1e15
    assert parse_row(base | {"amount": -1e-05}) == Reason.NEGATIVE_AMOUNT
    assert parse_row(base | {"amount": 1e16}) == Reason.AMOUNT_TOO_LARGE
    assert parse_row(base | {"amount": float("inf")}) == Reason.AMOUNT_TOO_LARGE
    assert parse_row(base | {"amount": 10**400}) == Reason.AMOUNT_TOO_LARGE  # too large for a double
    assert parse_row(base | {"amount": -(10**400)}) == Reason.NEGATIVE_AMOUNT
    assert parse_row(base | {"amount": float("nan")}) == Reason.BAD_AMOUNT


@pytest.mark.parametrize(
    ("occurred_on", "expected"),
    [
        ("1899-12-31", Reason.out_of_range("occurred_on")),
        ("0001-01-01", Reason.out_of_range("occurred_on")),
        ("1900-01-01", None),
        ("2999-12-31", None),
        ("3000-01-01", Reason.out_of_range("occurred_on")),
        ("2026-6-30", Reason.BAD_OCCURRED_ON),
        ("2026-02-30", Reason.BAD_OCCURRED_ON),
    ],
)
def test_record_dates_are_bounded_on_both_ends(occurred_on: str, expected: str | None) -> None:
    result = parse_row(row(occurred_on=occurred_on, resolved_on=None))
    assert (None if isinstance(result, Record) else result) == expected


@pytest.mark.parametrize("bad", ["\x00", "\x1b[31m", "\x7f", "\x85", "\n", "\t", "\ud800", "\udfff"])
@pytest.mark.parametrize("field", ["source", "record_id", "subject_id", "category", "status", "reference"])
def test_control_characters_and_lone_surrogates_are_refused_in_every_text_field(field: str, bad: str) -> None:
    value = str(row().get(field, "active"))
    assert parse_row(row(**{field: value[:2] + bad + value[2:]})) == Reason.control(field)


def test_text_beyond_the_ascii_controls_is_text() -> None:
    assert isinstance(parse_row(row(reference="\u2028 \U0001f600 \u00e9 \u200b")), Record)
