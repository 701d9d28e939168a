"""Row checks in SQL: the checks of :func:`credo.domain.records.parse_row`, vectorised.

The same checks in the same order give the same first reason whichever path
reads a row. They are split by cost:

* ``pre_reason``: malformed row, missing field, unknown kind, identifier of
  the wrong shape (length, alphabet). Cheap, per row.
* the identifier's check characters and birth date: once per subject, not
  once per row (:func:`identifier_problem_sql`), after grouping by the exact
  integer subject key;
* ``post_reason``: category, dates, amount, status. Per row; a category the
  rulebook knows skips the pattern test.

Columns that arrive typed (a Parquet DATE or DOUBLE) skip text parsing.
"""

from __future__ import annotations

from collections.abc import Iterable

from credo.batch.sqlids import (
    ORG_SHAPE,
    PERSON_SHAPE,
    org_code_check_sql,
    resident_id_check_sql,
    subject_key_sql,
    uscc_check_sql,
)
from credo.batch.sqltext import EPOCH_SQL, lit
from credo.domain.identifiers import RESIDENT_ID_CHECK, RESIDENT_ID_WEIGHTS, IdProblem
from credo.domain.records import (
    AMOUNT_PATTERN,
    CATEGORY_PATTERN,
    CONTROL_PATTERN,
    DATE_PATTERN,
    EARLIEST_DATE,
    FIELD_ORDER,
    KINDS,
    LATEST_DATE,
    MAX_AMOUNT,
    MAX_LENGTHS,
    REQUIRED_FIELDS,
    STATUSES,
    Reason,
)

__all__ = ["checked_sql", "identifier_problem_sql"]

TEXT_TYPES = ("VARCHAR",)
NUMBER_PREFIXES = (
    "DECIMAL",
    "DOUBLE",
    "FLOAT",
    "BIGINT",
    "INTEGER",
    "SMALLINT",
    "TINYINT",
    "HUGEINT",
    "UBIGINT",
    "UINTEGER",
)


def identifier_problem_sql(sid: str, kind: str) -> str:
    """The identifier's birth-date or check-character problem, or NULL; for well-shaped identifiers."""
    birth = f"substr({sid}, 7, 8)"
    return f"""CASE
        WHEN {kind} = 'organization' THEN CASE
            WHEN {org_code_check_sql(f"substr({sid}, 9, 8)")} <> substr({sid}, 17, 1) THEN {lit(IdProblem.ORG_CODE_CHECK)}
            WHEN {uscc_check_sql(sid)} <> substr({sid}, 18, 1) THEN {lit(IdProblem.ORG_CHECK)}
        END
        ELSE CASE
            WHEN substr({birth}, 1, 4) = '0000' OR try_strptime({birth}, '%Y%m%d') IS NULL
                THEN {lit(IdProblem.PERSON_BIRTH)}
            WHEN {resident_id_check_sql(sid)} <> substr({sid}, 18, 1) THEN {lit(IdProblem.PERSON_CHECK)}
        END
    END"""


def _shape_problem(sid: str, kind: str) -> str:
    return f"""CASE
        WHEN {kind} = 'organization' THEN CASE
            WHEN length({sid}) <> 18 THEN {lit(IdProblem.ORG_LENGTH)}
            WHEN NOT regexp_full_match({sid}, '{ORG_SHAPE}') THEN {lit(IdProblem.ORG_ALPHABET)}
        END
        ELSE CASE
            WHEN length({sid}) <> 18 THEN {lit(IdProblem.PERSON_LENGTH)}
            WHEN NOT regexp_full_match({sid}, '{PERSON_SHAPE}') THEN {lit(IdProblem.PERSON_DIGITS)}
        END
    END"""


def _text(column: str, column_type: str) -> str:
    """The column as text, empty text as NULL (an empty CSV cell is an absent value)."""
    if column_type in TEXT_TYPES:
        return f"NULLIF({column}, '')"
    return f"CAST({column} AS VARCHAR)"


