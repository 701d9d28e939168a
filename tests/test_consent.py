"""Consent to be scored, in the domain: what holds on a day, and what an unconsented person keeps.

:func:`credo.domain.consent.without_consent` is checked against a direct
reading of docs/due-process.md ("Consent"), on generated rulebooks and
records, and the time functions (``next_change``, ``changes_until``) against
the reference scorer day by day when consent changes ahead.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credo.domain.changes import ScoreState, events_between, explanation_without_consent, score_state
from credo.domain.consent import consent_on, is_scored, without_consent
from credo.domain.decisions import NOT_SCORED, answer_measure, find_measure
from credo.domain.next_change import changes_until, next_change, next_possible_change
from credo.domain.records import Record, parse_row
from credo.domain.rulebook import Measure, MeasureTrigger, Rulebook
from credo.domain.scoring import counting_end, explain, latest_versions
from credo.rulebook_file import parse_rulebook
from tests.strategies import AS_OF, ORGS, PEOPLE, record_rows, rulebooks
from tests.support import BASE_YAML, ORG, PERSON, D, rec

DAY = dt.timedelta(days=1)
LAST = AS_OF + dt.timedelta(days=45)

PENALTIES = (
    Measure(
        id="p-list",
        kind="penalty",
        title="on the watch list",
        context=("fiscal", "legal"),
        legal_basis="a law",
        when=MeasureTrigger(on_list="watch"),
    ),
    Measure(
        id="p-dims",
        kind="penalty",
        title="low fiscal",
        context=("fiscal",),
        legal_basis="a law",
        when=MeasureTrigger(dimension_at_most={"fiscal": 0}),
    ),
)


def _requiring(book: Rulebook, required: bool = True) -> Rulebook:
    """The generated rulebook with penalties beside its rewards, requiring consent or not."""
    return book.model_copy(
        update={
            "score": book.score.model_copy(update={"requires_consent": required}),
            "measures": (*book.measures, *PENALTIES),
        }
    )


def _parsed(rows: list[dict[str, Any]]) -> list[Record]:
    records = [parse_row(row) for row in rows]
    return [r for r in records if isinstance(r, Record)]


def _direct(
    book: Rulebook, records: list[Record], subject: str, day: dt.date
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Lists and measures of an unconsented person, read straight from the rules (not from a scoring outcome).

    On a list entered by categories while one of its valid records in them
    counts; under a penalty whose list is such a list; nothing else.
    """
    lists = []
    for lst in book.lists:
        cats = lst.enter_when.categories
        if cats is None:
            continue
        for r in latest_versions(records):
            rule = book.rule_for(r.category, "person")
            if (
                r.subject_id == subject
                and r.subject_kind == "person"
                and r.status == "active"
                and r.category in cats
                and rule is not None
                and r.occurred_on <= day < counting_end(rule, r)
            ):
                lists.append(lst.id)
                break
    measures = [
        m.id for m in book.measures if m.kind == "penalty" and m.when.on_list is not None and m.when.on_list in lists
    ]
    return tuple(sorted(lists)), tuple(sorted(measures))


histories = st.lists(
    st.tuples(st.integers(-10, 10).map(lambda d: AS_OF + dt.timedelta(days=d)), st.booleans()), max_size=4
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rulebooks(), record_rows(), histories)
def test_an_unconsented_person_keeps_only_lists_and_penalties_grounded_in_records(
    generated: Rulebook, rows: list[dict[str, Any]], history: list[tuple[dt.date, bool]]
) -> None:
    book, free = _requiring(generated), _requiring(generated, required=False)
    records = _parsed(rows)
    for subject in PEOPLE:
        state = score_state(book, subject, "person", records, AS_OF, consent=history)
        scored = score_state(free, subject, "person", records, AS_OF)
        if consent_on(history, AS_OF):
            assert state.same_as(scored)
            continue
        assert (state.score, state.grade, dict(state.dimensions)) == (None, None, {})
        assert (state.lists, state.measures) == _direct(book, records, subject, AS_OF)
        assert not {m.id for m in book.measures if m.kind == "reward"} & set(state.measures)
        # the same function, applied to the scored outcome, gives the same
        assert without_consent(book, scored).same_as(state)
    for subject in ORGS:  # organisations are never asked
        assert score_state(book, subject, "organization", records, AS_OF, consent=()).same_as(
            score_state(free, subject, "organization", records, AS_OF)
        )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rulebooks(), record_rows(), histories, st.integers(-12, 3))
