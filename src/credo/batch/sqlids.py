"""Identifier arithmetic in SQL, from the same weights as :mod:`credo.domain.identifiers`.

Check characters (to build identifiers in generators and to verify them in
the batch checks) and exact integer keys: a valid-shaped identifier maps to
two BIGINTs without loss, so that sorting and grouping by subject works on
integers instead of 18-character strings. Every expression is portable SQL
(substr, strpos, ascii, CASE, integer arithmetic).
"""

from __future__ import annotations

from credo.domain.identifiers import (
    ORG_CODE_WEIGHTS,
    RESIDENT_ID_CHECK,
    RESIDENT_ID_WEIGHTS,
    USCC_ALPHABET,
    USCC_WEIGHTS,
)

__all__ = [
    "ORG_SHAPE",
    "PERSON_SHAPE",
    "base31",
    "base31_value",
    "org_code_check_sql",
    "resident_id_check_sql",
    "subject_key_sql",
    "uscc_check_sql",
]

PERSON_SHAPE = "(?s)[0-9]{17}."
ORG_SHAPE = "[0-9A-HJ-NPQRTUWXY]{18}"


def _char(column: str, position: int) -> str:
    return f"substr({column}, {position}, 1)"


def resident_id_check_sql(first17: str) -> str:
    """GB 11643: sum of digit times weight, mod 11, through ``10X98765432``."""
    total = " + ".join(f"(ascii({_char(first17, i + 1)}) - 48) * {w}" for i, w in enumerate(RESIDENT_ID_WEIGHTS))
    return f"substr('{RESIDENT_ID_CHECK}', ({total}) % 11 + 1, 1)"


def org_code_check_sql(first8: str) -> str:
    """GB 11714: digits 0-9, letters A=10 ... Z=35; ``11 - sum mod 11``, 10 is X and 11 is 0."""

    def value(position: int) -> str:
        c = _char(first8, position)
        return f"(CASE WHEN {c} BETWEEN '0' AND '9' THEN ascii({c}) - 48 ELSE ascii({c}) - 55 END)"

    total = " + ".join(f"{value(i + 1)} * {w}" for i, w in enumerate(ORG_CODE_WEIGHTS))
    check = f"(11 - ({total}) % 11)"
    return f"(CASE {check} WHEN 10 THEN 'X' WHEN 11 THEN '0' ELSE CAST({check} AS VARCHAR) END)"


def uscc_check_sql(first17: str) -> str:
    """GB 32100: alphabet index times weight; check value ``(31 - sum mod 31) mod 31``."""
    total = " + ".join(
        f"(strpos('{USCC_ALPHABET}', {_char(first17, i + 1)}) - 1) * {w}" for i, w in enumerate(USCC_WEIGHTS)
    )
    return f"substr('{USCC_ALPHABET}', (31 - ({total}) % 31) % 31 + 1, 1)"


def base31(number: str, digits: int) -> str:
    """``number`` (a non-negative integer expression) written in ``digits`` USCC-alphabet characters."""
    parts = [f"substr('{USCC_ALPHABET}', CAST(({number} // {31**p}) % 31 AS INTEGER) + 1, 1)" for p in range(digits)]
    return " || ".join(reversed(parts))


def base31_value(column: str, first: int, count: int) -> str:
    """The USCC-alphabet characters ``first .. first+count-1`` read as a base-31 number."""
    terms = [
        f"CAST(strpos('{USCC_ALPHABET}', {_char(column, first + i)}) - 1 AS BIGINT) * {31 ** (count - 1 - i)}"
        for i in range(count)
    ]
    return "(" + " + ".join(terms) + ")"


def subject_key_sql(sid: str, kind: str, shape_ok: str) -> tuple[str, str]:
    """Two BIGINT expressions that identify (identifier, kind) exactly, for well-shaped identifiers.

    Persons: the 17 leading digits, and the code of the 18th character.
    Organisations: characters 1-9 and 10-18 in base 31. The second key is even
    for persons and odd for organisations, so the kinds never meet. NULL
    unless ``shape_ok`` (such rows are rejected anyway).
    """
    key_a = (
        f"CASE WHEN NOT {shape_ok} THEN NULL WHEN {kind} = 'person' THEN CAST(substr({sid}, 1, 17) AS BIGINT) "
        f"ELSE {base31_value(sid, 1, 9)} END"
    )
    key_b = (
        f"CASE WHEN NOT {shape_ok} THEN NULL WHEN {kind} = 'person' THEN CAST(ascii(substr({sid}, 18, 1)) AS BIGINT) * 2 "
        f"ELSE {base31_value(sid, 10, 9)} * 2 + 1 END"
    )
    return key_a, key_b
