"""Row validation in SQL: the checks of :func:`credo.domain.records.parse_row`, vectorised.

The same checks in the same order give the same first reason, so a row is
rejected for the same reason whichever path reads it. Identifier checks run
once per distinct identifier, not once per row. Columns that arrive typed
(a Parquet DATE or DOUBLE) skip the text parsing they no longer need.
"""

from __future__ import annotations

from credo.domain.identifiers import (
    ORG_CODE_WEIGHTS,
    RESIDENT_ID_CHECK,
    RESIDENT_ID_WEIGHTS,
    USCC_ALPHABET,
    USCC_WEIGHTS,
    IdProblem,
)
from credo.domain.records import (
    AMOUNT_PATTERN,
    CATEGORY_PATTERN,
    DATE_PATTERN,
    KINDS,
    REQUIRED_FIELDS,
    STATUSES,
    Reason,
)

__all__ = ["identifier_problem_sql", "validated_sql"]

TEXT_TYPES = ("VARCHAR",)
DATE_TYPES = ("DATE",)
TIMESTAMP_PREFIX = "TIMESTAMP"


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _char(column: str, position: int) -> str:
    return f"substr({column}, {position}, 1)"


def identifier_problem_sql(sid: str, kind: str) -> str:
    """A CASE expression giving the identifier's problem, or NULL when it is valid."""
    org_values = " + ".join(
        f"(CASE WHEN {_char(sid, 9 + i)} BETWEEN '0' AND '9' THEN ascii({_char(sid, 9 + i)}) - 48 "
        f"ELSE ascii({_char(sid, 9 + i)}) - 55 END) * {w}"
        for i, w in enumerate(ORG_CODE_WEIGHTS)
    )
    org_check = f"(11 - ({org_values}) % 11)"
    org_char = f"(CASE {org_check} WHEN 10 THEN 'X' WHEN 11 THEN '0' ELSE CAST({org_check} AS VARCHAR) END)"
    alphabet = _lit(USCC_ALPHABET)
    uscc_sum = " + ".join(
        f"(strpos({alphabet}, {_char(sid, i + 1)}) - 1) * {w}" for i, w in enumerate(USCC_WEIGHTS)
    )
    uscc_char = f"substr({alphabet}, (31 - ({uscc_sum}) % 31) % 31 + 1, 1)"
    person_sum = " + ".join(f"(ascii({_char(sid, i + 1)}) - 48) * {w}" for i, w in enumerate(RESIDENT_ID_WEIGHTS))
    person_char = f"substr({_lit(RESIDENT_ID_CHECK)}, ({person_sum}) % 11 + 1, 1)"
    birth = f"substr({sid}, 7, 8)"
    return f"""CASE
        WHEN {kind} = 'organization' THEN CASE
            WHEN length({sid}) <> 18 THEN {_lit(IdProblem.ORG_LENGTH)}
            WHEN NOT regexp_full_match({sid}, '[0-9A-HJ-NPQRTUWXY]{{18}}') THEN {_lit(IdProblem.ORG_ALPHABET)}
            WHEN {org_char} <> {_char(sid, 17)} THEN {_lit(IdProblem.ORG_CODE_CHECK)}
            WHEN {uscc_char} <> {_char(sid, 18)} THEN {_lit(IdProblem.ORG_CHECK)}
        END
        ELSE CASE
            WHEN length({sid}) <> 18 THEN {_lit(IdProblem.PERSON_LENGTH)}
            WHEN NOT regexp_full_match(substr({sid}, 1, 17), '[0-9]{{17}}') THEN {_lit(IdProblem.PERSON_DIGITS)}
            WHEN substr({birth}, 1, 4) = '0000' OR try_strptime({birth}, '%Y%m%d') IS NULL
                THEN {_lit(IdProblem.PERSON_BIRTH)}
            WHEN {person_char} <> {_char(sid, 18)} THEN {_lit(IdProblem.PERSON_CHECK)}
        END
    END"""


def _text(column: str, column_type: str) -> str:
    """The column as text, empty text as NULL (an empty CSV cell is an absent value)."""
    if column_type in TEXT_TYPES:
        return f"NULLIF({column}, '')"
    return f"CAST({column} AS VARCHAR)"


def _date(column: str, column_type: str) -> tuple[str, str]:
    """(expression giving the DATE or NULL, condition that the present value is not a date)."""
    if column_type in DATE_TYPES:
        return column, "FALSE"
    if column_type.startswith(TIMESTAMP_PREFIX):
        return f"CAST({column} AS DATE)", "FALSE"
    text = _text(column, column_type)
    value = (
        f"CASE WHEN regexp_matches({text}, {_lit(DATE_PATTERN)}) AND substr({text}, 1, 4) <> '0000' "
        f"THEN try_cast(substr({text}, 1, 10) AS DATE) END"
    )
    return value, f"({text} IS NOT NULL AND {value} IS NULL)"


