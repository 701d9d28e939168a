"""What changes for a subject, and when it can next change with time alone.

A store keeps each subject's current :class:`ScoreState` and writes an
outbox event for every change a subject must hear about. Two questions follow,
and both are answered here, purely (no clock: dates are arguments):

- :func:`events_between`: given the state before and the state after, which
  events (grade up or down, list entered or left, measure applied or lifted)?
- :func:`next_change`: with no new record, dispute or rulebook, on which day
  after ``as_of`` does the stored state first stop being exact? Records dated
  ahead start to count, counting periods end, ``clean_for`` windows pass and
  linear decay moves contributions; this finds the first day on which any of
  that actually changes the state (score, grade, dimension totals, lists or
  measures), exactly, by asking the reference scorer.

See docs/changes.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from credo.domain.consent import ConsentHistory, consent_days, is_scored, without_consent
from credo.domain.explanation import Explanation
from credo.domain.records import Record, RecordKey
from credo.domain.rulebook import Rulebook
from credo.domain.scoring import counting_end, latest_versions, score_only

__all__ = [
    "EVENT_TYPES",
    "Event",
    "ScoreState",
    "changes_until",
    "decay_step",
    "events_between",
    "explanation_without_consent",
    "next_change",
    "next_possible_change",
    "score_state",
    "subject_records",
]

EVENT_TYPES = (
    "first_scored",
    "unscored",
    "grade_up",
    "grade_down",
    "list_left",
    "list_entered",
    "measure_lifted",
    "measure_applied",
)


@dataclass(frozen=True, slots=True)
class ScoreState:
    """What a store keeps as a subject's current standing: everything but the reasons.

    ``dimensions`` are the clamped totals in hundredths of a point, in the
    rulebook's order; ``lists`` and ``measures`` are sorted ids. ``as_of`` is
    the date the state was computed for; :meth:`same_as` compares everything
    else. Frozen; ``dimensions`` takes no part in the hash. A person the
    rulebook scores only with consent, and who has not given it, has no
    score, no grade and no dimensions (:func:`credo.domain.consent.without_consent`).
    """

    score: int | None
    grade: str | None
    dimensions: Mapping[str, int] = field(hash=False)
    lists: tuple[str, ...]
    measures: tuple[str, ...]
    rulebook_version: str
    as_of: dt.date

    @classmethod
    def from_explanation(cls, e: Explanation) -> ScoreState:
        return cls(
            score=e.score,
            grade=e.grade,
            dimensions={d.name: d.total for d in e.dimensions},
            lists=e.list_ids,
            measures=e.measure_ids,
            rulebook_version=e.rulebook_version,
            as_of=e.as_of,
        )

    def same_as(self, other: ScoreState) -> bool:
        """Equal in everything a store keeps except the date it was computed for."""
        return (
            self.score == other.score
            and self.grade == other.grade
            and dict(self.dimensions) == dict(other.dimensions)
            and self.lists == other.lists
            and self.measures == other.measures
            and self.rulebook_version == other.rulebook_version
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "grade": self.grade,
            "dimensions": dict(self.dimensions),
            "lists": list(self.lists),
            "measures": list(self.measures),
            "rulebook_version": self.rulebook_version,
            "as_of": self.as_of.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Event:
    """One change an outbox carries. ``detail`` is JSON-ready and never holds the subject's identifier."""

    type: str
    detail: Mapping[str, Any] = field(hash=False)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "detail": dict(self.detail)}


# -- the state of one subject -------------------------------------------------------------------


def subject_records(
    records: Iterable[Record], subject_id: str, subject_kind: str, suppressed: Collection[RecordKey] = frozenset()
) -> list[Record]:
    """The latest version of each of the subject's records, without those due process takes out.

    As in :func:`credo.domain.scoring.explain`, versions are resolved over all
    rows first, so a record re-sent naming another subject leaves this one.
    """
    return [
        r
        for r in latest_versions(records)
        if r.subject_id == subject_id and r.subject_kind == subject_kind and r.key not in suppressed
    ]


def _state(book: Rulebook, kind: str, mine: list[Record], as_of: dt.date, consent: ConsentHistory = ()) -> ScoreState:
    state = ScoreState(*score_only(book, kind, mine, as_of), book.version, as_of)
    return state if is_scored(book, kind, consent, as_of) else without_consent(book, state)


def score_state(
    book: Rulebook,
    subject_id: str,
    subject_kind: str,
    records: Iterable[Record],
    as_of: dt.date,
    *,
    suppressed: Collection[RecordKey] = frozenset(),
    consent: ConsentHistory = (),
) -> ScoreState:
    """The state :func:`credo.domain.scoring.explain` gives, without computing the explanation.

    ``consent`` is the subject's consent history (:mod:`credo.domain.consent`);
    it matters only for a person under a rulebook that requires consent, and
    then an empty history means not given.
    """
    mine = subject_records(records, subject_id, subject_kind, suppressed)
    return _state(book, subject_kind, mine, as_of, consent)


