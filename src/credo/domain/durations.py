"""Rulebook durations: a whole number and a unit, counted in whole days."""

from __future__ import annotations

import re

__all__ = ["DAYS_PER_UNIT", "parse_duration"]

DAYS_PER_UNIT = {"d": 1, "w": 7, "m": 30, "y": 365}
_DURATION = re.compile(r"^(0|[1-9][0-9]*)([dwmy])$")


def parse_duration(text: str) -> int:
    """Return the number of days in ``text`` such as ``90d`` or ``2y``.

    Months are 30 days and years 365, as the contract says, so every engine
    does the same whole-day arithmetic.
    """
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration: write a whole number and one of d, w, m, y (e.g. 90d, 2y)")
    return int(match.group(1)) * DAYS_PER_UNIT[match.group(2)]