def _amount(column: str, column_type: str) -> tuple[str, str, str]:
    """(DOUBLE expression, 'not a number' condition, 'negative' condition)."""
    if column_type in TEXT_TYPES:
        text = f"NULLIF({column}, '')"
        value = f"CASE WHEN regexp_matches({text}, {_lit(AMOUNT_PATTERN)}) THEN abs(CAST({text} AS DOUBLE)) END"
        bad = f"({text} IS NOT NULL AND NOT regexp_matches({text}, {_lit(AMOUNT_PATTERN)}))"
        negative = f"(starts_with({text}, '-') AND CAST({text} AS DOUBLE) <> 0)"
        return value, bad, negative
    if column_type == "VARCHAR" or "INT" in column_type or column_type.startswith(("DECIMAL", "DOUBLE", "FLOAT")):
        number = f"CAST({column} AS DOUBLE)"
        return f"abs({number})", f"(NOT isfinite({number}))", f"({number} < 0)"
    return "CAST(NULL AS DOUBLE)", f"({column} IS NOT NULL)", "FALSE"


def validated_sql(raw: str, types: dict[str, str]) -> str:
    """SQL over the raw rows view adding typed fields and ``reject_reason`` (NULL when accepted)."""
    text = {f: _text(f"r.{f}", types[f]) for f in (*REQUIRED_FIELDS, "status", "reference", "source")}
    occurred, bad_occurred = _date("r.occurred_on", types["occurred_on"])
    resolved, bad_resolved = _date("r.resolved_on", types["resolved_on"])
    amount, bad_amount, negative = _amount("r.amount", types["amount"])
    kinds = ", ".join(_lit(k) for k in KINDS)
    statuses = ", ".join(_lit(s) for s in STATUSES)
    missing = "\n".join(
        f"WHEN t.{'no_occurred' if f == 'occurred_on' else f + ' IS NULL'} THEN {_lit(Reason.missing(f))}"
        for f in REQUIRED_FIELDS
    )
    sid, kind = text["subject_id"], text["subject_kind"]
    return f"""
    WITH typed AS (
        SELECT r.file, r.file_no, r.row_no, r.malformed,
               {text["source"]} AS source, {text["record_id"]} AS record_id,
               {sid} AS subject_id, {kind} AS subject_kind, {text["category"]} AS category,
               {occurred} AS occurred_on, {amount} AS amount, {resolved} AS resolved_on,
               coalesce({text["status"]}, 'active') AS status, {text["reference"]} AS reference,
               {text["occurred_on"]} IS NULL AS no_occurred, {bad_occurred} AS bad_occurred, {bad_resolved} AS bad_resolved,
               {bad_amount} AS bad_amount, {negative} AS negative
        FROM {raw} r
    ),
    ids AS (
        SELECT subject_id, subject_kind, {identifier_problem_sql("subject_id", "subject_kind")} AS id_problem
        FROM (SELECT DISTINCT subject_id, subject_kind FROM typed
              WHERE subject_id IS NOT NULL AND subject_kind IN ({kinds}))
    )
    SELECT t.file, t.file_no, t.row_no, t.source, t.record_id, t.subject_id, t.subject_kind, t.category,
           t.occurred_on, t.amount, t.resolved_on, t.status, t.reference,
           CASE
               WHEN t.malformed IS NOT NULL THEN t.malformed
               {missing}
               WHEN t.subject_kind NOT IN ({kinds}) THEN {_lit(Reason.BAD_KIND)}
               WHEN i.id_problem IS NOT NULL THEN i.id_problem
               WHEN NOT regexp_full_match(t.category, {_lit(CATEGORY_PATTERN[1:-1])}) THEN {_lit(Reason.BAD_CATEGORY)}
               WHEN t.occurred_on IS NULL OR t.bad_occurred THEN {_lit(Reason.BAD_OCCURRED_ON)}
               WHEN t.bad_resolved THEN {_lit(Reason.BAD_RESOLVED_ON)}
               WHEN t.resolved_on < t.occurred_on THEN {_lit(Reason.RESOLVED_BEFORE)}
               WHEN t.bad_amount THEN {_lit(Reason.BAD_AMOUNT)}
               WHEN t.negative THEN {_lit(Reason.NEGATIVE_AMOUNT)}
               WHEN t.status NOT IN ({statuses}) THEN {_lit(Reason.BAD_STATUS)}
           END AS reject_reason
    FROM typed t LEFT JOIN ids i ON t.subject_id = i.subject_id AND t.subject_kind = i.subject_kind
    """
