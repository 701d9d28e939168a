"""Integer arithmetic that every engine can reproduce exactly."""

from __future__ import annotations

__all__ = ["clamp", "div_round_half_away"]


def div_round_half_away(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to the nearest integer, halves away from zero.

    Done in integers so that SQL engines, whose ``ROUND`` differs on halves
    and on floating point, can use the same formula and agree to the unit.
    """
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    magnitude = (2 * abs(numerator) + denominator) // (2 * denominator)
    return -magnitude if numerator < 0 else magnitude


def clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))