def test_next_change_visits_exactly_the_days_the_state_changes_with_consent_ahead(
    generated: Rulebook, rows: list[dict[str, Any]], history: list[tuple[dt.date, bool]], offset: int
) -> None:
    book = _requiring(generated)
    records = _parsed(rows)
    start = AS_OF + dt.timedelta(days=offset)
    for subject in PEOPLE:
        states = {}
        day = start
        while day <= LAST:
            states[day] = score_state(book, subject, "person", records, day, consent=history)
            day += DAY
        changes = [d for d in states if d > start and not states[d].same_as(states[d - DAY])]
        walked, at = [], start
        while (found := next_change(book, records, subject, "person", at, consent=history)) is not None:
            if found > LAST:
                break
            walked.append(found)
            at = found
        assert walked == changes
        caught_up = changes_until(book, records, subject, "person", start, until=LAST, consent=history)
        assert [s.as_of for s in caught_up] == changes
        possible = next_possible_change(book, records, subject, "person", start, consent=history)
        exact = next_change(book, records, subject, "person", start, consent=history)
        if exact is not None:
            assert possible is not None and start < possible <= exact


@given(histories, st.integers(-12, 12))
def test_consent_holding_on_a_day_is_the_latest_entry_on_or_before_it(
    history: list[tuple[dt.date, bool]], offset: int
) -> None:
    day = AS_OF + dt.timedelta(days=offset)
    before = [(i, on, given) for i, (on, given) in enumerate(history) if on <= day]
    expected = max(before, key=lambda t: (t[1], t[0]))[2] if before else False
    assert consent_on(history, day) is expected


def test_consent_on_a_tie_is_the_later_written_and_none_is_not_given() -> None:
    assert consent_on([], AS_OF) is False
    assert consent_on([(AS_OF, True), (AS_OF, False)], AS_OF) is False
    assert consent_on([(AS_OF, False), (AS_OF, True)], AS_OF) is True
    assert consent_on([(AS_OF + DAY, True)], AS_OF) is False  # dated ahead: not yet
    assert consent_on([(AS_OF - DAY, True), (AS_OF + DAY, False)], AS_OF) is True


# -- deterministic, on the test rulebook --------------------------------------------------------

FREE = parse_rulebook(BASE_YAML, "book.yaml").rulebook
assert FREE is not None
BOOK = FREE.model_copy(update={"score": FREE.score.model_copy(update={"requires_consent": True})})
JUDGMENT = rec("court.judgment_default", "2026-03-01", "J-1")
VOLUNTEER = [rec("civic.volunteer_service", "2026-05-01", f"V-{i}") for i in range(4)]
# The second late payment within a year counts double (the first is a warning): fiscal about -96 points.
TAX = [
    rec("tax.late_payment", "2026-05-01", "T-1", amount=200_000),
    rec("tax.late_payment", "2026-06-01", "T-2", amount=200_000),
]
TODAY = D("2026-06-30")
GIVEN = ((D("2026-06-01"), True),)


def test_without_consent_a_judgment_debtor_stays_listed_and_restricted_but_unscored() -> None:
    state = score_state(BOOK, PERSON, "person", [JUDGMENT, *TAX], TODAY)
    assert state.score is None and state.grade is None and dict(state.dimensions) == {}
    assert state.lists == ("dishonest-judgment-debtors",)
    # the penalty on the list applies; the one on a dimension total (procurement-exclusion) does not
    assert state.measures == ("high-consumption-restriction",)
    scored = score_state(BOOK, PERSON, "person", [JUDGMENT, *TAX], TODAY, consent=GIVEN)
    assert scored.score == 804 and scored.measures == ("high-consumption-restriction", "procurement-exclusion")


