"""One decoder from a stored state's columns to the domain's :class:`~credo.domain.scoring.ScoreState`.

The columns come three ways: through SQLAlchemy (JSON already decoded, dates as dates), from the driver's own
cursor (SQLite gives JSON and dates as text) and from DuckDB (JSON as text, a missing grade as ``""``); every
reader of ``current_scores`` decodes through :func:`decode_state`, so they cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from credo.domain.changes import ScoreState

__all__ = ["as_date", "decode_state", "from_json"]


def from_json(value: Any) -> Any:
    """A JSON column's value: decoded if it came as text, as it came otherwise."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def as_date(value: Any) -> dt.date | None:
    """A date column's value: a date as it came, or parsed from its ISO text (the first 10 characters)."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def decode_state(  # noqa: PLR0917 (a stored state's columns, in the table's order)
    score: Any, grade: Any, dimensions: Any, lists: Any, measures: Any, version: str, as_of: Any
) -> ScoreState:
    """The state a row of ``current_scores`` (or a plan's state columns) holds; its score None when not scored."""
    day = as_date(as_of)
    assert day is not None  # every stored state has its day
    return ScoreState(
        score=None if score is None else int(score),
        grade=grade or None,
        dimensions=dict(from_json(dimensions)),
        lists=tuple(from_json(lists)),
        measures=tuple(from_json(measures)),
        rulebook_version=version,
        as_of=day,
    )