def _date(column: str, column_type: str) -> tuple[str, str, str]:
    """(the DATE or NULL, condition that a present value is not a date, condition that it is out of range)."""
    if column_type == "DATE" or column_type.startswith("TIMESTAMP"):
        value = column if column_type == "DATE" else f"CAST({column} AS DATE)"
        bad = "FALSE"
    else:
        text = _text(column, column_type)
        value = (
            f"CASE WHEN regexp_matches({text}, {lit(DATE_PATTERN)}) AND substr({text}, 1, 4) <> '0000' "
            f"THEN try_cast(substr({text}, 1, 10) AS DATE) END"
        )
        bad = f"({text} IS NOT NULL AND ({value}) IS NULL)"
    out = f"(({value}) NOT BETWEEN DATE '{EARLIEST_DATE}' AND DATE '{LATEST_DATE}')"
    return f"CASE WHEN NOT {out} THEN {value} END", bad, out


def _amount(column: str, column_type: str) -> tuple[str, str, str, str]:
    """(DOUBLE expression, 'not a number' condition, 'negative' condition, 'too large' condition)."""
    if column_type in TEXT_TYPES:
        text = f"NULLIF({column}, '')"
        matches = f"regexp_matches({text}, {lit(AMOUNT_PATTERN)})"
        value = f"CASE WHEN {matches} THEN abs(CAST({text} AS DOUBLE)) END"
        return (
            value,
            f"({text} IS NOT NULL AND NOT {matches})",
            f"(starts_with({text}, '-') AND CAST({text} AS DOUBLE) <> 0)",
            f"(({value}) > {MAX_AMOUNT})",
        )
    if column_type.startswith(NUMBER_PREFIXES):
        number = f"CAST({column} AS DOUBLE)"
        return f"abs({number})", f"isnan({number})", f"({number} < 0)", f"(abs({number}) > {MAX_AMOUNT})"
    return "CAST(NULL AS DOUBLE)", f"({column} IS NOT NULL)", "FALSE", "FALSE"


def _text_problem(text: dict[str, str]) -> str:
    """WHEN clauses: a control character in any text field, then a field longer than the store holds."""
    control = [
        f"WHEN regexp_matches({text[f]}, {lit(CONTROL_PATTERN)}) THEN {lit(Reason.control(f))}"
        for f in FIELD_ORDER
        if f in text
    ]
    long = [f"WHEN length({text[f]}) > {n} THEN {lit(Reason.too_long(f))}" for f, n in MAX_LENGTHS.items()]
    return "\n".join(control + long)


