"""Records: one adjudicated fact about one subject from one source.

``parse_row`` turns a raw row (text fields, as read from CSV, JSON Lines or
Parquet) into a :class:`Record`, or names the first rule it breaks. The batch
engine applies the same checks in SQL (``credo.batch.validation``), in the
same order and with the same reasons, and tests hold the two together.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from credo.domain.identifiers import problem_with_identifier

__all__ = [
    "AMOUNT_PATTERN",
    "CATEGORY_PATTERN",
    "DATE_PATTERN",
    "FIELD_ORDER",
    "KINDS",
    "LAST_YEAR",
    "REQUIRED_FIELDS",
    "STATUSES",
    "Reason",
    "Record",
    "RecordKey",
    "parse_row",
]

KINDS = ("person", "organization")
STATUSES = ("active", "withdrawn")
REQUIRED_FIELDS = ("source", "record_id", "subject_id", "subject_kind", "category", "occurred_on")
# Every field, in the order of the contract's table (and of type checks on JSON values).
FIELD_ORDER = (*REQUIRED_FIELDS[:6], "amount", "resolved_on", "status", "reference")
# A dotted lowercase name such as tax.late_payment.
CATEGORY_PATTERN = r"^[a-z0-9_]+(\.[a-z0-9_]+)*$"
# An ISO date, optionally followed by a time part that is ignored.
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ].*)?$"
AMOUNT_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
# Dates from this year on are not valid: a counting period added to them would pass the calendar's end.
LAST_YEAR = 9000

RecordKey = tuple[str, str]


class Reason:
    """Reject reasons, shared word for word by every path that validates rows."""

    @staticmethod
    def missing(field: str) -> str:
        return f"missing {field}"

    BAD_KIND = "subject_kind must be person or organization"
    BAD_CATEGORY = "category must be a dotted lowercase name such as tax.late_payment"
    BAD_OCCURRED_ON = "occurred_on is not a valid date (YYYY-MM-DD)"
    BAD_RESOLVED_ON = "resolved_on is not a valid date (YYYY-MM-DD)"
    RESOLVED_BEFORE = "resolved_on is before occurred_on"
    BAD_AMOUNT = "amount is not a decimal number"
    NEGATIVE_AMOUNT = "amount is negative"
    BAD_STATUS = "status must be active or withdrawn"
    AMOUNT_NOT_A_NUMBER = "amount must be a number or decimal text"

    @staticmethod
    def not_text(field: str) -> str:
        return f"{field} must be text or a whole number"


@dataclass(frozen=True, slots=True)
class Record:
    source: str
    record_id: str
    subject_id: str
    subject_kind: str
    category: str
    occurred_on: dt.date
    amount: float | None = None
    resolved_on: dt.date | None = None
    status: str = "active"
    reference: str | None = None

    @property
    def key(self) -> RecordKey:
        return (self.source, self.record_id)


def _date(text: str) -> dt.date | None:
    if not re.fullmatch(DATE_PATTERN, text):
        return None
    try:
        day = dt.date.fromisoformat(text[:10])
    except ValueError:
        return None
    return day if day.year < LAST_YEAR else None


def _text(value: object) -> str | None:
    """Empty text counts as absent, as an empty CSV cell does."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text if text != "" else None


def _type_problem(row: Mapping[str, object]) -> str | None:
    """JSON gives values types: text fields take text or whole numbers, the amount a number or text."""
    for name in FIELD_ORDER:
        value = row.get(name)
        if name == "amount":
            if isinstance(value, bool | dict | list):
                return Reason.AMOUNT_NOT_A_NUMBER
        elif isinstance(value, bool | float | dict | list):
            return Reason.not_text(name)
    return None


def parse_row(row: Mapping[str, object]) -> Record | str:
    """Return the row as a Record, or the reason it must be rejected."""
    problem = _type_problem(row)
    if problem is not None:
        return problem
    fields = {name: _text(row.get(name)) for name in FIELD_ORDER}
    raw_amount = row.get("amount")
    if isinstance(raw_amount, int | float):  # a JSON number, in any notation: written out in full
        fields["amount"] = f"{float(raw_amount):.20f}"
    for name in REQUIRED_FIELDS:
        if fields[name] is None:
            return Reason.missing(name)
    source, record_id, subject_id, kind, category, occurred = (str(fields[name]) for name in REQUIRED_FIELDS)
    if kind not in KINDS:
        return Reason.BAD_KIND
    problem = problem_with_identifier(subject_id, kind)
    if problem is not None:
        return problem
    if not re.fullmatch(CATEGORY_PATTERN, category):
        return Reason.BAD_CATEGORY
    occurred_on = _date(occurred)
    if occurred_on is None:
        return Reason.BAD_OCCURRED_ON
    resolved_on = None
    if fields["resolved_on"] is not None:
        resolved_on = _date(fields["resolved_on"])
        if resolved_on is None:
            return Reason.BAD_RESOLVED_ON
        if resolved_on < occurred_on:
            return Reason.RESOLVED_BEFORE
    amount = None
    if fields["amount"] is not None:
        if not re.fullmatch(AMOUNT_PATTERN, fields["amount"]):
            return Reason.BAD_AMOUNT
        amount = float(fields["amount"])
        if fields["amount"].startswith("-") and amount != 0:
            return Reason.NEGATIVE_AMOUNT
        amount = abs(amount)
    status = fields["status"] or "active"
    if status not in STATUSES:
        return Reason.BAD_STATUS
    return Record(
        source=source,
        record_id=record_id,
        subject_id=subject_id,
        subject_kind=kind,
        category=category,
        occurred_on=occurred_on,
        amount=amount,
        resolved_on=resolved_on,
        status=status,
        reference=fields["reference"],
    )
