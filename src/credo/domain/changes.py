"""What changes for a subject: its state, and the events between two states.

A store keeps each subject's current :class:`ScoreState` and writes an
outbox event for every change a subject must hear about. Given the state
before and the state after, :func:`events_between` says which events (grade
up or down, list entered or left, measure applied or lifted), purely (no
clock: dates are arguments). When the state can next change with time alone
is :mod:`credo.domain.next_change`.

See docs/changes.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from credo.domain.consent import ConsentHistory, is_scored, without_consent
from credo.domain.explanation import Explanation
from credo.domain.records import Record, RecordKey
from credo.domain.rulebook import Rulebook
from credo.domain.scoring import latest_versions, score_only

__all__ = [
    "EVENT_TYPES",
    "Event",
    "ScoreState",
    "events_between",
    "explanation_without_consent",
    "score_state",
    "state_of_records",
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


def state_of_records(
    book: Rulebook, kind: str, mine: list[Record], as_of: dt.date, consent: ConsentHistory = ()
) -> ScoreState:
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
    return state_of_records(book, subject_kind, mine, as_of, consent)


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