def explanation_without_consent(book: Rulebook, e: Explanation) -> Explanation:
    """An explanation as an unconsented person's report shows it: :func:`without_consent` decides what remains.

    The records and what each would do stay (they are the person's own data);
    score, grade, dimensions, reasons and forecast go, and so do the lists and
    measures :func:`without_consent` takes away.
    """
    kept = without_consent(book, ScoreState.from_explanation(e))
    return replace(
        e,
        score=None,
        grade=None,
        dimensions=(),
        lists=tuple(v for v in e.lists if v.id in kept.lists),
        measures=tuple(v for v in e.measures if v.id in kept.measures),
        reasons=(),
        forecast=(),
    )


# -- events -------------------------------------------------------------------------------------


def _grade_rank(book: Rulebook, grade: str) -> int | None:
    mins = {g.grade: g.min for g in book.grades}
    return mins.get(grade)


def _grade_event(book: Rulebook, before: ScoreState, after: ScoreState, common: dict[str, Any]) -> Event | None:
    if before.grade == after.grade:
        return None
    # Both sides have a score here (events_between gives no grade event otherwise).
    assert before.grade is not None and after.grade is not None
    assert before.score is not None and after.score is not None
    old, new = _grade_rank(book, before.grade), _grade_rank(book, after.grade)
    # A grade the rulebook no longer defines (a new version renamed grades): the score says which way.
    up = old < new if old is not None and new is not None and old != new else after.score > before.score
    detail = {
        "from": before.grade,
        "to": after.grade,
        "score_before": before.score,
        "score_after": after.score,
        **common,
    }
    return Event("grade_up" if up else "grade_down", detail)


def _list_detail(books: list[Rulebook], list_id: str) -> dict[str, Any]:
    for b in books:
        for lst in b.lists:
            if lst.id == list_id:
                return {"list": list_id, "kind": lst.kind, "title": lst.title, "legal_basis": lst.legal_basis}
    return {"list": list_id, "kind": None, "title": None, "legal_basis": None}


def _measure_detail(books: list[Rulebook], measure_id: str) -> dict[str, Any]:
    for b in books:
        for m in b.measures:
            if m.id == measure_id:
                return {
                    "measure": measure_id,
                    "kind": m.kind,
                    "title": m.title,
                    "legal_basis": m.legal_basis,
                    "context": list(m.context),
                }
    return {"measure": measure_id, "kind": None, "title": None, "legal_basis": None, "context": []}


def events_between(
    book: Rulebook, before: ScoreState | None, after: ScoreState, previous_book: Rulebook | None = None
) -> list[Event]:
    """The events for a subject whose state goes from ``before`` to ``after``.

    ``book`` is the rulebook ``after`` was computed under; ``previous_book``
    (if ``before`` was computed under another version) describes lists and
    measures the new version no longer defines. Order: the grade event, then
    lists left, lists entered, measures lifted, measures applied, each group
    by id. A first score (``before`` is None) gives ``first_scored`` and then
    every list and measure the subject starts on, as entered or applied.

    A state without a score (a person not scored without consent) has no
    grade to go up or down from or to: a score appearing gives
    ``first_scored``, a score going away gives ``unscored``, and neither side
    without a score gives a grade event.
    """
    common = {"rulebook_version": after.rulebook_version, "as_of": after.as_of.isoformat()}
    books = [book] if previous_book is None else [book, previous_book]
    events: list[Event] = []
    if before is None or before.score is None:
        # Scored from nothing: never scored before, or not scored without consent until now.
        if after.score is not None:
            events.append(Event("first_scored", {"grade": after.grade, "score": after.score, **common}))
    elif after.score is None:  # consent withdrawn (or a rulebook that now requires it): no grade to go up or down
        events.append(Event("unscored", {"grade_before": before.grade, "score_before": before.score, **common}))
    else:
        grade_event = _grade_event(book, before, after, common)
        if grade_event is not None:
            events.append(grade_event)
    old_lists: tuple[str, ...] = () if before is None else before.lists
    old_measures: tuple[str, ...] = () if before is None else before.measures
    for list_id in sorted(set(old_lists) - set(after.lists)):
        events.append(Event("list_left", {**_list_detail(books, list_id), **common}))
    for list_id in sorted(set(after.lists) - set(old_lists)):
        events.append(Event("list_entered", {**_list_detail(books, list_id), **common}))
    for measure_id in sorted(set(old_measures) - set(after.measures)):
        events.append(Event("measure_lifted", {**_measure_detail(books, measure_id), **common}))
    for measure_id in sorted(set(after.measures) - set(old_measures)):
        events.append(Event("measure_applied", {**_measure_detail(books, measure_id), **common}))
    return events


# -- when the state can next change with time alone --------------------------------------------


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
    current = _state(book, kind, mine, as_of, consent)
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
        if not _state(book, kind, mine, day, consent).same_as(current):
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