def checked_sql(raw: str, types: dict[str, str], known_categories: Iterable[str] = ()) -> str:
    """Every raw row with typed fields, exact subject keys and its per-row reasons (NULL when fine)."""
    text = {f: _text(f"r.{f}", types[f]) for f in (*REQUIRED_FIELDS, "status", "reference")}
    texts = {f: _text(f"r.{f}", types[f]) for f in FIELD_ORDER if f in text or types[f] in TEXT_TYPES}
    occurred, bad_occurred, early_occurred = _date("r.occurred_on", types["occurred_on"])
    resolved, bad_resolved, early_resolved = _date("r.resolved_on", types["resolved_on"])
    amount, bad_amount, negative, too_large = _amount("r.amount", types["amount"])
    kinds = ", ".join(lit(k) for k in KINDS)
    statuses = ", ".join(lit(s) for s in STATUSES)
    sid, kind, category = text["subject_id"], text["subject_kind"], text["category"]
    missing = "\n".join(f"WHEN {text[f]} IS NULL THEN {lit(Reason.missing(f))}" for f in REQUIRED_FIELDS)
    known = ", ".join(lit(c) for c in sorted(set(known_categories)))
    category_ok = f"regexp_full_match({category}, {lit(CATEGORY_PATTERN[1:-1])})"
    if known:
        category_ok = f"({category} IN ({known}) OR {category_ok})"
    key_a, key_b = subject_key_sql("subject_id", "subject_kind", "(pre_reason IS NULL)")
    status = f"coalesce({text['status']}, 'active')"
    return f"""
    SELECT *, {key_a} AS ka, {key_b} AS kb FROM (
    SELECT r.file, r.file_no, r.row_no,
           {text["source"]} AS source, {text["record_id"]} AS record_id, {sid} AS subject_id,
           {kind} AS subject_kind, {category} AS category,
           CAST(date_diff('day', {EPOCH_SQL}, {occurred}) AS BIGINT) AS occ,
           CAST(date_diff('day', {EPOCH_SQL}, {resolved}) AS BIGINT) AS res,
           {amount} AS amount, {status} AS status,
           r.occurred_on AS raw_occurred_on, r.resolved_on AS raw_resolved_on, r.amount AS raw_amount,
           r.status AS raw_status, r.reference AS reference,
           CASE
               WHEN r.malformed IS NOT NULL THEN r.malformed
               {_text_problem(texts)}
               {missing}
               WHEN {kind} NOT IN ({kinds}) THEN {lit(Reason.BAD_KIND)}
               ELSE {_shape_problem(sid, kind)}
           END AS pre_reason,
           CASE
               WHEN NOT {category_ok} THEN {lit(Reason.BAD_CATEGORY)}
               WHEN {bad_occurred} THEN {lit(Reason.BAD_OCCURRED_ON)}
               WHEN {early_occurred} THEN {lit(Reason.out_of_range("occurred_on"))}
               WHEN {bad_resolved} THEN {lit(Reason.BAD_RESOLVED_ON)}
               WHEN {early_resolved} THEN {lit(Reason.out_of_range("resolved_on"))}
               WHEN {resolved} < {occurred} THEN {lit(Reason.RESOLVED_BEFORE)}
               WHEN {bad_amount} THEN {lit(Reason.BAD_AMOUNT)}
               WHEN {negative} THEN {lit(Reason.NEGATIVE_AMOUNT)}
               WHEN {too_large} THEN {lit(Reason.AMOUNT_TOO_LARGE)}
               WHEN {status} NOT IN ({statuses}) THEN {lit(Reason.BAD_STATUS)}
           END AS post_reason
    FROM {raw} r)"""


def identifier_problem_from_key_sql(ka: str, kb: str, sid: str) -> str:
    """:func:`identifier_problem_sql` for a subject given by its exact key, in integer arithmetic for persons.

    A person's key holds the 17 leading digits as one integer, so the birth
    date and the weighted sum come out of integer division instead of string
    slicing, once per subject. Organisations use the text checks on ``sid``.
    """
    digits = [f"(({ka} // {10 ** (16 - i)}) % 10)" for i in range(17)]
    total = " + ".join(f"{d} * {w}" for d, w in zip(digits, RESIDENT_ID_WEIGHTS, strict=True))
    birth = f"(({ka} // 1000) % 100000000)"
    y, m, d = f"({birth} // 10000)", f"(({birth} // 100) % 100)", f"({birth} % 100)"
    leap = f"(({y} % 4 = 0 AND {y} % 100 <> 0) OR {y} % 400 = 0)"
    month_days = (
        f"(CASE WHEN {m} = 2 THEN CASE WHEN {leap} THEN 29 ELSE 28 END WHEN {m} IN (4, 6, 9, 11) THEN 30 ELSE 31 END)"
    )
    real_date = f"({y} >= 1 AND {m} BETWEEN 1 AND 12 AND {d} BETWEEN 1 AND {month_days})"
    person = f"""CASE
            WHEN NOT {real_date} THEN {lit(IdProblem.PERSON_BIRTH)}
            WHEN substr({lit(RESIDENT_ID_CHECK)}, ({total}) % 11 + 1, 1) <> chr(CAST({kb} // 2 AS INTEGER))
                THEN {lit(IdProblem.PERSON_CHECK)}
        END"""
    return f"CASE WHEN {kb} % 2 = 0 THEN {person} ELSE {identifier_problem_sql(sid, lit('organization'))} END"
