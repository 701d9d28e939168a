"""The reference scorer, step by step against SCORING.md, with values computed by hand.

Hundredths of a point are written as the scorer keeps them: -1150 is -11.50 points.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from collections import defaultdict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credo.domain.records import Record, parse_row
from credo.domain.scoring import MAX_REASONS, explain, score_only
from credo.rulebook_file import load_rulebook
from tests.support import ORG, OTHER_PERSON, PERSON, VECTORS, D, book, needs_vectors, rec

T = D("2026-06-30")


def run(b: Any, *records: Record, as_of: dt.date = T, kind: str = "person", subject: str = PERSON) -> Any:
    return explain(b, subject, kind, records, as_of)


def contribution_of(explanation: Any, record_id: str) -> Any:
    return next(c for c in explanation.contributions if c.record_id == record_id)


# -- step 3: base points and tiers ---------------------------------------------

TIERED = {
    "category": "tax.late",
    "points": -5,
    # deliberately not in order: the highest min_amount reached wins, not the first listed
    "tiers": [{"min_amount": 10000, "points": -20}, {"min_amount": 100000, "points": -50}],
    "counts_for": "1y",
}


@pytest.mark.parametrize(
    ("amount", "points"),
    [
        (None, -5),
        (0.0, -5),
        (9999.99, -5),
        (10000.0, -20),  # exactly on the boundary: the tier applies
        (99999.99, -20),
        (100000.0, -50),
        (5_000_000.0, -50),
    ],
)
def test_tiers_by_amount(amount: float | None, points: int) -> None:
    e = run(book([TIERED]), rec("tax.late", "2026-06-01", amount=amount))
    assert e.contributions[0].base_points == points
    assert e.dimension_total("fiscal") == 100 * points
    assert e.score == 1000 + points


def test_a_tier_starting_at_zero_catches_every_amount_but_not_a_missing_one() -> None:
    b = book([{"category": "tax.late", "points": -5, "tiers": [{"min_amount": 0, "points": -7}], "counts_for": "1y"}])
    assert run(b, rec("tax.late", "2026-06-01", amount=0.0)).score == 993
    assert run(b, rec("tax.late", "2026-06-01")).score == 995


# -- steps 4 and 5: occurrence, warnings, repeats --------------------------------

REPEATED = {
    "category": "tax.late",
    "points": -10,
    "counts_for": "1y",
    "repeat": {"window": "30d", "factor": 3, "first_is_warning": True},
}


def test_same_day_records_are_ordered_by_source_then_record_id() -> None:
    # (a, 10) < (a, 2) < (b, 1) as text: n = 1, 2, 3 whatever the arrival order.
    e = run(
        book([REPEATED]),
        rec("tax.late", "2026-06-01", "1", source="b"),
        rec("tax.late", "2026-06-01", "2", source="a"),
        rec("tax.late", "2026-06-01", "10", source="a"),
    )
    n = {(c.source, c.record_id): c.occurrence for c in e.contributions}
    assert n == {("a", "10"): 1, ("a", "2"): 2, ("b", "1"): 3}
    points = {(c.source, c.record_id): c.effective_points for c in e.contributions}
    assert points == {("a", "10"): 0, ("a", "2"): -30, ("b", "1"): -30}
    assert e.dimension_total("fiscal") == -6000
    assert e.score == 940


def test_text_is_compared_by_character_code_not_by_locale() -> None:
    # "B" is 0x42 and "a" is 0x61: B comes first, as in a binary collation.
    e = run(book([REPEATED]), rec("tax.late", "2026-06-01", "a"), rec("tax.late", "2026-06-01", "B"))
    assert {c.record_id: c.occurrence for c in e.contributions} == {"B": 1, "a": 2}
    e = run(
        book([REPEATED]),
        rec("tax.late", "2026-06-01", "x", source="a-court"),
        rec("tax.late", "2026-06-01", "x", source="Z-court"),
    )
    assert {c.source: c.occurrence for c in e.contributions} == {"Z-court": 1, "a-court": 2}


def test_earlier_days_come_first_whatever_the_source() -> None:
    e = run(
        book([REPEATED]), rec("tax.late", "2026-06-02", "1", source="a"), rec("tax.late", "2026-06-01", "1", source="z")
    )
    assert {c.source: c.occurrence for c in e.contributions} == {"z": 1, "a": 2}


@pytest.mark.parametrize(
    ("first", "second_n"),
    [
        ("2026-05-01", 1),  # exactly 30 days before: not later than 2026-05-31 - 30d, outside the window
        ("2026-05-02", 2),  # 29 days before: inside
    ],
)
def test_repeat_window_boundary(first: str, second_n: int) -> None:
    e = run(book([REPEATED]), rec("tax.late", first, "r1"), rec("tax.late", "2026-05-31", "r2"))
    second = contribution_of(e, "r2")
    assert second.occurrence == second_n
    assert second.effective_points == (0 if second_n == 1 else -30)


def test_an_earlier_record_counts_for_n_even_after_it_stopped_counting() -> None:
    rule = {**REPEATED, "counts_for": "10d", "repeat": {"window": "60d", "factor": 2}}
    e = run(book([rule]), rec("tax.late", "2026-05-01", "r1"), rec("tax.late", "2026-06-25", "r2"))
    assert contribution_of(e, "r1").counting is False
    assert contribution_of(e, "r2").occurrence == 2
    assert e.dimension_total("fiscal") == -2000


def test_first_occurrence_is_a_full_penalty_without_first_is_warning() -> None:
    rule = {**REPEATED, "repeat": {"window": "30d", "factor": 2}}
    e = run(book([rule]), rec("tax.late", "2026-06-01", "r1"), rec("tax.late", "2026-06-10", "r2"))
    assert [c.effective_points for c in e.contributions] == [-10, -20]
    assert e.score == 970


def test_without_repeat_n_is_counted_over_counts_for_but_changes_nothing() -> None:
    rule = {"category": "tax.late", "points": -10, "counts_for": "20d"}
    e = run(
        book([rule]),
        rec("tax.late", "2026-06-10", "r1"),
        rec("tax.late", "2026-06-20", "r2"),
        rec("tax.late", "2026-06-30", "r3"),  # 2026-06-30 - 20d = 06-10: r1 is not later, r2 is
    )
    assert [c.occurrence for c in e.contributions] == [1, 2, 2]
    assert [c.effective_points for c in e.contributions] == [-10, -10, -10]
    assert e.dimension_total("fiscal") == -2000  # r1 stopped counting on 06-30


def test_a_warning_again_once_the_window_has_passed() -> None:
    e = run(book([REPEATED]), rec("tax.late", "2026-01-10", "r1"), rec("tax.late", "2026-06-10", "r2"))
    assert [c.occurrence for c in e.contributions] == [1, 1]
    assert e.score == 1000
    assert "warning" in e.contributions[1].note


def test_n_counts_only_the_same_category() -> None:
    other = {**REPEATED, "category": "tax.evasion"}
    e = run(book([REPEATED, other]), rec("tax.evasion", "2026-06-01", "r1"), rec("tax.late", "2026-06-02", "r2"))
    assert [c.occurrence for c in e.contributions] == [1, 1]


# -- step 6: the counting period ----------------------------------------------------

RESOLVABLE = {"category": "tax.late", "points": -10, "counts_for": "2y", "ends_after_resolution": "90d"}


@pytest.mark.parametrize(("as_of", "counting"), [("2026-05-29", True), ("2026-05-30", False)])
def test_resolution_ends_the_counting_period(as_of: str, counting: bool) -> None:
    # 2026-03-01 + 90 days = 2026-05-30, earlier than 2026-01-01 + 730 days: the end, exclusive.
    e = run(book([RESOLVABLE]), rec("tax.late", "2026-01-01", resolved_on="2026-03-01"), as_of=D(as_of))
    c = e.contributions[0]
    assert c.counts_until == D("2026-05-30")
    assert c.counting is counting
    assert e.score == (990 if counting else 1000)


def test_a_late_resolution_does_not_extend_the_period() -> None:
    # 2027-12-01 + 90d = 2028-02-29 is after 2026-01-01 + 730d = 2028-01-01.
    e = run(book([RESOLVABLE]), rec("tax.late", "2026-01-01", resolved_on="2027-12-01"))
    assert e.contributions[0].counts_until == D("2028-01-01")


def test_ends_after_resolution_zero_stops_on_the_day_of_resolution() -> None:
    rule = {**RESOLVABLE, "ends_after_resolution": "0d"}
    assert run(book([rule]), rec("tax.late", "2026-01-01", resolved_on="2026-06-30")).score == 1000
    assert run(book([rule]), rec("tax.late", "2026-01-01", resolved_on="2026-07-01")).score == 990


def test_resolution_is_ignored_without_ends_after_resolution() -> None:
    rule = {"category": "tax.late", "points": -10, "counts_for": "2y"}
    e = run(book([rule]), rec("tax.late", "2026-01-01", resolved_on="2026-01-02"))
    assert e.contributions[0].counts_until == D("2028-01-01")
    assert e.score == 990


@pytest.mark.parametrize(("as_of", "counting"), [("2026-06-29", True), ("2026-06-30", False)])
def test_counts_for_end_is_exclusive(as_of: str, counting: bool) -> None:
    rule = {"category": "tax.late", "points": -10, "counts_for": "1y"}
    e = run(book([rule]), rec("tax.late", "2025-06-30"), as_of=D(as_of))  # 2025-06-30 + 365d = 2026-06-30
    assert e.contributions[0].counting is counting


def test_a_record_counts_from_its_own_day() -> None:
    rule = {"category": "tax.late", "points": -10, "counts_for": "1d"}
    assert run(book([rule]), rec("tax.late", "2026-06-30")).score == 990
    assert run(book([rule]), rec("tax.late", "2026-06-29")).score == 1000


def test_decay_uses_the_full_period_even_when_resolution_shortens_it() -> None:
    rule = {**RESOLVABLE, "counts_for": "100d", "decay": "linear", "ends_after_resolution": "30d"}
    e = run(book([rule]), rec("tax.late", "2026-06-01", resolved_on="2026-06-10"))
    c = e.contributions[0]
    assert c.counts_until == D("2026-07-10")  # resolution + 30d, before 2026-06-01 + 100d = 2026-09-09
    # (2026-09-09 - 2026-06-30) = 71 days: -1000 * 71 / 100 = -710, not -1000 * 10 / 100.
    assert c.contribution == -710


# -- step 7: linear decay and rounding ----------------------------------------------


@pytest.mark.parametrize(
    ("points", "counts_for", "days_left", "hundredths"),
    [
        (-1, 200, 1, -1),  # -100 * 1 / 200 = -0.5: away from zero
        (1, 200, 1, 1),  # 0.5 -> 1
        (-5, 40, 1, -13),  # -500 / 40 = -12.5 -> -13 (banker's rounding would say -12)
        (5, 40, 1, 13),  # 12.5 -> 13
        (-5, 40, 3, -38),  # -1500 / 40 = -37.5 -> -38
        (-7, 3, 1, -233),  # -700 / 3 = -233.33 -> -233
        (-7, 3, 2, -467),  # -1400 / 3 = -466.67 -> -467
        (-10, 100, 100, -1000),  # on its first day the full value
    ],
)
def test_linear_decay_rounds_halves_away_from_zero(
    points: int, counts_for: int, days_left: int, hundredths: int
) -> None:
    category = "civic.help" if points > 0 else "tax.late"
    dimension = "civic" if points > 0 else "fiscal"
    rule = {
        "category": category,
        "dimension": dimension,
        "points": points,
        "counts_for": f"{counts_for}d",
        "decay": "linear",
    }
    occurred = T + dt.timedelta(days=days_left) - dt.timedelta(days=counts_for)
    e = run(book([rule]), rec(category, occurred.isoformat()))
    c = e.contributions[0]
    assert c.contribution == hundredths
    assert c.decay_weight == pytest.approx(days_left / counts_for)
    assert e.dimension_total(dimension) == hundredths


# -- steps 8 and 9: dimensions and score ---------------------------------------------


def test_score_rounds_halves_away_from_zero() -> None:
    # -23 * 100 * 50 / 100 = -1150 hundredths; 1000 - 11.50 = 988.5 -> 989 (banker's would give 988).
    rule = {"category": "tax.late", "points": -23, "counts_for": "100d", "decay": "linear"}
    e = run(book([rule]), rec("tax.late", (T - dt.timedelta(days=50)).isoformat()))
    assert e.dimension_total("fiscal") == -1150
    assert e.score == 989


def test_a_negative_score_rounds_away_from_zero() -> None:
    rule = {"category": "tax.late", "points": -23, "counts_for": "100d", "decay": "linear"}
    b = book([rule], score={"base": 0, "min": -100, "max": 100}, grades=[{"grade": "X", "min": -100}])
    assert run(b, rec("tax.late", (T - dt.timedelta(days=50)).isoformat())).score == -12  # -11.5 -> -12


def test_dimension_totals_are_clamped() -> None:
    rules = [
        {"category": "tax.a", "points": -20, "counts_for": "1y"},
        {"category": "tax.b", "points": -20, "counts_for": "1y"},
        {"category": "tax.c", "points": -20, "counts_for": "1y"},
        {"category": "civic.help", "dimension": "civic", "points": 25, "counts_for": "1y"},
    ]
    b = book(
        rules,
        dimensions={"fiscal": {"min": -30, "max": 10}, "civic": {"min": 0, "max": 10}, "legal": {"min": -5, "max": 0}},
    )
    e = run(b, rec("tax.a", "2026-06-01", "1"), rec("tax.b", "2026-06-01", "2"), rec("tax.c", "2026-06-01", "3"))
    fiscal = next(d for d in e.dimensions if d.name == "fiscal")
    assert (fiscal.raw, fiscal.total) == (-6000, -3000)
    assert e.score == 970
    e = run(b, rec("civic.help", "2026-06-01"))
    assert e.dimension_total("civic") == 1000
    assert e.score == 1010


def test_every_dimension_is_present_with_zero_when_nothing_counts() -> None:
    rule = {"category": "tax.late", "points": -10, "counts_for": "1y"}
    e = run(book([rule]), rec("tax.late", "2020-01-01"), rec("misc.unscored", "2026-06-01", "2"))
    assert [(d.name, d.total) for d in e.dimensions] == [("fiscal", 0), ("legal", 0), ("civic", 0)]
    assert e.score == 1000  # records, none of them counting: the base score
    assert not e.contributions[1].has_rule


@pytest.mark.parametrize(("points", "score"), [(40, 1005), (-100, 990), (3, 1003)])
def test_score_is_clamped(points: int, score: int) -> None:
    b = book(
        [{"category": "tax.x", "points": points, "counts_for": "1y"}], score={"base": 1000, "min": 990, "max": 1005}
    )
    assert run(b, rec("tax.x", "2026-06-01")).score == score


# -- step 10: grade ---------------------------------------------------------------------


@pytest.mark.parametrize(("points", "grade"), [(30, "AA"), (29, "A"), (-40, "A"), (-41, "B")])
def test_grade_is_the_highest_minimum_reached(points: int, grade: str) -> None:
    grades = [{"grade": "B", "min": 0}, {"grade": "AA", "min": 1030}, {"grade": "A", "min": 960}]  # any order
    b = book([{"category": "tax.x", "points": points, "counts_for": "1y"}], grades=grades)
    e = run(b, rec("tax.x", "2026-06-01"))
    assert (e.score, e.grade) == (1000 + points, grade)


# -- step 11: lists -----------------------------------------------------------------------

LIST_RULES = [
    {"category": "court.default", "dimension": "legal", "gravity": "grave", "points": -100, "counts_for": "1y"},
    {**REPEATED, "category": "tax.late", "counts_for": "10d"},
    {"category": "civic.help", "dimension": "civic", "gravity": "minor", "points": 10, "counts_for": "1y"},
    {"category": "market.fraud", "applies_to": ["organization"], "points": -50, "counts_for": "1y"},
]
LISTS = [
    {
        "id": "debtors",
        "kind": "black",
        "title": "Debtors",
        "enter_when": {"categories": ["court.default", "misc.none"]},
    },
    {"id": "watch", "kind": "red", "title": "Watch", "enter_when": {"categories": ["tax.late", "market.fraud"]}},
    {"id": "honour", "kind": "red", "title": "Honour", "enter_when": {"grade_at_least": "A", "clean_for": "30d"}},
    {"id": "good", "kind": "red", "title": "Good", "enter_when": {"grade_at_least": "AA"}},
]


def lists_of(*records: Record, as_of: dt.date = T, kind: str = "person", subject: str = PERSON) -> tuple[str, ...]:
    e = run(book(LIST_RULES, lists=LISTS), *records, as_of=as_of, kind=kind, subject=subject)
    return tuple(e.list_ids)


def test_on_a_list_while_a_record_in_its_categories_counts() -> None:
    assert lists_of(rec("court.default", "2025-07-01")) == ("debtors",)  # counts until 2026-07-01
    assert "debtors" not in lists_of(rec("court.default", "2025-06-30"))  # stopped counting on 2026-06-30


def test_a_warning_still_puts_a_subject_on_the_list() -> None:
    e = run(book(LIST_RULES, lists=LISTS), rec("tax.late", "2026-06-25"))
    assert e.contributions[0].effective_points == 0
    assert "watch" in e.list_ids


def test_a_record_without_a_rule_puts_no_one_on_a_list() -> None:
    assert "debtors" not in lists_of(rec("misc.none", "2026-06-01"))
    # market.fraud has a rule for organisations only
    assert "watch" not in lists_of(rec("market.fraud", "2026-06-01"))
    org_lists = lists_of(
        rec("market.fraud", "2026-06-01", subject_id=ORG, kind="organization"), kind="organization", subject=ORG
    )
    assert "watch" in org_lists


@pytest.mark.parametrize(("negative_on", "clean"), [("2026-05-31", True), ("2026-06-01", False), ("2026-06-30", False)])
def test_clean_for_counts_back_from_the_as_of_date(negative_on: str, clean: bool) -> None:
    # 30 days up to and including 2026-06-30 are 06-01 .. 06-30; the tax.late record is only a warning
    # (negative base points, no effective points) and stops counting after 10 days, yet it is not clean.
    listed = lists_of(rec("civic.help", "2026-01-01", "c"), rec("tax.late", negative_on, "t"))
    assert ("honour" in listed) is clean
    assert "good" not in listed  # 1010 is grade A, not AA


def test_grade_lists_need_the_grade() -> None:
    assert lists_of() == ("honour",)  # base 1000 is grade A
    assert lists_of(rec("court.default", "2026-06-01")) == ("debtors",)  # 900 is grade B
    grades = lists_of(
        rec("civic.help", "2026-06-01", "1"), rec("civic.help", "2026-06-02", "2"), rec("civic.help", "2026-06-03", "3")
    )
    assert grades == ("good", "honour")  # 1030 is AA


def test_positive_records_keep_a_subject_clean() -> None:
    assert "honour" in lists_of(rec("civic.help", "2026-06-30"))


# -- step 12: measures -------------------------------------------------------------------

MEASURES = [
    {"id": "reward", "kind": "reward", "title": "R", "context": ["fiscal"], "when": {"grade_at_least": "AA"}},
    {
        "id": "restrict",
        "kind": "penalty",
        "title": "P",
        "context": ["legal"],
        "legal_basis": "a law",
        "when": {"on_list": "debtors"},
    },
    {
        "id": "exclude",
        "kind": "penalty",
        "title": "E",
        "context": ["fiscal", "legal"],
        "legal_basis": "a law",
        "when": {"dimension_at_most": {"fiscal": -20, "legal": -5}},
    },
]


def measures_of(*records: Record) -> tuple[str, ...]:
    rules = [
        {"category": "tax.x", "points": -20, "counts_for": "1y"},
        {"category": "tax.y", "points": -19, "counts_for": "1y"},
        {"category": "court.x", "dimension": "legal", "points": -5, "counts_for": "1y"},
        {"category": "court.default", "dimension": "legal", "gravity": "grave", "points": -1, "counts_for": "1y"},
        {"category": "civic.help", "dimension": "civic", "points": 40, "counts_for": "1y"},
    ]
    lists = [{"id": "debtors", "kind": "black", "title": "D", "enter_when": {"categories": ["court.default"]}}]
    return tuple(run(book(rules, lists=lists, measures=MEASURES), *records).measure_ids)


def test_measure_by_list() -> None:
    assert measures_of(rec("court.default", "2026-06-01")) == ("restrict",)


def test_measure_by_grade() -> None:
    assert measures_of(rec("civic.help", "2026-06-01")) == ("reward",)


def test_measure_by_dimensions_needs_every_named_dimension_at_most_its_value() -> None:
    assert measures_of(rec("tax.x", "2026-06-01", "1"), rec("court.x", "2026-06-01", "2")) == ("exclude",)  # -20, -5
    assert measures_of(rec("tax.y", "2026-06-01", "1"), rec("court.x", "2026-06-01", "2")) == ()  # fiscal -19
    assert measures_of(rec("tax.x", "2026-06-01", "1")) == ()  # legal 0


# -- step 1: which records are valid ------------------------------------------------------

SIMPLE = [
    {"category": "tax.late", "points": -5, "tiers": [{"min_amount": 10000, "points": -20}], "counts_for": "1y"},
]


def test_a_withdrawn_record_takes_no_part() -> None:
    e = run(book(SIMPLE), rec("tax.late", "2026-06-01"), rec("tax.late", "2026-06-01", status="withdrawn"))
    assert e.score == 1000
    assert e.contributions == ()
    assert [(i.record_id, i.why) for i in e.ignored] == [("r1", "withdrawn by its source")]


def test_a_record_re_sent_as_active_counts_again() -> None:
    e = run(book(SIMPLE), rec("tax.late", "2026-06-01", status="withdrawn"), rec("tax.late", "2026-06-01"))
    assert e.score == 995


def test_the_later_version_replaces_the_earlier() -> None:
    e = run(book(SIMPLE), rec("tax.late", "2026-06-01", amount=50000.0), rec("tax.late", "2026-06-01", amount=500.0))
    assert len(e.contributions) == 1
    assert e.score == 995
    e = run(book(SIMPLE), rec("tax.late", "2026-06-01", amount=500.0), rec("tax.late", "2026-06-01", amount=50000.0))
    assert e.score == 980


def test_the_same_record_sent_twice_counts_once() -> None:
    assert run(book(SIMPLE), rec("tax.late", "2026-06-01"), rec("tax.late", "2026-06-01")).score == 995


def test_a_correction_naming_another_subject_takes_the_record_away() -> None:
    first = rec("tax.late", "2026-06-01")
    corrected = rec("tax.late", "2026-06-01", subject_id=OTHER_PERSON)
    assert run(book(SIMPLE), first, corrected).score == 1000
    assert run(book(SIMPLE), first, corrected, subject=OTHER_PERSON).score == 995
    assert run(book(SIMPLE), corrected, first).score == 995


def test_records_after_the_as_of_date_are_ignored() -> None:
    e = run(book([REPEATED]), rec("tax.late", "2026-06-30", "r1"), rec("tax.late", "2026-07-01", "r2"))
    assert [c.record_id for c in e.contributions] == ["r1"]
    assert e.contributions[0].occurrence == 1  # the later record does not count towards n either
    assert [(i.record_id, i.why) for i in e.ignored] == [("r2", "dated after the as-of date")]


def test_suppressed_records_are_ignored() -> None:
    e = explain(book(SIMPLE), PERSON, "person", [rec("tax.late", "2026-06-01")], T, suppressed={("src", "r1")})
    assert e.score == 1000
    assert e.ignored[0].why == "suspended by due process"


def test_other_subjects_and_kinds_are_ignored() -> None:
    e = run(
        book(SIMPLE),
        rec("tax.late", "2026-06-01", "1"),
        rec("tax.late", "2026-06-01", "2", subject_id=OTHER_PERSON),
        rec("tax.late", "2026-06-01", "3", subject_id=ORG, kind="organization"),
    )
    assert [c.record_id for c in e.contributions] == ["1"]


def test_a_rule_applies_only_to_its_kinds() -> None:
    b = book([{"category": "market.fraud", "applies_to": ["organization"], "points": -50, "counts_for": "1y"}])
    assert run(b, rec("market.fraud", "2026-06-01")).score == 1000
    org = rec("market.fraud", "2026-06-01", subject_id=ORG, kind="organization")
    assert run(b, org, kind="organization", subject=ORG).score == 950


# -- reason codes ---------------------------------------------------------------------------


def test_reasons_are_at_most_four_ranked_by_total_then_category() -> None:
    rules = [
        {"category": "a.one", "points": -10, "counts_for": "1y"},
        {"category": "b.two", "points": -30, "counts_for": "1y"},
        {"category": "c.three", "points": -20, "counts_for": "1y"},
        {"category": "d.four", "points": -20, "counts_for": "1y"},
        {"category": "e.five", "points": -5, "counts_for": "1y"},
        {"category": "f.six", "title": "Six things", "points": -40, "counts_for": "1y"},
        {"category": "g.seven", "dimension": "civic", "points": 10, "counts_for": "1y"},
    ]
    records = [
        rec("a.one", "2026-06-01", "a1"),
        rec("a.one", "2026-06-02", "a2"),
        *(rec(c, "2026-06-01", c) for c in ("b.two", "c.three", "d.four", "e.five", "f.six", "g.seven")),
    ]
    e = run(book(rules), *records)
    # totals: f.six -40, b.two -30, then a tie at -20 (a.one twice, c.three, d.four) broken by category
    assert MAX_REASONS == 4
    assert [(r.code, r.points) for r in e.reasons] == [
        ("f.six", -4000),
        ("b.two", -3000),
        ("a.one", -2000),
        ("c.three", -2000),
    ]
    assert e.reasons[0].text == "Six things: 1 record(s) lower the score by 40.00 points"
    assert e.reasons[2].text == "A one: 2 record(s) lower the score by 20.00 points"


def test_no_reasons_from_warnings_or_positive_records() -> None:
    rules = [REPEATED, {"category": "civic.help", "dimension": "civic", "points": 10, "counts_for": "1y"}]
    e = run(book(rules), rec("tax.late", "2026-06-01", "1"), rec("civic.help", "2026-06-01", "2"))
    assert e.reasons == ()


def test_reasons_use_decayed_contributions() -> None:
    rules = [
        {"category": "a.big", "points": -40, "counts_for": "100d", "decay": "linear"},  # 10 days left: -4.00
        {"category": "b.small", "points": -5, "counts_for": "1y"},  # -5.00
    ]
    e = run(book(rules), rec("a.big", (T - dt.timedelta(days=90)).isoformat(), "1"), rec("b.small", "2026-06-01", "2"))
    assert [(r.code, r.points) for r in e.reasons] == [("b.small", -500), ("a.big", -400)]


# -- forecast -----------------------------------------------------------------------------------


def test_forecast_gives_the_score_on_each_day_a_record_stops_counting() -> None:
    rules = [
        {"category": "tax.x", "points": -10, "counts_for": "10d"},
        {"category": "tax.y", "points": -20, "counts_for": "30d"},
        {"category": "court.z", "dimension": "legal", "points": -50, "counts_for": "30d"},
    ]
    e = run(
        book(rules),
        rec("tax.x", "2026-06-25", "x"),  # until 07-05
        rec("tax.y", "2026-06-20", "y"),  # until 07-20
        rec("court.z", "2026-06-20", "z"),  # until 07-20
        rec("tax.x", "2026-07-02", "later"),  # dated after the as-of date: not foreseen
    )
    assert e.score == 920
    assert [(p.on, p.score, p.grade, p.records_ending) for p in e.forecast] == [
        (D("2026-07-05"), 930, "B", ("src/x",)),
        (D("2026-07-20"), 1000, "A", ("src/y", "src/z")),
    ]


def test_forecast_uses_decay_on_the_forecast_day() -> None:
    rules = [
        {"category": "tax.x", "points": -10, "counts_for": "10d"},
        {"category": "tax.y", "points": -100, "counts_for": "100d", "decay": "linear"},
    ]
    # tax.y from 06-10 counts until 09-18; on 07-05 (x ends) 75 days are left: -100 * 75 / 100 = -75.
    e = run(book(rules), rec("tax.x", "2026-06-25", "x"), rec("tax.y", "2026-06-10", "y"))
    assert [(p.on, p.score) for p in e.forecast] == [(D("2026-07-05"), 925), (D("2026-09-18"), 1000)]


def test_no_forecast_when_nothing_counts() -> None:
    assert run(book(SIMPLE), rec("tax.late", "2020-01-01")).forecast == ()


# -- properties ----------------------------------------------------------------------------------

PROPERTY_RULES = [
    {
        "category": "tax.late",
        "points": -7,
        "tiers": [{"min_amount": 100, "points": -13}],
        "counts_for": "40d",
        "decay": "linear",
        "repeat": {"window": "20d", "factor": 2, "first_is_warning": True},
        "ends_after_resolution": "5d",
    },
    {"category": "court.x", "dimension": "legal", "points": -30, "counts_for": "60d"},
    {"category": "civic.help", "dimension": "civic", "points": 9, "counts_for": "30d", "decay": "linear"},
]
PROPERTY_BOOK = book(
    PROPERTY_RULES,
    lists=[{"id": "watch", "kind": "red", "title": "W", "enter_when": {"categories": ["tax.late", "court.x"]}}],
    dimensions={"fiscal": {"min": -40, "max": 0}, "legal": {"min": -50, "max": 0}, "civic": {"min": 0, "max": 15}},
)

property_records = st.lists(
    st.builds(
        lambda cat, day, source, rid, amount, resolved: rec(
            cat,
            (T - dt.timedelta(days=day)).isoformat(),
            rid,
            source=source,
            amount=amount,
            resolved_on=(T - dt.timedelta(days=day) + dt.timedelta(days=resolved)).isoformat()
            if resolved is not None
            else None,
        ),
        st.sampled_from(["tax.late", "court.x", "civic.help", "misc.none"]),
        st.integers(-5, 70),
        st.sampled_from(["a", "B", "b"]),
        st.sampled_from(["1", "10", "2", "x"]),
        st.sampled_from([None, 0.0, 99.99, 100.0]),
        st.one_of(st.none(), st.integers(0, 30)),
    ),
    max_size=12,
    unique_by=lambda r: r.key,
)


@settings(max_examples=150, deadline=None)
@given(property_records, st.randoms(use_true_random=False))
def test_arrival_order_of_distinct_records_does_not_matter(records: list[Record], rnd: random.Random) -> None:
    shuffled = list(records)
    rnd.shuffle(shuffled)
    first, second = run(PROPERTY_BOOK, *records), run(PROPERTY_BOOK, *shuffled)
    assert (first.score, first.dimensions, first.list_ids, first.reasons) == (
        second.score,
        second.dimensions,
        second.list_ids,
        second.reasons,
    )


@settings(max_examples=150, deadline=None)
@given(property_records)
def test_totals_stay_in_bounds_and_score_only_agrees(records: list[Record]) -> None:
    e = run(PROPERTY_BOOK, *records)
    for d in e.dimensions:
        assert 100 * d.min <= d.total <= 100 * d.max
    assert 0 <= e.score <= 1300
    for c in e.contributions:
        if c.counting and c.effective_points is not None:
            assert abs(c.contribution) <= 100 * abs(c.effective_points)
            assert c.contribution * c.effective_points >= 0  # decay never flips the sign
    assert len(e.reasons) <= MAX_REASONS
    score, grade, dims, lists, measures = score_only(PROPERTY_BOOK, "person", records, T)
    assert (score, grade, lists, measures) == (e.score, e.grade, e.list_ids, e.measure_ids)
    assert dims == {d.name: d.total for d in e.dimensions}
    assert [p.on for p in e.forecast] == sorted({c.counts_until for c in e.contributions if c.counting})


# -- the published vectors --------------------------------------------------------------------------


def _expected_rows(name: str) -> list[dict[str, str]]:
    with (VECTORS / f"{name}-expected.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@needs_vectors
@pytest.mark.parametrize("name", ["v1", "v2", "v3"])
def test_published_vectors(name: str) -> None:
    rulebook = load_rulebook(VECTORS / f"{name}-rulebook.yaml")
    by_subject: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for line in (VECTORS / f"{name}-records.jsonl").read_text(encoding="utf-8").splitlines():
        record = parse_row(json.loads(line))
        assert isinstance(record, Record), record
        by_subject[(record.subject_id, record.subject_kind)].append(record)
    expected = _expected_rows(name)
    assert {(row["subject_id"], row["subject_kind"]) for row in expected} == set(by_subject)
    as_of = D("2026-06-30")
    for row in expected:
        kind = row["subject_kind"]
        score, grade, dims, lists, measures = score_only(rulebook, kind, by_subject[(row["subject_id"], kind)], as_of)
        got = {
            "subject_id": row["subject_id"],
            "subject_kind": kind,
            "score": str(score),
            "grade": grade,
            **{f"dim_{dim}": f"{dims[dim] / 100:.2f}" for dim in rulebook.dimensions},
            "lists": ";".join(lists),
            "measures": ";".join(measures),
        }
        assert got == row


@settings(max_examples=200, deadline=None)
@given(
    days=st.lists(st.integers(0, 800), min_size=1, max_size=40),
    categories=st.lists(st.sampled_from(["tax.late_payment", "court.judgment_default"]), min_size=40, max_size=40),
    windows=st.tuples(st.integers(1, 400), st.integers(1, 400)),
)
def test_step_4_counts_each_records_earlier_occurrences_within_its_window(
    days: list[int], categories: list[str], windows: tuple[int, int]
) -> None:
    """Step 4 (SCORING.md) as written, one record against every earlier one of its category, against the
    scorer's bisection over the sorted dates."""
    from credo.domain.scoring import _occurrences

    start = dt.date(2024, 1, 1)
    records = [
        Record("s", f"r{i}", PERSON, "person", categories[i], start + dt.timedelta(days=day))
        for i, day in enumerate(days)
    ]
    window_of = {"tax.late_payment": windows[0], "court.judgment_default": windows[1]}
    found = _occurrences(records, window_of)
    for record in records:
        group = sorted(
            (r for r in records if r.category == record.category), key=lambda r: (r.occurred_on, r.source, r.record_id)
        )
        upto = group[: group.index(record) + 1]
        cutoff = record.occurred_on - dt.timedelta(days=window_of[record.category])
        assert found[record.key] == sum(1 for earlier in upto if earlier.occurred_on > cutoff)


