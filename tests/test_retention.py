"""Retention in the domain: which records are due, by hand and against the reference scorer.

The property test holds the promise that makes purging safe: taking the due
records away changes no subject's score, grade, dimensions, lists or measures
on any day from today on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credo.domain.changes import score_state
from credo.domain.records import Record, parse_row
from credo.domain.retention import Held, counted_until, due, matters_until
from credo.domain.scoring import latest_versions
from tests.strategies import AS_OF, ORGS, PEOPLE, record_rows, rulebooks
from tests.support import D, book

DAY = dt.timedelta(days=1)
JUDGMENT = {"category": "court.default", "dimension": "legal", "gravity": "grave", "points": -100, "counts_for": "100d"}
B = book([JUDGMENT])


def held(**fields: Any) -> Held:
    base: dict[str, Any] = {
        "source": "court", "record_id": "J-1", "subject_kind": "person", "category": "court.default",
        "occurred_on": D("2020-01-01"),
    }  # fmt: skip
    return Held(**{**base, **fields})


def due_ids(books: Any, keep_for: int, items: list[Held], today: str) -> list[str]:
    return [d.record_id for d in due(books, keep_for, items, D(today))]


def test_a_record_is_kept_keep_for_after_the_last_day_it_could_count() -> None:
    item = held()
    assert counted_until([B], item) == D("2020-04-09")  # 2020-01-01 + 100 days, exclusive
    assert matters_until([B], item) == D("2020-04-09")
    assert due_ids([B], 10, [item], "2020-04-19") == []  # kept through 2020-04-19
    assert due_ids([B], 10, [item], "2020-04-20") == ["J-1"]
    (found,) = due([B], 10, [item], D("2020-04-20"))
    assert (found.category, found.counted_until, found.kept_until) == (
        "court.default",
        D("2020-04-09"),
        D("2020-04-19"),
    )


def test_a_resolution_that_ends_the_period_early_starts_the_clock_early() -> None:
    resolving = book([{**JUDGMENT, "ends_after_resolution": "0d"}])
    item = held(resolved_on=D("2020-02-01"))
    assert counted_until([resolving], item) == D("2020-01-31")
    assert due_ids([resolving], 10, [item], "2020-02-11") == ["J-1"]


def test_a_record_without_a_rule_never_counted_and_is_kept_from_the_day_it_occurred() -> None:
    item = held(category="misc.unscored")
    assert counted_until([B], item) is None
    assert matters_until([B], item) == D("2020-01-01")
    assert due_ids([B], 10, [item], "2020-01-12") == ["J-1"]
    assert held(subject_kind="organization").category == "court.default"
    person_only = book([{**JUDGMENT, "applies_to": ["person"]}])
    assert counted_until([person_only], held(subject_kind="organization")) is None


def test_a_withdrawn_record_counted_until_the_day_before_its_withdrawal() -> None:
    item = held(withdrawn_on=D("2020-02-01"))
    assert counted_until([B], item) == matters_until([B], item) == D("2020-01-31")
    assert due_ids([B], 10, [item], "2020-02-11") == ["J-1"]
    never = held(withdrawn_on=D("2019-12-01"))  # withdrawn before it happened: it never counted
    assert counted_until([B], never) is None
    assert matters_until([B], never) == D("2020-01-01")


def test_a_removed_record_is_kept_until_its_period_would_have_ended() -> None:
    item = held(removed_on=D("2020-02-01"))
    assert counted_until([B], item) == D("2020-01-31")  # what its tombstone says
    assert matters_until([B], item) == D("2020-04-09")  # so that a re-send after the purge cannot count
    assert due_ids([B], 10, [item], "2020-04-19") == []
    assert due_ids([B], 10, [item], "2020-04-20") == ["J-1"]


def test_an_open_dispute_or_repair_application_keeps_a_record() -> None:
    assert due_ids([B], 1, [held(open_due_process=True)], "2040-01-01") == []


def test_a_repeat_window_keeps_a_record_while_it_can_raise_a_later_ones_points() -> None:
    repeating = book([{**JUDGMENT, "repeat": {"window": "1y", "factor": 2}}])
    # the last later record within the window occurs on 2020-12-30 and counts 100 days
    assert matters_until([repeating], held()) == D("2020-01-01") + dt.timedelta(days=365 + 100 - 2)


def test_a_clean_for_list_keeps_a_negative_record_while_it_keeps_the_subject_off() -> None:
    listed = book(
        [JUDGMENT],
        lists=[{"id": "roll", "kind": "red", "title": "t", "enter_when": {"grade_at_least": "A", "clean_for": "1y"}}],
    )
    assert matters_until([listed], held()) == D("2020-12-30")  # 1y is 365 days; 2020 is a leap year
    positive = book(
        [{**JUDGMENT, "points": 5, "dimension": "civic", "gravity": "minor"}],
        lists=[{"id": "roll", "kind": "red", "title": "t", "enter_when": {"grade_at_least": "A", "clean_for": "1y"}}],
    )
    assert matters_until([positive], held()) == D("2020-04-09")


def test_the_latest_day_over_every_rulebook_given_counts() -> None:
    longer = book([{**JUDGMENT, "counts_for": "1y"}])
    assert counted_until([B, longer], held()) == D("2020-12-30")
    assert due_ids([B, longer], 10, [held()], "2020-04-20") == []


# -- purging never changes a state from today on (keep_for and today drawn close to the records, where it could) --

SUBJECTS = [(p, "person") for p in PEOPLE] + [(o, "organization") for o in ORGS]


def _parsed(rows: list[dict[str, Any]]) -> list[Record]:
    records = [parse_row(row) for row in rows]
    return [r for r in records if isinstance(r, Record)]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rulebooks(), record_rows(), st.integers(1, 3), st.integers(-50, 20), st.data())
def test_purging_the_due_records_changes_no_state_from_today_on(
    b: Any, rows: list[dict[str, Any]], keep_for: int, offset: int, data: Any
) -> None:
    records = _parsed(rows)
    latest = latest_versions(records)
    keys = sorted({r.key for r in latest})
    removed = frozenset(data.draw(st.lists(st.sampled_from(keys), max_size=2))) if keys else frozenset()
    today = AS_OF + dt.timedelta(days=offset)
    items = [
        Held(
            r.source, r.record_id, r.subject_kind, r.category, r.occurred_on, r.amount, r.resolved_on,
            withdrawn_on=AS_OF + dt.timedelta(days=data.draw(st.integers(-60, 10))) if r.status != "active" else None,
            removed_on=AS_OF + dt.timedelta(days=data.draw(st.integers(-60, 10))) if r.key in removed else None,
        )
        for r in latest
    ]  # fmt: skip
    gone = {(d.source, d.record_id) for d in due([b], keep_for, items, today)}
    kept = [r for r in records if r.key not in gone]
    for subject, kind in SUBJECTS:
        for day in (today + dt.timedelta(days=n) for n in range(60)):
            before = score_state(b, subject, kind, records, day, suppressed=removed)
            after = score_state(b, subject, kind, kept, day, suppressed=removed)
            assert after.same_as(before), (day, gone)
