"""Due process over time: which records a subject's disputes take out of scoring on each day.

A dispute takes its record out of scoring for a period: from the day it was
opened while it suspends the record (until it is decided, or for good if it
is decided ``removed``), and from the day it is decided ``removed`` (or an
early repair ``granted``) for good. The store reads these periods from its
disputes (:mod:`credo.store.suppression`); a refresh that walks missed days
uses them so that a dispute opened or decided in the gap changes the score
from that day on, and no earlier (docs/changes.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from credo.domain.records import RecordKey

__all__ = ["Suppression", "suppressed_on", "suppression_days"]


@dataclass(frozen=True, slots=True)
class Suppression:
    """One record out of scoring from ``start`` (inclusive) until ``end`` (exclusive; None: for good)."""

    key: RecordKey
    start: dt.date
    end: dt.date | None

    def holds_on(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


def suppressed_on(periods: Iterable[Suppression], day: dt.date) -> frozenset[RecordKey]:
    """The records taken out of scoring on ``day``."""
    return frozenset(p.key for p in periods if p.holds_on(day))


def suppression_days(periods: Iterable[Suppression], after: dt.date, before: dt.date) -> set[dt.date]:
    """The days strictly between ``after`` and ``before`` on which a period starts or ends."""
    days = {p.start for p in periods} | {p.end for p in periods if p.end is not None}
    return {d for d in days if after < d < before}
