"""Outbox events between two states, and the next day a state can change with time alone.

The property tests hold :func:`next_change` to the reference scorer day by day:
walking from one ``next_change`` to the next visits exactly the days on which
the reference gives a different state than the day before, and no other.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credo.domain.changes import EVENT_TYPES, Event, ScoreState, events_between, score_state
from credo.domain.next_change import changes_until, decay_step, next_change, next_possible_change
from credo.domain.records import Record, parse_row
from credo.domain.scoring import explain
from tests.strategies import AS_OF, ORGS, PEOPLE, record_rows, rulebooks
from tests.support import OTHER_PERSON, PERSON, D, book, rec

T = D("2026-06-30")
DAY = dt.timedelta(days=1)


def state(b: Any, *records: Record, as_of: dt.date = T, **kw: Any) -> ScoreState:
    return score_state(b, PERSON, "person", records, as_of, **kw)


def nxt(b: Any, *records: Record, as_of: dt.date = T, **kw: Any) -> dt.date | None:
    return next_change(b, records, PERSON, "person", as_of, **kw)


def types(events: list[Event]) -> list[str]:
    return [e.type for e in events]


# -- ScoreState ---------------------------------------------------------------------------------

STATE_BOOK = book(
    [
        {"category": "tax.late", "points": -40, "counts_for": "1y", "decay": "linear"},
        {"category": "court.default", "dimension": "legal", "points": -100, "counts_for": "2y", "gravity": "grave"},
    ],
    lists=[
        {"id": "debtors", "kind": "black", "title": "Debtors", "enter_when": {"categories": ["court.default"]}},
        {"id": "honour", "kind": "red", "title": "Honour", "enter_when": {"grade_at_least": "AA", "clean_for": "30d"}},
    ],
    measures=[
        {
            "id": "travel-ban",
            "kind": "penalty",
            "title": "Travel ban",
            "context": ["legal"],
            "legal_basis": "Article 7",
            "when": {"on_list": "debtors"},
        },
        {
            "id": "audit",
            "kind": "penalty",
            "title": "Audit",
            "context": ["fiscal"],
            "legal_basis": "Tax code 12",
            "when": {"dimension_at_most": {"fiscal": -20}},
        },
        {
            "id": "fast-loan",
            "kind": "reward",
            "title": "Fast loan",
            "context": ["fiscal"],
            "when": {"grade_at_least": "A"},
        },
    ],
)


def test_state_from_explanation_is_what_score_state_gives() -> None:
    records = [rec("tax.late", "2026-03-01"), rec("court.default", "2026-05-01", "r2")]
    e = explain(STATE_BOOK, PERSON, "person", records, T)
    s = ScoreState.from_explanation(e)
    assert s == state(STATE_BOOK, *records)
    assert s.score == e.score and s.grade == e.grade and s.as_of == T and s.rulebook_version == "1"
    assert s.dimensions == {"fiscal": e.dimension_total("fiscal"), "legal": -10000, "civic": 0}
    assert s.lists == ("debtors",)
    assert s.measures == ("audit", "travel-ban")  # sorted, whatever the rulebook's order
    assert json.loads(json.dumps(s.to_json()))["as_of"] == "2026-06-30"


def test_same_as_ignores_only_the_date() -> None:
    s = state(STATE_BOOK, rec("court.default", "2026-05-01"))
    later = state(STATE_BOOK, rec("court.default", "2026-05-01"), as_of=T + DAY)
    assert s != later and s.same_as(later)
    assert hash(s) != hash(later) or s.same_as(later)  # hashable despite the dict
    assert not s.same_as(ScoreState(s.score, s.grade, {**s.dimensions, "civic": 1}, s.lists, s.measures, "1", T))
    assert not s.same_as(ScoreState(s.score, s.grade, s.dimensions, s.lists, s.measures, "2", T))


def test_score_state_sets_aside_suppressed_records_and_other_subjects() -> None:
    records = [rec("court.default", "2026-05-01"), rec("court.default", "2026-05-02", "r2", subject_id=OTHER_PERSON)]
    assert state(STATE_BOOK, *records).lists == ("debtors",)
    assert state(STATE_BOOK, *records, suppressed={("src", "r1")}).lists == ()
    # a later version naming another subject takes the record away from this one
    moved = rec("court.default", "2026-05-01", subject_id=OTHER_PERSON)
    assert state(STATE_BOOK, *records, moved).lists == ()


# -- events -------------------------------------------------------------------------------------


def mk(grade: str, score: int, lists: tuple[str, ...] = (), measures: tuple[str, ...] = (), version: str = "1") -> Any:
    return ScoreState(score, grade, {"fiscal": 0}, lists, measures, version, T)


def test_no_change_no_event() -> None:
    s = mk("A", 980, ("debtors",), ("travel-ban",))
    assert events_between(STATE_BOOK, s, s) == []
    # a score that moves within its grade is no event either
    assert events_between(STATE_BOOK, s, mk("A", 1000, ("debtors",), ("travel-ban",))) == []


def test_grade_direction_follows_the_minimums_not_the_names() -> None:
    b = book(grades=[{"grade": "Z", "min": 1030}, {"grade": "A", "min": 960}, {"grade": "M", "min": 0}])
    (up,) = events_between(b, mk("A", 990), mk("Z", 1031))
    assert up.type == "grade_up"
    assert up.detail == {
        "from": "A",
        "to": "Z",
        "score_before": 990,
        "score_after": 1031,
        "rulebook_version": "1",
        "as_of": "2026-06-30",
    }
    assert types(events_between(b, mk("A", 990), mk("M", 500))) == ["grade_down"]
    assert types(events_between(b, mk("Z", 1100), mk("M", 500))) == ["grade_down"]


def test_a_grade_the_rulebook_no_longer_has_goes_by_the_score() -> None:
    assert types(events_between(STATE_BOOK, mk("OLD", 900), mk("A", 990))) == ["grade_up"]
    assert types(events_between(STATE_BOOK, mk("OLD", 995), mk("A", 990))) == ["grade_down"]


def test_lists_and_measures_in_a_fixed_order_with_their_details() -> None:
    before = mk("A", 980, ("honour",), ("fast-loan",))
    after = mk("B", 900, ("debtors",), ("audit", "travel-ban"))
    events = events_between(STATE_BOOK, before, after)
    assert types(events) == [
        "grade_down",
        "list_left",
        "list_entered",
        "measure_lifted",
        "measure_applied",
        "measure_applied",
    ]
    common = {"rulebook_version": "1", "as_of": "2026-06-30"}
    assert events[1].detail == {"list": "honour", "kind": "red", "title": "Honour", "legal_basis": None, **common}
    assert events[2].detail["list"] == "debtors" and events[2].detail["kind"] == "black"
    assert events[3].detail == {
        "measure": "fast-loan",
        "kind": "reward",
        "title": "Fast loan",
        "legal_basis": None,
        "context": ["fiscal"],
        **common,
    }
    assert [e.detail["measure"] for e in events[4:]] == ["audit", "travel-ban"]  # by id
    assert events[5].detail["kind"] == "penalty" and events[5].detail["legal_basis"] == "Article 7"
    assert json.loads(json.dumps([e.to_json() for e in events])) == [e.to_json() for e in events]


def test_a_first_score_says_so_and_names_what_it_starts_on() -> None:
    events = events_between(STATE_BOOK, None, mk("B", 900, ("debtors",), ("travel-ban",)))
    assert types(events) == ["first_scored", "list_entered", "measure_applied"]
    assert events[0].detail == {"grade": "B", "score": 900, "rulebook_version": "1", "as_of": "2026-06-30"}
    assert types(events_between(STATE_BOOK, None, mk("A", 1000))) == ["first_scored"]


def test_a_list_or_measure_a_new_version_dropped_is_described_by_the_previous_book() -> None:
    old = book(
        lists=[{"id": "gone", "kind": "black", "title": "Gone", "enter_when": {"categories": ["court.default"]}}],
        measures=[
            {
                "id": "gone-ban",
                "kind": "penalty",
                "title": "Gone ban",
                "context": ["legal"],
                "legal_basis": "Old law",
                "when": {"on_list": "gone"},
            }
        ],
        rules=[
            {"category": "court.default", "dimension": "legal", "points": -1, "counts_for": "1y", "gravity": "grave"}
        ],
    )
    before, after = mk("A", 980, ("gone",), ("gone-ban",)), mk("A", 980, version="2")
    described = events_between(STATE_BOOK, before, after, previous_book=old)
    assert types(described) == ["list_left", "measure_lifted"]
    assert described[0].detail["kind"] == "black"
    assert described[1].detail["legal_basis"] == "Old law" and described[1].detail["rulebook_version"] == "2"
    bare = events_between(STATE_BOOK, before, after)
    assert bare[1].detail == {
        "measure": "gone-ban",
        "kind": None,
        "title": None,
        "legal_basis": None,
        "context": [],
        "rulebook_version": "2",
        "as_of": "2026-06-30",
    }


# -- decay_step ---------------------------------------------------------------------------------


def _rounded(points: int, counts_for: int, days_left: int) -> int:
    numerator = 100 * points * days_left
    magnitude = (2 * abs(numerator) + counts_for) // (2 * counts_for)
    return -magnitude if numerator < 0 else magnitude


@settings(max_examples=400, deadline=None)
@given(st.integers(-60, 60), st.integers(1, 800), st.data())
def test_decay_step_is_the_next_day_the_rounded_contribution_moves(points: int, counts_for: int, data: Any) -> None:
    days_left = data.draw(st.integers(1, counts_for))
    step = decay_step(points, counts_for, days_left)
    now = _rounded(points, counts_for, days_left)
    later = [k for k in range(days_left - 1, -1, -1) if _rounded(points, counts_for, k) != now]
    if step is None:
        assert later == []
    else:
        assert later and days_left - later[0] == step


def test_decay_step_by_hand() -> None:
    # -1 point over 400 days: k/4 hundredths; 100 days left is -25.00, -24 from k = 97 (24.25 rounds to 24)
    assert decay_step(-1, 400, 100) == 3
    assert decay_step(-50, 10, 10) == 1  # -500 hundredths a day
    assert decay_step(0, 10, 5) is None
    assert decay_step(-1, 400, 1) is None  # 0.25 rounds to 0: nothing left to lose


# -- next_change by hand ------------------------------------------------------------------------

FLAT = {"category": "tax.late", "points": -5, "counts_for": "30d"}


def test_a_record_dated_ahead_starts_to_count_on_its_day() -> None:
    assert nxt(book([FLAT]), rec("tax.late", "2026-07-10")) == D("2026-07-10")


def test_a_record_dated_ahead_that_changes_nothing_is_no_change() -> None:
    unscored = rec("misc.none", "2026-07-10")
    withdrawn = rec("tax.late", "2026-07-10", "r2", status="withdrawn")
    other = rec("tax.late", "2026-07-10", "r3", subject_id=OTHER_PERSON)
    assert nxt(book([FLAT]), unscored, withdrawn, other) is None
    suspended = rec("tax.late", "2026-07-10", "r4")
    assert nxt(book([FLAT]), suspended, suppressed={("src", "r4")}) is None
    warning = {**FLAT, "repeat": {"window": "1y", "factor": 2, "first_is_warning": True}}
    assert nxt(book([warning]), rec("tax.late", "2026-07-10")) is None  # a first warning: 0 points


def test_a_counting_period_ends() -> None:
    assert nxt(book([FLAT]), rec("tax.late", "2026-06-15")) == D("2026-07-15")
    assert nxt(book([FLAT]), rec("tax.late", "2026-06-15"), as_of=D("2026-07-15")) is None


def test_a_resolution_ends_it_earlier() -> None:
    rule = {**FLAT, "ends_after_resolution": "5d"}
    assert nxt(book([rule]), rec("tax.late", "2026-06-15", resolved_on="2026-06-28")) == D("2026-07-03")
    # a resolution so late that the period ends first
    assert nxt(book([rule]), rec("tax.late", "2026-06-15", resolved_on="2026-07-14")) == D("2026-07-15")


def test_a_clean_for_window_passes() -> None:
    b = book(
        [{"category": "tax.late", "points": -1, "counts_for": "5d"}],
        grades=[{"grade": "AA", "min": 1000}, {"grade": "A", "min": 0}],
        lists=[
            {"id": "honour", "kind": "red", "title": "H", "enter_when": {"grade_at_least": "AA", "clean_for": "20d"}}
        ],
    )
    r = rec("tax.late", "2026-06-20")
    # counting ends on 06-25 (score back to 1000), the record stops blocking on 07-10
    assert nxt(b, r) == D("2026-07-10")
    assert nxt(b, r, as_of=D("2026-06-20")) == D("2026-06-25")
    assert state(b, r, as_of=D("2026-07-09")).lists == ()
    assert state(b, r, as_of=D("2026-07-10")).lists == ("honour",)


def test_linear_decay_moves_on_the_day_the_rounded_contribution_moves() -> None:
    b = book([{"category": "tax.late", "points": -1, "counts_for": "400d", "decay": "linear"}])
    r = rec("tax.late", "2026-01-01")
    days_left = (D("2026-01-01") + dt.timedelta(days=400) - T).days
    step = decay_step(-1, 400, days_left)
    assert step is not None and step > 1
    assert nxt(b, r) == T + dt.timedelta(days=step)


def test_decay_hidden_by_a_clamp_is_no_change_until_it_shows() -> None:
    b = book(
        [{"category": "tax.late", "points": -100, "counts_for": "100d", "decay": "linear"}],
        dimensions={"fiscal": {"min": -10, "max": 0}},
    )
    r = rec("tax.late", "2026-06-01")  # -100 points a day less each day; clamped at -10 points until 9 days are left
    assert nxt(b, r) == D("2026-06-01") + dt.timedelta(days=100 - 9)


def test_nothing_counts_nothing_changes() -> None:
    assert nxt(book([FLAT])) is None
    assert nxt(book([FLAT]), rec("tax.late", "2020-01-01")) is None


def test_catching_up_dates_every_event_and_loses_none() -> None:
    # on the black list from 07-02 to 07-12 and off again: a refresh that did not run until 07-20 still says both
    r = rec("court.default", "2026-07-02", resolved_on="2026-07-05")
    b = book(
        [{**FLAT, "category": "court.default", "dimension": "legal", "ends_after_resolution": "7d"}],
        lists=[{"id": "debtors", "kind": "black", "title": "Debtors", "enter_when": {"categories": ["court.default"]}}],
    )
    stored = state(b, r)
    assert nxt(b, r) == D("2026-07-02")
    steps = changes_until(b, [r], PERSON, "person", T, until=D("2026-07-20"))
    assert [s.as_of for s in steps] == [D("2026-07-02"), D("2026-07-12")]
    events = []
    for before, after in itertools.pairwise([stored, *steps]):
        events += events_between(b, before, after)
    assert [(e.type, e.detail["as_of"]) for e in events] == [
        ("list_entered", "2026-07-02"),
        ("list_left", "2026-07-12"),
    ]
    assert changes_until(b, [r], PERSON, "person", T, until=D("2026-07-11"))[-1].as_of == D("2026-07-02")
    assert changes_until(b, [r], PERSON, "person", T, until=T) == []


# -- next_change against the reference, day by day ----------------------------------------------

LAST = AS_OF + dt.timedelta(days=60)  # every generated date, plus every generated duration, is before this
SUBJECTS = [(p, "person") for p in PEOPLE] + [(o, "organization") for o in ORGS]


def _parsed(rows: list[dict[str, Any]]) -> list[Record]:
    records = [parse_row(row) for row in rows]
    assert all(isinstance(r, Record) for r in records)
    return [r for r in records if isinstance(r, Record)]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rulebooks(), record_rows(), st.integers(-75, 8), st.data())
def test_next_change_visits_exactly_the_days_the_reference_changes(
    b: Any, rows: list[dict[str, Any]], offset: int, data: Any
) -> None:
    records = _parsed(rows)
    keys = sorted({r.key for r in records})
    suppressed = frozenset(data.draw(st.lists(st.sampled_from(keys), max_size=2))) if keys else frozenset()
    start = AS_OF + dt.timedelta(days=offset)
    for subject, kind in SUBJECTS:
        states = {}
        day = start
        while day <= LAST:
            states[day] = score_state(b, subject, kind, records, day, suppressed=suppressed)
            day += DAY
        changes = [d for d in states if d > start and not states[d].same_as(states[d - DAY])]
        walked = []
        at = start
        while (found := next_change(b, records, subject, kind, at, suppressed=suppressed)) is not None:
            assert found > at
            walked.append(found)
            at = found
        assert walked == changes
        assert all(d <= LAST for d in walked)
        caught_up = changes_until(b, records, subject, kind, start, until=LAST, suppressed=suppressed)
        assert [s.as_of for s in caught_up] == changes
        assert all(s == states[s.as_of] for s in caught_up)
        # the states the store would keep agree with the explanation
        e = explain(b, subject, kind, records, start, suppressed=suppressed)
        assert ScoreState.from_explanation(e) == states[start]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rulebooks(), record_rows(), st.integers(-75, 8))
def test_the_next_possible_change_is_never_later_than_the_next_change(
    b: Any, rows: list[dict[str, Any]], offset: int
) -> None:
    records = _parsed(rows)
    start = AS_OF + dt.timedelta(days=offset)
    for subject, kind in SUBJECTS:
        exact = next_change(b, records, subject, kind, start)
        possible = next_possible_change(b, records, subject, kind, start)
        if exact is not None:
            assert possible is not None and start < possible <= exact
        # the state holds on every day before the possible change (the store may rely on it)
        day, first = start, score_state(b, subject, kind, records, start)
        while possible is not None and day < min(possible, LAST):
            assert score_state(b, subject, kind, records, day).same_as(first)
            day += DAY


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rulebooks(), record_rows(), st.integers(-75, 8))
def test_events_turn_one_state_into_the_next(b: Any, rows: list[dict[str, Any]], offset: int) -> None:
    records = _parsed(rows)
    start = AS_OF + dt.timedelta(days=offset)
    for subject, kind in SUBJECTS:
        before: ScoreState | None = None
        at: dt.date | None = start
        while at is not None:
            after = score_state(b, subject, kind, records, at)
            events = events_between(b, before, after)
            lists = set(before.lists if before else ())
            measures = set(before.measures if before else ())
            for event in events:
                assert event.type in EVENT_TYPES
                assert subject not in json.dumps(event.to_json())  # never the identifier
                if event.type == "list_entered":
                    assert event.detail["list"] not in lists
                    lists.add(event.detail["list"])
                elif event.type == "list_left":
                    lists.remove(event.detail["list"])
                elif event.type == "measure_applied":
                    assert event.detail["measure"] not in measures
                    measures.add(event.detail["measure"])
                elif event.type == "measure_lifted":
                    measures.remove(event.detail["measure"])
            assert (tuple(sorted(lists)), tuple(sorted(measures))) == (after.lists, after.measures)
            grade_events = [e for e in events if e.type.startswith("grade_") or e.type == "first_scored"]
            assert len(grade_events) == (1 if before is None or before.grade != after.grade else 0)
            assert events == sorted(events, key=lambda e: EVENT_TYPES.index(e.type))  # grade, lists, measures
            before, at = after, next_change(b, records, subject, kind, at)


LONG_RULES = [
    {"points": -7, "counts_for": "2y"},
    {"points": 3, "counts_for": "2y"},
    # a repeat makes the second record's points -3: its rounded value moves three times as often as -1's
    {"points": -1, "counts_for": "400d", "repeat": {"window": "1y", "factor": 3}},
    {"points": -1, "counts_for": "400d", "repeat": {"window": "1y", "factor": 3, "first_is_warning": True}},
    {"points": -2, "counts_for": "1y", "tiers": [{"min_amount": 100, "points": -1}], "ends_after_resolution": "200d"},
]


@pytest.mark.parametrize("rule", LONG_RULES)
def test_walking_a_long_decay_stays_exact(rule: dict[str, Any]) -> None:
    b = book([{"category": "tax.late", "decay": "linear", **rule}])
    records = [
        rec("tax.late", "2026-01-01", amount=150, resolved_on="2026-02-01"),
        rec("tax.late", "2026-03-01", "r2"),
    ]
    day, changes = D("2026-01-01"), []
    previous = state(b, *records, as_of=day)
    while day < D("2028-04-01"):
        day += DAY
        now = state(b, *records, as_of=day)
        if not now.same_as(previous):
            changes.append(day)
        previous = now
    walked, at = [], D("2026-01-01")
    while (found := nxt(b, *records, as_of=at)) is not None:
        walked.append(found)
        at = found
    assert walked == changes
    assert changes  # the walk has something to find


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rulebooks(), record_rows(), st.integers(-75, 8), st.integers(1, 800), st.data())
def test_moving_every_date_by_some_days_moves_the_state_by_as_many(
    b: Any, rows: list[dict[str, Any]], offset: int, moved: int, data: Any
) -> None:
    """The contract compares dates only with each other: the bulk catch-up scores a subject's state on a past day
    as the state today of the subject with every date moved forward (credo.services.catchup)."""
    records = _parsed(rows)
    shift = dt.timedelta(days=moved)
    later = [
        replace(r, occurred_on=r.occurred_on + shift, resolved_on=r.resolved_on and r.resolved_on + shift)
        for r in records
    ]
    history = data.draw(st.lists(st.tuples(st.integers(-80, 10), st.booleans()), max_size=3))
    consent = [(AS_OF + dt.timedelta(days=d), given) for d, given in history]
    consent_later = [(on + shift, given) for on, given in consent]
    b = b.model_copy(update={"score": b.score.model_copy(update={"requires_consent": data.draw(st.booleans())})})
    day = AS_OF + dt.timedelta(days=offset)
    for subject, kind in SUBJECTS:
        now = score_state(b, subject, kind, records, day, consent=consent)
        then = score_state(b, subject, kind, later, day + shift, consent=consent_later)
        assert then.same_as(now), subject
