"""Bar charts drawn on the server as SVG: no script, nothing loaded, and always beside a table of the numbers.

Pure: the geometry of horizontal bars for labelled counts; the template draws them. The chart is a picture
for sighted readers (``aria-hidden``); the table under it is what screen readers and everyone else can read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Bar", "Chart", "bars"]

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
