"""The parity property test only proves something if its data reaches the contract's edges.

Each test asks Hypothesis to *find* generated data with one edge in it; a
strategy that cannot produce the edge makes the test fail.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import Phase, find, settings
from hypothesis import strategies as st

from credo.domain.records import Record, parse_row
from credo.domain.rulebook import Rulebook
from tests.strategies import AS_OF, record_rows, rulebooks

FIND = settings(max_examples=5000, database=None, phases=[Phase.generate])  # found is enough: no shrinking
Case = tuple[Rulebook, list[dict[str, Any]]]
cases = st.tuples(rulebooks(), record_rows())


def _records(rows: list[dict[str, Any]]) -> list[Record]:
    return [r for r in map(parse_row, rows) if isinstance(r, Record)]


def test_several_records_of_one_category_on_one_day() -> None:
    def same_day(rows: list[dict[str, Any]]) -> bool:
        keys = [(r.subject_id, r.category, r.occurred_on) for r in _records(rows) if r.status == "active"]
        return len(keys) != len(set(keys))

    find(record_rows(), same_day, settings=FIND)


def test_withdrawn_and_later_than_as_of() -> None:
    find(record_rows(), lambda rows: any(r.status == "withdrawn" for r in _records(rows)), settings=FIND)
    find(record_rows(), lambda rows: any(r.occurred_on > AS_OF for r in _records(rows)), settings=FIND)


def test_amount_exactly_on_a_tier_boundary() -> None:
    def on_boundary(case: Case) -> bool:
        book, rows = case
        for r in _records(rows):
            rule = book.rule_for(r.category, r.subject_kind)
            if rule and r.amount is not None and r.amount in {t.min_amount for t in rule.tiers} and r.amount > 0:
                return True
        return False

    find(cases, on_boundary, settings=FIND)


def test_linear_decay_landing_on_a_half() -> None:
    def half(case: Case) -> bool:
        book, rows = case
        for r in _records(rows):
            rule = book.rule_for(r.category, r.subject_kind)
            if rule is None or rule.decay != "linear" or r.occurred_on > AS_OF:
                continue
            left = (r.occurred_on + dt.timedelta(days=rule.counts_for) - AS_OF).days
            numerator = 100 * rule.base_points(r.amount) * left
            if left > 0 and numerator % rule.counts_for and 2 * (numerator % rule.counts_for) == rule.counts_for:
                return True
        return False

    find(cases, half, settings=FIND)


def test_resolution_before_and_after_expiry() -> None:
    def resolved(when: str) -> Any:
        def check(case: Case) -> bool:
            book, rows = case
            for r in _records(rows):
                rule = book.rule_for(r.category, r.subject_kind)
                if rule is None or rule.ends_after_resolution is None or r.resolved_on is None:
                    continue
                cut = r.resolved_on + dt.timedelta(days=rule.ends_after_resolution)
                full = r.occurred_on + dt.timedelta(days=rule.counts_for)
                if when == "before" and r.occurred_on <= AS_OF < full and cut <= AS_OF:
                    return True  # resolution ended it before it would have expired
                if when == "after" and cut > AS_OF and r.occurred_on <= AS_OF < full:
                    return True  # resolved, but its cut-off is still ahead
            return False

        return check

    find(cases, resolved("before"), settings=FIND)
    find(cases, resolved("after"), settings=FIND)
