"""What the reference scorer returns: a score together with every reason for it."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "Contribution",
    "DimensionResult",
    "Explanation",
    "ForecastPoint",
    "IgnoredRecord",
    "ReasonCode",
    "Verdict",
]


@dataclass(frozen=True, slots=True)
class Contribution:
    """One valid record and what it does to the score at the as-of date (steps 2-7)."""

    source: str
    record_id: str
    category: str
    occurred_on: dt.date
    amount: float | None
    resolved_on: dt.date | None
    has_rule: bool
    dimension: str | None = None
    base_points: int | None = None
    occurrence: int | None = None
    effective_points: int | None = None
    counts_from: dt.date | None = None
    counts_until: dt.date | None = None  # exclusive
    decay_weight: float | None = None  # (end - T) / counts_for with linear decay, else 1
    contribution: int = 0  # hundredths of a point
    counting: bool = False
    note: str = ""


@dataclass(frozen=True, slots=True)
class IgnoredRecord:
    """A record of the subject that takes no part, and why (step 1)."""

    source: str
    record_id: str
    category: str
    occurred_on: dt.date
    why: str


@dataclass(frozen=True, slots=True)
class DimensionResult:
    name: str
    raw: int  # hundredths, before the clamp
    total: int  # hundredths, after the clamp
    min: int  # points
    max: int  # points


@dataclass(frozen=True, slots=True)
class ReasonCode:
    code: str
    text: str
    points: int  # hundredths, the (negative) sum of the rule's contributions


@dataclass(frozen=True, slots=True)
class ForecastPoint:
    on: dt.date
    score: int
    grade: str
    records_ending: tuple[str, ...]  # "source/record_id" of the records that stop counting that day


@dataclass(frozen=True, slots=True)
class Verdict:
    """Why a list or measure applies."""

    id: str
    why: str


@dataclass(frozen=True, slots=True)
class Explanation:
    subject_id: str
    subject_kind: str
    as_of: dt.date
    rulebook: str
    rulebook_version: str
    base: int
    score: int | None  # None: a person not scored without consent (credo.domain.consent)
    grade: str | None
    dimensions: tuple[DimensionResult, ...]
    lists: tuple[Verdict, ...]
    measures: tuple[Verdict, ...]
    contributions: tuple[Contribution, ...]
    ignored: tuple[IgnoredRecord, ...]
    reasons: tuple[ReasonCode, ...]
    forecast: tuple[ForecastPoint, ...]

    @property
    def list_ids(self) -> tuple[str, ...]:
        return tuple(sorted(v.id for v in self.lists))

    @property
    def measure_ids(self) -> tuple[str, ...]:
        return tuple(sorted(v.id for v in self.measures))

    def dimension_total(self, name: str) -> int:
        return next(d.total for d in self.dimensions if d.name == name)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; dates as ISO text, points as hundredths and as points."""
        data = asdict(self)
        data["dimensions"] = {
            d.name: {"points": d.total / 100, "hundredths": d.total, "before_clamp": d.raw, "min": d.min, "max": d.max}
            for d in self.dimensions
        }
        data["lists"] = [asdict(v) for v in self.lists]
        data["measures"] = [asdict(v) for v in self.measures]
        return {key: _iso_dates(value) for key, value in data.items()}


def _iso_dates(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _iso_dates(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_iso_dates(v) for v in value]
    return value
