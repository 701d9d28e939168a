"""Small helpers for writing portable SQL text."""

from __future__ import annotations

import datetime as dt

__all__ = ["EPOCH", "EPOCH_SQL", "day_number", "div_round_half_away_sql", "lit"]

EPOCH = dt.date(1970, 1, 1)
EPOCH_SQL = f"DATE '{EPOCH.isoformat()}'"


def lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def day_number(day: dt.date) -> int:
    """Days since 1970-01-01: every engine compares dates as integers."""
    return (day - EPOCH).days


def div_round_half_away_sql(numerator: str, denominator: str) -> str:
    """SQL for ``numerator / denominator`` (integers, denominator > 0), halves away from zero.

    The same formula as :func:`credo.domain.arithmetic.div_round_half_away`:
    engines differ in how ROUND treats halves and floats, integers do not.
    """
    magnitude = f"((2 * abs({numerator}) + {denominator}) // (2 * {denominator}))"
    return f"(CASE WHEN ({numerator}) < 0 THEN -{magnitude} ELSE {magnitude} END)"
