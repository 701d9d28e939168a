"""Rulebook durations: a whole number and a unit, counted in whole days."""

from __future__ import annotations

import re

__all__ = ["DAYS_PER_UNIT", "MAX_DURATION_DAYS", "parse_duration"]

DAYS_PER_UNIT = {"d": 1, "w": 7, "m": 30, "y": 365}
# The longest duration anywhere (100y): keeps day arithmetic inside every engine's dates and integers.
MAX_DURATION_DAYS = 100 * 365
_DURATION = re.compile(r"^(0|[1-9][0-9]*)([dwmy])$")


def parse_duration(text: str) -> int:
    """Return the number of days in ``text`` such as ``90d`` or ``2y``.

    Months are 30 days and years 365, as the contract says, so every engine
    does the same whole-day arithmetic. At most 100y (:data:`MAX_DURATION_DAYS`).
    """
    shown = text if len(text) <= 16 else text[:12] + "..."
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{shown!r} is not a duration: write a whole number and one of d, w, m, y (e.g. 90d, 2y)")
    digits = match.group(1)
    days = MAX_DURATION_DAYS + 1 if len(digits) > 6 else int(digits) * DAYS_PER_UNIT[match.group(2)]
    if days > MAX_DURATION_DAYS:
        raise ValueError(f"{shown!r} is longer than 100y ({MAX_DURATION_DAYS} days), the longest duration allowed")
    return days
