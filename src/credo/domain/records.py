"""Records: one adjudicated fact about one subject from one source.

``parse_row`` turns a raw row (text fields, as read from CSV, JSON Lines or
Parquet) into a :class:`Record`, or names the first rule it breaks. The batch
engine applies the same checks in SQL (``credo.batch.validation``), in the
same order and with the same reasons, and tests hold the two together.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from credo.domain.identifiers import problem_with_identifier

__all__ = [
    "AMOUNT_PATTERN",
    "CATEGORY_PATTERN",
    "CONTROL_PATTERN",
    "DATE_PATTERN",
    "EARLIEST_DATE",
    "FIELD_ORDER",
    "KINDS",
    "LATEST_DATE",
    "MAX_AMOUNT",
    "MAX_LENGTHS",
    "REQUIRED_FIELDS",
    "STATUSES",
    "DuplicateKeys",
    "Reason",
    "Record",
    "RecordKey",
    "amount_problem",
    "day_problem",
    "has_control",
    "json_object",
    "parse_amount",
    "parse_date",
    "parse_row",
    "typed_problem",
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
# Record dates lie in this range, both ends included (docs/batch.md): earlier dates are typing slips that
# break date arithmetic (an epoch before year 1), and a counting period of up to 100 years added to a later
# one stays far from the calendar's end.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2999, 12, 31)
# Amounts are finite, at least 0 and at most this: a double holds every whole amount up to it exactly.
MAX_AMOUNT = 10**15
# What the store's columns hold (characters).
MAX_LENGTHS = {"source": 100, "record_id": 200, "category": 200}
# Control characters (Unicode Cc: C0, DEL, C1) and lone surrogates are refused in every text field.
CONTROL_PATTERN = "[\\x00-\\x1f\\x7f-\\x9f]"
_CONTROL = re.compile("[\\x00-\\x1f\\x7f-\\x9f\\ud800-\\udfff]")
# Prose (a dispute's statement, a decision's reasons, a title) may hold tabs and line breaks, nothing else of Cc.
_CONTROL_IN_PROSE = re.compile("[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\ud800-\\udfff]")

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
    AMOUNT_TOO_LARGE = f"amount is larger than {MAX_AMOUNT}"
    DUPLICATE_KEYS = "record names a field more than once (duplicate keys are ambiguous)"

    @staticmethod
    def not_text(field: str) -> str:
        return f"{field} must be text or a whole number"

    @staticmethod
    def out_of_range(field: str) -> str:
        return f"{field} must be between {EARLIEST_DATE} and {LATEST_DATE}"

    @staticmethod
    def control(field: str) -> str:
        return f"{field} contains a control character or a lone surrogate"

    @staticmethod
    def too_long(field: str) -> str:
        return f"{field} is longer than {MAX_LENGTHS[field]} characters"


class DuplicateKeys(dict[str, object]):
    """A JSON object that names a key more than once (see :func:`json_object`)."""


def json_object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """``object_pairs_hook`` for :func:`json.loads`: an object with a repeated key comes back as DuplicateKeys.

    JSON readers disagree on such an object (Python keeps the last value,
    DuckDB the first), so a record holding one is refused as ambiguous.
    """
    made = dict(pairs)
    return DuplicateKeys(made) if len(made) != len(pairs) else made


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
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def has_control(text: str, *, prose: bool = False) -> bool:
    """Whether the text holds a control character (Unicode Cc) or a lone surrogate: refused wherever text comes in.

    ``prose``: tab, line feed and carriage return are allowed (free text typed by a person).
    """
    return (_CONTROL_IN_PROSE if prose else _CONTROL).search(text) is not None


def day_problem(name: str, day: dt.date) -> str | None:
    """Why a date cannot be a record's ``name`` (or any date Credo takes), or None."""
    return None if EARLIEST_DATE <= day <= LATEST_DATE else Reason.out_of_range(name)


