"""Check characters computed in SQL, from the same weights as :mod:`credo.domain.identifiers`.

Each function returns a DuckDB expression over a text column, so a whole
column of identifiers is completed in one vectorised statement. Tests hold
these expressions to the Python checks.
"""

from __future__ import annotations

from credo.domain.identifiers import (
    ORG_CODE_WEIGHTS,
    RESIDENT_ID_CHECK,
    RESIDENT_ID_WEIGHTS,
    USCC_ALPHABET,
    USCC_WEIGHTS,
)

__all__ = ["base31", "org_code_check_sql", "resident_id_check_sql", "uscc_check_sql"]


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