def test_without_consent_no_reward_and_no_list_by_grade() -> None:
    scored = score_state(BOOK, PERSON, "person", VOLUNTEER, TODAY, consent=GIVEN)
    assert scored.grade == "AA" and scored.lists == ("honour-roll",) and scored.measures == ("loan-fast-track",)
    state = score_state(BOOK, PERSON, "person", VOLUNTEER, TODAY)
    assert (state.score, state.grade, state.lists, state.measures) == (None, None, (), ())
    answer = answer_measure(BOOK, find_measure(BOOK, "loan-fast-track"), state)  # type: ignore[arg-type]
    assert not answer.applies and answer.reason == NOT_SCORED
    listed = answer_measure(BOOK, find_measure(BOOK, "high-consumption-restriction"), state)  # type: ignore[arg-type]
    assert not listed.applies and listed.reason == "not on list dishonest-judgment-debtors"


def test_requires_consent_false_changes_nothing_and_organisations_are_always_scored() -> None:
    assert not FREE.score.requires_consent
    for records in ([JUDGMENT, *TAX], VOLUNTEER, []):
        assert score_state(FREE, PERSON, "person", records, TODAY) == score_state(
            FREE, PERSON, "person", records, TODAY, consent=((TODAY, False),)
        )
    org = rec("court.judgment_default", "2026-03-01", "J-9", subject_id=ORG, kind="organization")
    assert score_state(BOOK, ORG, "organization", [org], TODAY).score == 900
    assert is_scored(BOOK, "organization", (), TODAY) and not is_scored(BOOK, "person", (), TODAY)


def test_events_when_consent_comes_and_goes() -> None:
    none = score_state(BOOK, PERSON, "person", [JUDGMENT], TODAY)
    scored = score_state(BOOK, PERSON, "person", [JUDGMENT], TODAY, consent=GIVEN)
    types = lambda events: [e.type for e in events]  # noqa: E731
    # never scored, no consent: no first_scored, but the list and its penalty are news
    assert types(events_between(BOOK, None, none)) == ["list_entered", "measure_applied"]
    # consent given: scored from nothing, no grade event
    assert types(events_between(BOOK, none, scored)) == ["first_scored"]
    # consent withdrawn: the score goes, no grade_down
    gone = events_between(BOOK, scored, none)
    assert types(gone) == ["unscored"]
    assert gone[0].detail["grade_before"] == "B" and gone[0].detail["score_before"] == 900
    assert events_between(BOOK, none, none) == []


def test_next_change_finds_consent_dated_ahead() -> None:
    ahead = ((TODAY + dt.timedelta(days=3), True),)
    assert next_change(BOOK, [JUDGMENT], PERSON, "person", TODAY, consent=ahead) == TODAY + dt.timedelta(days=3)
    assert next_possible_change(BOOK, [JUDGMENT], PERSON, "person", TODAY, consent=ahead) == TODAY + dt.timedelta(
        days=3
    )


def test_the_report_of_an_unconsented_person_keeps_its_records_and_loses_its_score() -> None:
    e = explanation_without_consent(BOOK, explain(BOOK, PERSON, "person", [JUDGMENT, *TAX], TODAY))
    assert e.score is None and e.grade is None and e.dimensions == () and e.reasons == () and e.forecast == ()
    assert [v.id for v in e.lists] == ["dishonest-judgment-debtors"]
    assert [v.id for v in e.measures] == ["high-consumption-restriction"]
    assert {c.record_id for c in e.contributions} == {"J-1", "T-1", "T-2"}
    assert ScoreState.from_explanation(e) == score_state(BOOK, PERSON, "person", [JUDGMENT, *TAX], TODAY)
