"""Real-time scoring in the store: current_scores and outbox, kept exact as days pass (both backends)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from credo.services.realtime_scoring import RescoreOutcome, current_state, refresh_due, rescore_subjects
from credo.services.scoring_policy import ScoringPolicy
from credo.store.bootstrap import Store
from credo.store.rulebooks import NoActiveRulebookError, activate, publish
from credo.store.states import stored_state
from credo.store.subjects import ensure_subject
from credo.store.tables import current_scores, outbox
from tests.storedata import NOW, V2_YAML, add_record, prepare
from tests.support import OTHER_PERSON, PERSON

D = dt.date.fromisoformat
TODAY = D("2026-06-30")
TOMORROW = D("2026-07-01")


def events(store: Store) -> list[tuple[int, str, dt.date]]:
    with store.begin() as connection:
        rows = connection.execute(sa.select(outbox).order_by(outbox.c.id)).all()
    return [(r.subject_id, r.event_type, r.as_of) for r in rows]


def details(store: Store) -> list[dict[str, Any]]:
    with store.begin() as connection:
        return [dict(d) for d in connection.execute(sa.select(outbox.c.detail).order_by(outbox.c.id)).scalars()]


def score_row(store: Store, subject: int) -> Any:
    with store.begin() as connection:
        return connection.execute(sa.select(current_scores).where(current_scores.c.subject_id == subject)).one()


def test_rescoring_writes_the_state_and_its_events_once(store: Store) -> None:
    prepare(store)
    with store.begin() as connection:
        judged = add_record(connection, store, PERSON, "person", "court.judgment_default", "2026-03-01", "c1")
        clean = ensure_subject(connection, store.keys(connection), OTHER_PERSON, "person", NOW)
        outcome = rescore_subjects(connection, [judged, clean, judged], TODAY)
    assert outcome == RescoreOutcome(subjects=2, changed=2, events=4)
    assert events(store) == [
        (judged, "first_scored", TODAY),
        (judged, "list_entered", TODAY),
        (judged, "measure_applied", TODAY),
        (clean, "first_scored", TODAY),
    ]
    assert details(store)[1] == {
        "list": "dishonest-judgment-debtors",
        "kind": "black",
        "title": "Dishonest judgment debtors",
        "legal_basis": None,
        "rulebook_version": "2026.1",
        "as_of": "2026-06-30",
    }
    row = score_row(store, judged)
    assert (row.score, row.grade, row.rulebook_version, row.as_of) == (900, "B", "2026.1", TODAY)
    assert row.dimensions == {"fiscal": 0, "legal": -10000, "civic": 0}
    assert (row.lists, row.measures) == (["dishonest-judgment-debtors"], ["high-consumption-restriction"])
    assert row.next_change == D("2031-02-28")  # counts for 5y = 5 × 365 days
    base = score_row(store, clean)  # no records: the base score, and nothing will ever change it
    assert (base.score, base.grade, base.lists, base.next_change) == (1000, "A", [], None)

    with store.begin() as connection:  # the same records again: the same state, no event
        assert rescore_subjects(connection, [judged, clean], TODAY) == RescoreOutcome(2, 0, 0)
    assert len(events(store)) == 4


def test_a_change_of_records_gives_its_events(store: Store) -> None:
    prepare(store)
    with store.begin() as connection:
        subject = add_record(connection, store, PERSON, "person", "civic.volunteer_service", "2026-03-01", "v1")
        rescore_subjects(connection, [subject], TODAY)
    with store.begin() as connection:
        add_record(connection, store, PERSON, "person", "court.judgment_default", "2026-05-01", "c1")
        outcome = rescore_subjects(connection, [subject], TODAY)
    assert outcome == RescoreOutcome(1, 1, 3)
    assert [e[1] for e in events(store)][-3:] == ["grade_down", "list_entered", "measure_applied"]
    assert details(store)[-3]["from"] == "A" and details(store)[-3]["to"] == "B"
    with store.begin() as connection:  # withdrawn: it leaves the score again
        add_record(
            connection, store, PERSON, "person", "court.judgment_default", "2026-05-01", "c1", status="withdrawn"
        )
        assert rescore_subjects(connection, [subject], TODAY) == RescoreOutcome(1, 1, 3)
    assert [e[1] for e in events(store)][-3:] == ["grade_up", "list_left", "measure_lifted"]
    assert score_row(store, subject).score == 1010


def test_nothing_is_scored_before_a_rulebook_is_in_force(store: Store) -> None:
    prepare(store)
    with store.begin() as connection:
        subject = add_record(connection, store, PERSON, "person", "tax.late_payment", "2025-03-01", "t1")
        with pytest.raises(NoActiveRulebookError, match=r"cannot score: no rulebook is in force on 2025-12-31"):
            rescore_subjects(connection, [subject], D("2025-12-31"))
        assert refresh_due(connection, D("2025-12-31")) == RescoreOutcome()


@pytest.fixture(params=["python", "bulk"])
def refresh_path(request: pytest.FixtureRequest) -> Iterator[str]:
    """The refresh's day-by-day walk in Python, or in bulk (a threshold of one subject: :data:`POLICY`)."""
    yield request.param


