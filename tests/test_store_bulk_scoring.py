"""Real-time scoring of many subjects (the DuckDB batch plan) equals the exact Python path (both backends)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any
from unittest import mock

import pytest
import sqlalchemy as sa
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credo.domain.rulebook import Rulebook
from credo.store import scoring
from credo.store.bootstrap import Store, init_store
from credo.store.rulebooks import activate, publish
from credo.store.scoring import RescoreOutcome, refresh_due, rescore_subjects
from credo.store.subjects import ensure_subject
from credo.store.tables import current_scores, outbox, records, subjects
from tests.conftest import Backend
from tests.storedata import NOW, add_record, prepare
from tests.strategies import AS_OF, PEOPLE, record_rows, rulebooks
from tests.support import OTHER_PERSON

_DURATIONS = {"counts_for", "clean_for", "decide_within", "window", "ends_after_resolution"}
_versions = itertools.count(1)


def _days(value: Any) -> Any:
    """A rulebook dump as YAML source writes it: durations in days with their unit."""
    if isinstance(value, dict):
        return {k: f"{v}d" if k in _DURATIONS and isinstance(v, int) else _days(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_days(v) for v in value]
    return value


def _put_in_force(store: Store, book: Rulebook) -> None:
    version = f"g{next(_versions)}"
    data = _days(book.model_dump(mode="json", exclude_none=True, by_alias=True))
    data["version"] = version
    with store.begin() as connection:
        publish(connection, yaml.safe_dump(data), f"{version}.yaml", NOW)
        activate(connection, version, NOW, dt.date(2000, 1, 1))  # the latest activation wins


def _reset(store: Store) -> None:
    with store.begin() as connection:
        for table in (outbox, current_scores, records, subjects):
            connection.execute(sa.delete(table))


def _add(store: Store, rows: list[dict[str, Any]]) -> list[int]:
    with store.begin() as connection:
        return [
            add_record(
                connection,
                store,
                row["subject_id"],
                row["subject_kind"],
                row["category"],
                row["occurred_on"],
                f"{row['source']}:{row['record_id']}",
                amount=row.get("amount"),
                resolved_on=row.get("resolved_on"),
                status=row["status"],
            )
            for row in rows
        ]


def _scores(store: Store) -> dict[int, dict[str, Any]]:
    with store.begin() as connection:
        return {r.subject_id: r._asdict() for r in connection.execute(sa.select(current_scores))}


def _events(store: Store, after: int) -> list[tuple[Any, ...]]:
    with store.begin() as connection:
        rows = connection.execute(sa.select(outbox).where(outbox.c.id > after).order_by(outbox.c.id)).all()
    return [(r.subject_id, r.event_type, dict(r.detail), r.as_of) for r in rows]


def _last_event(store: Store) -> int:
    with store.begin() as connection:
        return int(connection.execute(sa.select(sa.func.coalesce(sa.func.max(outbox.c.id), 0))).scalar_one())


def _rescore(store: Store, ids: list[int], day: dt.date, *, bulk: bool) -> RescoreOutcome:
    saved = scoring.BULK_FROM
    scoring.BULK_FROM = 1 if bulk else 10**9
    try:
        with store.begin() as connection:
            return rescore_subjects(connection, ids, day)
    finally:
        scoring.BULK_FROM = saved


def _restore(store: Store, scores: dict[int, dict[str, Any]], last_event: int) -> None:
    with store.begin() as connection:
        connection.execute(sa.delete(outbox).where(outbox.c.id > last_event))
        connection.execute(sa.delete(current_scores))
        if scores:
            connection.execute(sa.insert(current_scores), list(scores.values()))


_KEPT = ("score", "grade", "dimensions", "lists", "measures", "rulebook_version", "as_of")


@pytest.fixture
def shared(backend: Backend) -> Any:
    opened = backend.open()
    init_store(opened)
    prepare(opened)
    yield opened
    opened.engine.dispose()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    book=rulebooks(),
    rows=record_rows(),
    split=st.integers(0, 30),
    earlier=st.integers(1, 60),
    shift=st.integers(-30, 400),
)
def test_bulk_rescoring_equals_the_python_path(  # noqa: PLR0917 (hypothesis draws)
    shared: Store, book: Rulebook, rows: list[dict[str, Any]], split: int, earlier: int, shift: int
) -> None:
    store = shared
    _reset(store)
    _put_in_force(store, book)
    today = AS_OF + dt.timedelta(days=shift)
    # A stored state first (from the first rows, some days before), then more records arrive.
    first = _add(store, rows[:split])
    with store.begin() as connection:
        first.append(ensure_subject(connection, store.keys(connection), OTHER_PERSON, "person", NOW))
    _rescore(store, first, today - dt.timedelta(days=earlier), bulk=False)
    ids = sorted({*first, *_add(store, rows[split:])})
    before, mark = _scores(store), _last_event(store)

    exact = _rescore(store, ids, today, bulk=False)
    exact_scores, exact_events = _scores(store), _events(store, mark)
    _restore(store, before, mark)
    fast = _rescore(store, ids, today, bulk=True)
    fast_scores, fast_events = _scores(store), _events(store, mark)

    assert fast == exact
    assert fast_events == exact_events
    assert set(fast_scores) == set(exact_scores) == set(ids)
    for sid, row in exact_scores.items():
        got = fast_scores[sid]
        assert {k: got[k] for k in _KEPT} == {k: row[k] for k in _KEPT}, sid
        # Conservative: never after the exact day, and always after today.
        if row["next_change"] is not None:
            assert got["next_change"] is not None and got["next_change"] <= row["next_change"], sid
        assert got["next_change"] is None or got["next_change"] > today, sid


def test_bulk_rescoring_refuses_unknown_subjects(store: Store) -> None:
    prepare(store)
    with store.begin() as connection:
        known = ensure_subject(connection, store.keys(connection), PEOPLE[0], "person", NOW)
    with pytest.raises(Exception, match="not in the store"):
        _rescore(store, [known, known + 1000], AS_OF, bulk=True)


def _refresh(store: Store, day: dt.date, *, bulk: bool) -> RescoreOutcome:
    with mock.patch.object(scoring, "BULK_FROM", 1 if bulk else 10**9), store.begin() as connection:
        return refresh_due(connection, day)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    book=rulebooks(),
    rows=record_rows(),
    shift=st.integers(-30, 400),
    gap=st.sampled_from([1, 1, 1, 2, 40]),
    activate_today=st.booleans(),
)
def test_bulk_refresh_equals_the_day_by_day_walk(  # noqa: PLR0917 (hypothesis draws)
    shared: Store, book: Rulebook, rows: list[dict[str, Any]], shift: int, gap: int, activate_today: bool
) -> None:
    """The daily refresh in bulk (states stored yesterday) gives the walk's states and events."""
    store = shared
    _reset(store)
    _put_in_force(store, book)
    today = AS_OF + dt.timedelta(days=shift)
    ids = _add(store, rows)
    with store.begin() as connection:
        ids.append(ensure_subject(connection, store.keys(connection), OTHER_PERSON, "person", NOW))
    _rescore(store, ids, today - dt.timedelta(days=gap), bulk=False)  # exact next_change stored
    if activate_today:  # a new version comes into force today: every subject is due
        version = f"g{next(_versions)}"
        data = _days(book.model_dump(mode="json", exclude_none=True, by_alias=True))
        data["version"] = version
        with store.begin() as connection:
            publish(connection, yaml.safe_dump(data), f"{version}.yaml", NOW)
            activate(connection, version, NOW, today)
    before, mark = _scores(store), _last_event(store)

    exact = _refresh(store, today, bulk=False)
    exact_scores, exact_events = _scores(store), _events(store, mark)
    _restore(store, before, mark)
    fast = _refresh(store, today, bulk=True)
    fast_scores, fast_events = _scores(store), _events(store, mark)

    assert fast == exact
    assert sorted(fast_events, key=repr) == sorted(exact_events, key=repr)
    assert set(fast_scores) == set(exact_scores)
    for sid, row in exact_scores.items():
        got = fast_scores[sid]
        assert {k: got[k] for k in _KEPT} == {k: row[k] for k in _KEPT}, sid
        if row["next_change"] is not None:
            assert got["next_change"] is not None and got["next_change"] <= row["next_change"], sid
