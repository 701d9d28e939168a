"""Due process as pure rules (credo.domain.disputes): no database, no clock."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from credo.domain.disputes import deadline, decision_problem, repair_problem, suspends
from credo.domain.rulebook import Rulebook
from tests.support import book

DAY = dt.date(2026, 6, 30)


def with_disputes(**disputes: Any) -> Rulebook:
    return Rulebook.model_validate({**book().model_dump(), "disputes": disputes})


def repairable(after: int | None) -> Any:
    rule = {
        "category": "tax.late_payment",
        "points": -20,
        "counts_for": "730d",
        "repair_after": None if after is None else f"{after}d",
    }
    return book([rule]).rules[0]


def test_the_deadline_is_the_opening_day_plus_the_rulebooks_days() -> None:
    assert deadline(with_disputes(), DAY) == dt.date(2026, 7, 30)  # 30 days unless the rulebook says otherwise
    assert deadline(with_disputes(decide_within="10d"), DAY) == dt.date(2026, 7, 10)


def test_a_dispute_suspends_its_record_unless_the_rulebook_says_count_or_it_was_upheld_before() -> None:
    assert suspends(with_disputes(), upheld_before=False)
    assert not suspends(with_disputes(), upheld_before=True)
    assert not suspends(with_disputes(while_open="count"), upheld_before=False)


@pytest.mark.parametrize(
    ("after", "status", "resolved_on", "problem"),
    [
        (None, "active", DAY - dt.timedelta(days=400), "allows no early repair of tax.late_payment records"),
        (180, "active", None, "only a resolved record can be repaired early"),
        (180, "withdrawn", DAY - dt.timedelta(days=400), "only a resolved record can be repaired early"),
        (180, "active", DAY - dt.timedelta(days=179), "can be asked for from 2026-07-01"),
        (180, "active", DAY - dt.timedelta(days=180), None),  # on the first day it is allowed
    ],
)
def test_early_repair_needs_a_rule_that_allows_it_a_resolved_record_and_the_wait(
    after: int | None, status: str, resolved_on: dt.date | None, problem: str | None
) -> None:
    found = repair_problem(repairable(after), "tax.late_payment", status, resolved_on, DAY)
    assert found is None if problem is None else (found is not None and problem in found)


def test_no_rule_for_the_category_means_no_early_repair() -> None:
    assert repair_problem(None, "civic.volunteering", "active", DAY, DAY) == (
        "the rulebook in force allows no early repair of civic.volunteering records"
    )


@pytest.mark.parametrize(
    ("kind", "outcome", "reasons", "corrected", "problem"),
    [
        ("dispute", "upheld", "The court confirms it.", False, None),
        ("dispute", "corrected", "The amount was wrong.", True, None),
        ("repair", "granted", "Paid in full and on time since.", False, None),
        ("dispute", "granted", "x", False, "the outcome of a dispute is one of upheld, corrected, removed"),
        ("repair", "removed", "x", False, "the outcome of a repair is one of granted, refused"),
        ("dispute", "removed", "   ", False, "a decision needs its reasons"),
        ("dispute", "corrected", "x", False, "a correction goes with the outcome corrected, and only with it"),
        ("dispute", "upheld", "x", True, "a correction goes with the outcome corrected, and only with it"),
    ],
)
def test_a_decision_says_an_outcome_of_its_kind_its_reasons_and_a_correction_only_when_corrected(
    kind: str, outcome: str, reasons: str, corrected: bool, problem: str | None
) -> None:
    assert decision_problem(kind, outcome, reasons, corrected=corrected) == problem
