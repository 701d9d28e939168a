"""When a subject's state can next change with time alone, and its changes day by day until a date.

:func:`next_change`: with no new record, dispute or rulebook, on which day
after ``as_of`` does the stored state first stop being exact? Records dated
ahead start to count, counting periods end, ``clean_for`` windows pass and
linear decay moves contributions; this finds the first day on which any of
that actually changes the state (score, grade, dimension totals, lists or
measures), exactly, by asking the reference scorer. Pure: dates are
arguments (docs/changes.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

from credo.domain.changes import ScoreState, score_state, state_of_records, subject_records
from credo.domain.consent import ConsentHistory, consent_days, is_scored
from credo.domain.records import Record, RecordKey
from credo.domain.rulebook import Rulebook
from credo.domain.scoring import counting_end

__all__ = ["changes_until", "decay_step", "next_change", "next_possible_change"]


def decay_step(effective_points: int, counts_for: int, days_left: int) -> int | None:
    """How many days until a linearly decaying contribution's rounded value next changes.

    The contribution is ``round_half_away(100 * P * k / C)`` hundredths with
    ``k = days_left`` (``occurred_on + counts_for - T``, at least 1) and
    ``C = counts_for``. Its magnitude ``g(k) = (2 * A * k + C) // (2 * C)``
    (``A = 100 * |P|``) only falls as k falls; the next change is at the
    largest ``k' < k`` with ``g(k') < g(k)``, that is
    ``k' = (2 * C * g(k) - C - 1) // (2 * A)``. None when it is already 0.
    """
    magnitude = 100 * abs(effective_points)
    if magnitude == 0:
        return None
    value = (2 * magnitude * days_left + counts_for) // (2 * counts_for)
    if value == 0:
        return None
    return days_left - (2 * counts_for * value - counts_for - 1) // (2 * magnitude)


def _counting_end(book: Rulebook, kind: str, record: Record) -> dt.date | None:
    """Step 6's exclusive end, or None for a record no rule scores."""
    rule = book.rule_for(record.category, kind)
    return None if rule is None else counting_end(rule, record)


def _calendar(book: Rulebook, kind: str, mine: list[Record]) -> set[dt.date]:
    """Every day on which a record becomes valid, stops counting or stops blocking a clean_for list."""
    clean_fors = {lst.enter_when.clean_for for lst in book.lists if lst.enter_when.clean_for is not None}
    days: set[dt.date] = set()
    for record in mine:
        if record.status != "active":
            continue
        days.add(record.occurred_on)
        end = _counting_end(book, kind, record)
        if end is None:
            continue
        days.add(end)
        rule = book.rule_for(record.category, kind)
        if rule is not None and rule.base_points(record.amount) < 0:
            days.update(record.occurred_on + dt.timedelta(days=c) for c in clean_fors)
    return days


def _next_decay_day(book: Rulebook, kind: str, mine: list[Record], day: dt.date) -> dt.date | None:
    """No later than the next day a linearly decaying contribution counting on ``day`` changes.

    The effective points depend on the record's occurrence n; rather than
    recount it, take the earliest change of the values they can have (the
    base points, and the base points times the repeat factor; a warning's 0
    never changes). Taking the earliest can only add a day to look at, never
    skip one, and :func:`next_change` looks at the state on each such day.
    """
    soonest: dt.date | None = None
    for record in mine:
        rule = book.rule_for(record.category, kind)
        end = _counting_end(book, kind, record)
        if rule is None or end is None or rule.decay != "linear" or record.status != "active":
            continue
        if not record.occurred_on <= day < end:
            continue
        base = rule.base_points(record.amount)
        possible = {base, base * rule.repeat.factor} if rule.repeat is not None else {base}
        days_left = (record.occurred_on + dt.timedelta(days=rule.counts_for) - day).days
        for points in possible:
            step = decay_step(points, rule.counts_for, days_left)
            if step is None:
                continue
            when = day + dt.timedelta(days=step)
            if when < end and (soonest is None or when < soonest):
                soonest = when
    return soonest


def next_change(
    book: Rulebook,
    records: Iterable[Record],
    subject_id: str,
    kind: str,
    as_of: dt.date,
    *,
    suppressed: Collection[RecordKey] = frozenset(),
    consent: ConsentHistory = (),
) -> dt.date | None:
    """The first day after ``as_of`` on which the subject's state differs from its state at ``as_of``.

    Exact: on every day from ``as_of`` up to (excluding) the answer the state
    (score, grade, dimension totals, lists, measures) is the same, and on the
    answer it differs. None when time alone never changes it again. Only time
    moves: the records, ``suppressed``, ``consent`` (entries dated ahead take
    effect on their day) and the rulebook are taken as they are.
    """
    mine = subject_records(records, subject_id, kind, suppressed)
    current = state_of_records(book, kind, mine, as_of, consent)
    calendar = sorted(d for d in _calendar(book, kind, mine) | consent_days(consent, as_of) if d > as_of)
    day = as_of
    while True:
        structural = next((d for d in calendar if d > day), None)
        # Unscored (no consent): decay moves nothing until a consent day, which is in the calendar.
        decay = None if current.score is None else _next_decay_day(book, kind, mine, day)
        candidates = [d for d in (structural, decay) if d is not None]
        if not candidates:
            return None
        day = min(candidates)
        if not state_of_records(book, kind, mine, day, consent).same_as(current):
            return day


def next_possible_change(
    book: Rulebook,
    records: Iterable[Record],
    subject_id: str,
    kind: str,
    as_of: dt.date,
    *,
    suppressed: Collection[RecordKey] = frozenset(),
    consent: ConsentHistory = (),
) -> dt.date | None:
    """The first day after ``as_of`` on which the state CAN change: never later than :func:`next_change`.

    The first day :func:`next_change` would look at, without scoring it: a
    record becoming valid or ending, a clean_for window closing, a decay step.
    It costs no scoring, so a rescore that must answer quickly (a push over
    the API) stores it; the stored state is then exact on every day before
    it, and the daily refresh looks again on that day, finding the exact next
    change or nothing to do, as it does for the bulk path's dates.
    """
    mine = subject_records(records, subject_id, kind, suppressed)
    structural = min((d for d in _calendar(book, kind, mine) | consent_days(consent, as_of) if d > as_of), default=None)
    scored = is_scored(book, kind, consent, as_of)  # unscored: decay moves nothing before a consent day
    decay = _next_decay_day(book, kind, mine, as_of) if scored else None
    candidates = [d for d in (structural, decay) if d is not None]
    return min(candidates) if candidates else None


def changes_until(
    book: Rulebook,
    records: Iterable[Record],
    subject_id: str,
    kind: str,
    since: dt.date,
    *,
    until: dt.date,
    suppressed: Collection[RecordKey] = frozenset(),
    consent: ConsentHistory = (),
) -> list[ScoreState]:
    """The subject's state on each day in (``since``, ``until``] on which it changes, in order.

    What a store catching up walks through: each state's ``as_of`` is the day
    the change happened, so ``events_between`` consecutive states dates every
    event truly, and a change undone before ``until`` is not lost.
    """
    records = list(records)
    states: list[ScoreState] = []
    day = since
    while (
        found := next_change(book, records, subject_id, kind, day, suppressed=suppressed, consent=consent)
    ) is not None:
        if found > until:
            break
        day = found
        states.append(score_state(book, subject_id, kind, records, day, suppressed=suppressed, consent=consent))
    return states