POLICY = {"python": ScoringPolicy(bulk_from=10**9), "bulk": ScoringPolicy(bulk_from=1)}


def test_time_alone_moves_the_score_and_the_refresh_catches_it(store: Store, refresh_path: str) -> None:
    prepare(store)
    with store.begin() as connection:  # paid tomorrow: the judgment stops counting from tomorrow
        subject = add_record(
            connection, store, PERSON, "person", "court.judgment_default", "2026-03-01", "c1", resolved_on="2026-07-01"
        )
        rescore_subjects(connection, [subject], TODAY, policy=POLICY[refresh_path])
    assert score_row(store, subject).next_change == TOMORROW
    with store.begin() as connection:
        assert refresh_due(connection, TODAY, policy=POLICY[refresh_path]) == RescoreOutcome()
    # The refresh runs three days late: the events are still dated the day the change happened.
    with store.begin() as connection:
        assert refresh_due(connection, D("2026-07-03"), policy=POLICY[refresh_path]) == RescoreOutcome(1, 1, 3)
    assert events(store)[-3:] == [
        (subject, "grade_up", TOMORROW),
        (subject, "list_left", TOMORROW),
        (subject, "measure_lifted", TOMORROW),
    ]
    row = score_row(store, subject)
    assert (row.score, row.grade, row.as_of) == (1000, "A", D("2026-07-03"))
    if refresh_path == "python":
        assert row.next_change is None
    else:  # the bulk next_change is conservative: never later than the exact one (None), possibly earlier
        assert row.next_change is None or row.next_change > D("2026-07-03")
    with store.begin() as connection:
        assert refresh_due(connection, D("2026-07-04"), policy=POLICY[refresh_path]) == RescoreOutcome()


def test_a_list_entered_and_left_between_two_refreshes_is_reported_both_ways(store: Store, refresh_path: str) -> None:
    prepare(store)
    with store.begin() as connection:  # dated ahead: counts from 2026-07-02 until it is paid on 2026-07-04
        subject = add_record(
            connection, store, PERSON, "person", "court.judgment_default", "2026-07-02", "c1", resolved_on="2026-07-04"
        )
        rescore_subjects(connection, [subject], TODAY, policy=POLICY[refresh_path])
        assert refresh_due(connection, D("2026-07-10"), policy=POLICY[refresh_path]).events == 6
    assert [(e[1], e[2]) for e in events(store)][-6:] == [
        ("grade_down", D("2026-07-02")),
        ("list_entered", D("2026-07-02")),
        ("measure_applied", D("2026-07-02")),
        ("grade_up", D("2026-07-04")),
        ("list_left", D("2026-07-04")),
        ("measure_lifted", D("2026-07-04")),
    ]


def test_a_read_returns_the_stored_state_while_exact_and_rescores_when_stale(store: Store) -> None:
    prepare(store)
    with store.begin() as connection:
        subject = add_record(
            connection, store, PERSON, "person", "court.judgment_default", "2026-03-01", "c1", resolved_on="2026-07-01"
        )
        assert current_state(connection, subject, TODAY).score == 900  # never scored: scored on read
    computed = score_row(store, subject).computed_at
    with store.begin() as connection:
        state = current_state(connection, subject, TODAY)
    assert (state.score, state.as_of) == (900, TODAY)
    assert score_row(store, subject).computed_at == computed  # exact: nothing written
    with store.begin() as connection:
        state = current_state(connection, subject, D("2026-07-02"))
        assert stored_state(connection, subject) == (state, None)
    assert (state.score, state.grade, state.as_of) == (1000, "A", D("2026-07-02"))
    assert [e[1:] for e in events(store)][-1] == ("measure_lifted", TOMORROW)


def test_a_rulebook_activated_ahead_changes_scores_on_its_day(store: Store, refresh_path: str) -> None:
    prepare(store)
    with store.begin() as connection:
        subject = ensure_subject(connection, store.keys(connection), PERSON, "person", NOW)
        rescore_subjects(connection, [subject], TODAY, policy=POLICY[refresh_path])
        publish(connection, V2_YAML, "v2.yaml", NOW)
        activate(connection, "2026.2", NOW, D("2026-07-05"))
    with store.begin() as connection:
        assert refresh_due(connection, D("2026-07-04"), policy=POLICY[refresh_path]) == RescoreOutcome()
        assert current_state(connection, subject, D("2026-07-04")).rulebook_version == "2026.1"
    with store.begin() as connection:
        assert refresh_due(connection, D("2026-07-06"), policy=POLICY[refresh_path]) == RescoreOutcome(1, 1, 3)
    # Base 1040 makes grade AA, the honour roll and the fast-track loans, from the day v2 is in force.
    assert [(e[1], e[2]) for e in events(store)][-3:] == [
        ("grade_up", D("2026-07-05")),
        ("list_entered", D("2026-07-05")),
        ("measure_applied", D("2026-07-05")),
    ]
    assert details(store)[-3]["rulebook_version"] == "2026.2"
    assert [d.get("list") or d.get("measure") for d in details(store)[-2:]] == ["honour-roll", "loan-fast-track"]
    row = score_row(store, subject)
    assert (row.score, row.grade, row.rulebook_version) == (1040, "AA", "2026.2")
