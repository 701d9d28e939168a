"""Retention: which stored records are due to be purged, given the rulebooks and the dates. Pure.

A record is kept for the rulebook's ``retention.keep_for`` after the last day
it can matter, then purged (docs/due-process.md, "Retention"):

* **the last day it could count** (kept in its tombstone): the day before the
  end of its counting period (:func:`credo.domain.scoring.counting_end`, with
  its latest version's fields), or before its withdrawal arrived or before a
  dispute removed it / a repair was granted, whichever is earliest; none if
  its category has no rule for the subject's kind, or if that day is before
  it occurred;
* **the last day it can matter**, from which ``keep_for`` runs: for a record
  that still takes part in scoring (active, not removed), the last day it
  could count, but also the last day it can still change another record's
  points (a ``repeat`` window: a later record of the same category within the
  window counts while its own period lasts) or a ``clean_for`` list (a record
  with negative points keeps a subject off such a list for that long); a
  record removed by due process keeps the day its counting period would have
  ended, so that a re-send after the purge could not count again; a withdrawn
  record the last day it could count; a record without a rule the day it
  occurred. The latest of these over every rulebook given (the one in force
  today and those already activated for later days) is taken, so that purging
  never changes anybody's score, grade, lists or measures from today on.

A record under an open dispute or repair application is never due.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from credo.domain.rulebook import Rule, Rulebook
from credo.domain.scoring import counting_end

__all__ = ["Due", "Held", "counted_until", "due", "matters_until"]

DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Held:
    """What retention needs to know of one stored record: its latest version and its due process."""

    source: str
    record_id: str
    subject_kind: str
    category: str
    occurred_on: dt.date
    amount: float | None = None
    resolved_on: dt.date | None = None
    withdrawn_on: dt.date | None = None  # the day its withdrawal (the latest version) arrived
    removed_on: dt.date | None = None  # the day a dispute removed it or its repair was granted
    open_due_process: bool = False  # an open dispute or repair application


@dataclass(frozen=True, slots=True)
class Due:
    """A record due to be purged: the last day it could count (None: never) and the last day it was kept."""

    source: str
    record_id: str
    category: str
    counted_until: dt.date | None
    kept_until: dt.date


@dataclass(frozen=True, slots=True)
class _Plan:
    """One rulebook's rule for a category and kind, with what retention derives from it once."""

    rule: Rule
    repeat_days: int  # how long after it occurred it can still raise a later record's points
    clean_days: int  # how long after it occurred it keeps a subject off a clean_for list, if its points are negative


def _plans(books: Sequence[Rulebook], category: str, kind: str) -> list[_Plan]:
    plans = []
    for book in books:
        rule = book.rule_for(category, kind)
        if rule is None:
            continue
        # A later record within the repeat window counts at most counts_for days.
        repeat_days = rule.repeat.window + rule.counts_for - 2 if rule.repeat is not None else 0
        windows = [listed.enter_when.clean_for - 1 for listed in book.lists if listed.enter_when.clean_for is not None]
        plans.append(_Plan(rule, repeat_days, max(windows, default=0)))
    return plans


def _period_end(plans: Sequence[_Plan], held: Held) -> dt.date | None:
    """The last day of its counting period under any of the rulebooks, if one has a rule for it."""
    if not plans:
        return None
    return max(counting_end(plan.rule, held) for plan in plans) - DAY


def _counted_until(plans: Sequence[_Plan], held: Held) -> dt.date | None:
    last = _period_end(plans, held)
    if last is None:
        return None
    for stop in (held.withdrawn_on, held.removed_on):
        if stop is not None:
            last = min(last, stop - DAY)
    return last if last >= held.occurred_on else None


def _matters_until(plans: Sequence[_Plan], held: Held) -> dt.date:
    if held.withdrawn_on is not None:
        return _counted_until(plans, held) or held.occurred_on
    last = _period_end(plans, held)
    if last is None or last < held.occurred_on:
        last = held.occurred_on
    days = 0
    for plan in plans:
        days = max(days, plan.repeat_days)
        if plan.clean_days > days and plan.rule.base_points(held.amount) < 0:
            days = plan.clean_days
    return max(last, held.occurred_on + dt.timedelta(days=days))


def counted_until(books: Sequence[Rulebook], held: Held) -> dt.date | None:
    """The last day the record could count; None if it never could."""
    return _counted_until(_plans(books, held.category, held.subject_kind), held)


def matters_until(books: Sequence[Rulebook], held: Held) -> dt.date:
    """The last day the record can matter to any score: ``keep_for`` runs from the day after."""
    return _matters_until(_plans(books, held.category, held.subject_kind), held)


def due(books: Sequence[Rulebook], keep_for: int, held: Iterable[Held], today: dt.date) -> Iterator[Due]:
    """The records kept ``keep_for`` days past the last day they can matter, before ``today``."""
    keep = dt.timedelta(days=keep_for)
    plans_of: dict[tuple[str, str], list[_Plan]] = {}
    for item in held:
        if item.open_due_process:
            continue
        plans = plans_of.get((item.category, item.subject_kind))
        if plans is None:
            plans = plans_of[(item.category, item.subject_kind)] = _plans(books, item.category, item.subject_kind)
        kept_until = _matters_until(plans, item) + keep
        if kept_until < today:
            yield Due(item.source, item.record_id, item.category, _counted_until(plans, item), kept_until)