DEMO_BOOK = load_rulebook("rulebooks/demo-city.yaml")
DEMO_CATEGORIES = sorted({r.category for r in DEMO_BOOK.rules if "person" in r.applies_to})


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(DEMO_CATEGORIES),
            st.integers(0, 1200),
            st.one_of(st.none(), st.floats(0, 2_000_000)),
            st.one_of(st.none(), st.integers(0, 400)),
        ),
        max_size=30,
    )
)
def test_each_forecast_point_is_the_score_and_grade_on_its_day(
    drawn: list[tuple[str, int, float | None, int | None]],
) -> None:
    """The forecast redoes only steps 6 to 10 day by day; on each of its days it must say what scoring the same
    records on that day says."""
    as_of = dt.date(2026, 6, 30)
    records = [
        Record("s", f"r{i}", PERSON, "person", category, as_of - dt.timedelta(days=back), amount,
               None if resolved is None else min(as_of, as_of - dt.timedelta(days=back) + dt.timedelta(days=resolved)))
        for i, (category, back, amount, resolved) in enumerate(drawn)
    ]  # fmt: skip
    explained = explain(DEMO_BOOK, PERSON, "person", records, as_of)
    for point in explained.forecast:
        later = score_only(DEMO_BOOK, "person", records, point.on)
        assert (point.score, point.grade) == (later.score, later.grade), point
