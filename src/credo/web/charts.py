"""Charts drawn on the server as SVG: no script, nothing loaded, and always beside a table of the numbers.

Pure: the geometry of horizontal bars for labelled counts, and of a score stepping from date to date (a
subject's history and forecast); the templates draw them. The chart is a picture
for sighted readers (``aria-hidden``); the table under it is what screen readers and everyone else can read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Bar", "Chart", "Dot", "Level", "Steps", "bars", "steps"]

ROW = 46  # pixels per bar, its label above it (labels of any length and script fit)
WIDTH = 640  # the whole chart


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: int
    width: int  # pixels; at least 1 for a value above 0, so that it shows


@dataclass(frozen=True)
class Chart:
    bars: tuple[Bar, ...]
    height: int
    width: int = WIDTH


def bars(items: Sequence[tuple[str, int]]) -> Chart:
    """A chart of ``items`` in the order given, the longest bar as wide as the chart allows."""
    room = WIDTH - 90  # room for the number after the longest bar
    top = max((value for _, value in items), default=0)
    drawn = tuple(
        Bar(label, value, i * ROW, 0 if value <= 0 or top == 0 else max(1, round(room * value / top)))
        for i, (label, value) in enumerate(items)
    )
    return Chart(drawn, max(1, len(drawn)) * ROW)


# A score over time: a plotting area with room on the left for the scores, below for the first and last dates.
STEPS_WIDTH, STEPS_HEIGHT = 520, 260  # narrower than the bars: its few labels stay legible on a phone
LEFT, TOP, BOTTOM, TAIL = 56, 12, 34, 40  # TAIL: the last value runs on this far past its day


@dataclass(frozen=True)
class Dot:
    x: int
    y: int
    value: int


@dataclass(frozen=True)
class Level:
    """A line across the chart where a grade begins (``score`` and up), with the score written at the left."""

    grade: str
    score: int
    y: int


@dataclass(frozen=True)
class Steps:
    path: str  # SVG path data: level from each day to the next, then up or down; empty if nothing is scored
    dots: tuple[Dot, ...]
    levels: tuple[Level, ...]
    first: dt.date
    last: dt.date
    low: int  # the score at the foot of the axis
    high: int  # and at its top
    plot_bottom: int = STEPS_HEIGHT - BOTTOM
    plot_top: int = TOP
    width: int = STEPS_WIDTH
    height: int = STEPS_HEIGHT


def steps(
    points: Sequence[tuple[dt.date, int | None]], grades: Sequence[tuple[str, int]], bounds: tuple[int, int]
) -> Steps:
    """A step line through ``points`` (in date order; a None value breaks the line: nothing scored from then),
    marked where each of ``grades`` (grade, lowest score) begins. The score axis spans the values with a margin,
    within ``bounds`` (the rulebook's lowest and highest score), so that small changes show."""
    values = [value for _, value in points if value is not None]
    if not points:
        raise ValueError("a step chart needs at least one point")
    top, foot = max(values, default=bounds[1]), min(values, default=bounds[0])
    margin = max(20, (top - foot) // 4)
    low, high = max(bounds[0], foot - margin), min(bounds[1], top + margin)
    first, last = points[0][0], points[-1][0]
    span = max(1, (last - first).days)
    plot_right = STEPS_WIDTH - TAIL
    bottom = STEPS_HEIGHT - BOTTOM

    def x(day: dt.date) -> int:
        return LEFT + round((plot_right - LEFT) * (day - first).days / span)

    def y(value: int) -> int:
        share = (min(max(value, low), high) - low) / max(1, high - low)
        return bottom - round((bottom - TOP) * share)

    path: list[str] = []
    dots: list[Dot] = []
    drawing = False
    for day, value in points:
        if value is None:
            if drawing:
                path.append(f"H {x(day)}")
            drawing = False
            continue
        here = Dot(x(day), y(value), value)
        path.append(f"H {here.x} V {here.y}" if drawing else f"M {here.x} {here.y}")
        dots.append(here)
        drawing = True
    if drawing:
        path.append(f"H {STEPS_WIDTH - 8}")
    levels = tuple(Level(grade, score, y(score)) for grade, score in grades if low < score <= high)
    return Steps(" ".join(path), tuple(dots), levels, first, last, low, high)