def parse_date(name: str, text: str) -> dt.date | str:
    """The one date parser: YYYY-MM-DD (a time part after it is ignored), in range; or the reason it is not.

    Records, CLI options and API parameters all read dates with it, so a
    date is refused everywhere alike and with the same words.
    """
    day = _date(text)
    if day is None:
        return f"{name} is not a valid date (YYYY-MM-DD)"
    return day_problem(name, day) or day


def parse_amount(name: str, text: str) -> float | str:
    """The one amount parser: decimal text (no exponent), at least 0 (-0 is 0), at most MAX_AMOUNT; or why not.

    Records and the CLI's ``--amount`` read amounts with it, in the same words.
    """
    if not re.fullmatch(AMOUNT_PATTERN, text):
        return f"{name} is not a decimal number"
    amount = float(text)
    if text.startswith("-") and amount != 0:
        return f"{name} is negative"
    amount = abs(amount)
    return f"{name} is larger than {MAX_AMOUNT}" if amount > MAX_AMOUNT else amount


def amount_problem(amount: float) -> str | None:
    """Why a number cannot be an amount (not a number, negative, too large), or None."""
    if math.isnan(amount):
        return Reason.BAD_AMOUNT
    if amount < 0:
        return Reason.NEGATIVE_AMOUNT
    return Reason.AMOUNT_TOO_LARGE if amount > MAX_AMOUNT else None


def typed_problem(record: Record) -> str | None:
    """The rules on a record's typed values (dates in range and in order, amount), for a record not read from text.

    A reviewer's correction is checked with it: the same reasons as parse_row.
    """
    problem = day_problem("occurred_on", record.occurred_on)
    if problem is None and record.resolved_on is not None:
        problem = day_problem("resolved_on", record.resolved_on)
        if problem is None and record.resolved_on < record.occurred_on:
            problem = Reason.RESOLVED_BEFORE
    if problem is None and record.amount is not None:
        problem = amount_problem(record.amount)
    return problem


def _number_text(value: float) -> str:
    """A JSON number written out in full; one too large for a double as 10^308 (still too large, same sign)."""
    try:
        number = float(value)
    except OverflowError:  # an integer of hundreds of digits
        number = float("inf") if value > 0 else float("-inf")
    if math.isinf(number):
        return ("-" if number < 0 else "") + "1" + "0" * 308
    return f"{number:.20f}"


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


def _text_problem(fields: Mapping[str, str | None]) -> str | None:
    """A control character or lone surrogate in any field, then a field longer than the store holds."""
    for name in FIELD_ORDER:
        value = fields[name]
        if value is not None and has_control(value):
            return Reason.control(name)
    for name, limit in MAX_LENGTHS.items():
        value = fields[name]
        if value is not None and len(value) > limit:
            return Reason.too_long(name)
    return None


def parse_row(row: Mapping[str, object]) -> Record | str:
    """Return the row as a Record, or the reason it must be rejected."""
    if isinstance(row, DuplicateKeys):
        return Reason.DUPLICATE_KEYS
    problem = _type_problem(row)
    if problem is not None:
        return problem
    fields = {name: _text(row.get(name)) for name in FIELD_ORDER}
    raw_amount = row.get("amount")
    if isinstance(raw_amount, int | float):  # a JSON number, in any notation: written out in full
        fields["amount"] = _number_text(raw_amount)
    problem = _text_problem(fields)
    if problem is not None:
        return problem
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
    occurred_on = parse_date("occurred_on", occurred)
    if isinstance(occurred_on, str):
        return occurred_on
    resolved_on: dt.date | None = None
    if fields["resolved_on"] is not None:
        resolved = parse_date("resolved_on", fields["resolved_on"])
        if isinstance(resolved, str):
            return resolved
        if resolved < occurred_on:
            return Reason.RESOLVED_BEFORE
        resolved_on = resolved
    amount = None
    if fields["amount"] is not None:
        parsed = parse_amount("amount", fields["amount"])
        if isinstance(parsed, str):
            return parsed
        amount = parsed
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
