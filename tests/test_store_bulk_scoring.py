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

from credo.domain.changes import ScoreState, events_between, score_state
from credo.domain.disputes import Filing
from credo.domain.records import Record
from credo.domain.rulebook import Rulebook
from credo.domain.suppression import Suppression, suppressed_on
from credo.rulebook_file import parse_rulebook
from credo.services import realtime_scoring
from credo.services.daily_refresh import lapse_and_refresh
from credo.services.realtime_scoring import RescoreOutcome, refresh_due, rescore_subjects
from credo.services.scoring_policy import ScoringPolicy
from credo.store.bootstrap import Store, init_store
from credo.store.disputes import open_dispute
from credo.store.rulebooks import activate, publish, rulebook_at
from credo.store.subjects import ensure_subject
from credo.store.tables import (
    consents,
    current_scores,
    disputes,
    list_members,
    outbox,
    records,
    rulebook_activations,
    subjects,
)
from tests.conftest import Backend
from tests.storedata import NOW, SOURCE, D, add_record, prepare
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
        for table in (outbox, list_members, current_scores, records, subjects):
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


def _policy(*, bulk: bool) -> ScoringPolicy:
    """Every set of subjects in bulk, or none."""
    return ScoringPolicy(bulk_from=1 if bulk else 10**9)


def _rescore(store: Store, ids: list[int], day: dt.date, *, bulk: bool) -> RescoreOutcome:
    with store.begin() as connection:
        return rescore_subjects(connection, ids, day, policy=_policy(bulk=bulk))


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
    with store.begin() as connection:
        return refresh_due(connection, day, policy=_policy(bulk=bulk))


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


# -- a refresh long after the last one, with disputes, consent and versions changing in between ----------------

_FATES = ("open", "upheld", "corrected", "removed", "granted", "refused")


@st.composite
def decaying(draw: st.DrawFn, books: st.SearchStrategy[Rulebook]) -> Rulebook:
    """Generated rulebooks, half of them with every rule decaying (records of both signs then decay together)."""
    book = draw(books)
    if draw(st.booleans()):
        return book
    return book.model_copy(update={"rules": tuple(r.model_copy(update={"decay": "linear"}) for r in book.rules)})


@st.composite
def late_stories(draw: st.DrawFn) -> dict[str, Any]:
    """What happened between the last refresh (``since``) and today: up to hundreds of days, any of it."""
    since = AS_OF - dt.timedelta(days=draw(st.integers(0, 90)))
    gap = draw(st.one_of(st.integers(2, 70), st.integers(70, 400)))
    consent = draw(st.booleans())
    books = [(draw(decaying(rulebooks())), 0)]
    for _ in range(draw(st.integers(0, 2))):  # versions coming into force during the gap
        books.append((draw(decaying(rulebooks())), draw(st.integers(1, gap))))
    rows = draw(record_rows())
    keys = sorted({f"{r['source']}:{r['record_id']}" for r in rows})
    disputes = []
    for key in draw(st.lists(st.sampled_from(keys), unique=True, max_size=4)):
        fate = draw(st.sampled_from(_FATES))
        opened = since + dt.timedelta(days=draw(st.integers(-20, gap)))
        decided = opened + dt.timedelta(days=draw(st.integers(0, 60)))
        disputes.append(
            {
                "key": key,
                "kind": "repair" if fate in {"granted", "refused"} else "dispute",
                "suspends": fate not in {"granted", "refused"} and draw(st.booleans()),
                "opened_on": opened,
                "deadline": opened + dt.timedelta(days=draw(st.integers(1, 60))),  # an open one may lapse today
                "fate": fate,
                "decided_on": None if fate == "open" else min(decided, since + dt.timedelta(days=gap)),
            }
        )
    entries = draw(
        st.lists(st.tuples(st.sampled_from((*PEOPLE, OTHER_PERSON)), st.integers(-10, gap), st.booleans()), max_size=5)
    )
    return {"since": since, "gap": gap, "consent": consent, "books": books, "rows": rows, "disputes": disputes,
            "consents": entries}  # fmt: skip


def _dispute_row(spec: dict[str, Any], subject_id: int, day: dt.date, number: int) -> dict[str, Any] | None:
    """A dispute's row as it stood on ``day`` (None: not opened yet)."""
    if spec["opened_on"] > day:
        return None
    decided = spec["decided_on"] is not None and spec["decided_on"] <= day
    return {
        "dispute_id": f"00000000-0000-0000-0000-{number:012d}",
        "kind": spec["kind"],
        "subject_id": subject_id,
        "source_id": SOURCE,
        "record_id": spec["key"],
        "statement_enc": b"-",
        "suspends": spec["suspends"],
        "opened_on": spec["opened_on"],
        "deadline": spec["deadline"],
        "state": "decided" if decided else "open",
        "outcome": spec["fate"] if decided else None,
        "decided_by": "reviewer" if decided else None,
        "decided_on": spec["decided_on"] if decided else None,
        "created_at": NOW,
    }


def _put_disputes(store: Store, story: dict[str, Any], holders: dict[str, int], day: dt.date) -> None:
    with store.begin() as connection:
        connection.execute(sa.delete(disputes))
        rows = [_dispute_row(spec, holders[spec["key"]], day, n) for n, spec in enumerate(story["disputes"])]
        if any(rows):
            connection.execute(sa.insert(disputes), [r for r in rows if r is not None])


def _reference_periods(store: Store) -> list[Suppression]:
    """The disputes as the refresh left them, as periods, written out independently of the store's SQL."""
    with store.begin() as connection:
        rows = connection.execute(sa.select(disputes)).all()
        holder = {
            (r.source_id, r.record_id): r.subject_id
            for r in connection.execute(sa.select(records).where(records.c.is_latest))
        }
    periods = []
    for d in rows:
        if holder.get((d.source_id, d.record_id)) != d.subject_id:  # a moved record leaves its disputes behind
            continue
        removes = d.outcome in {"removed", "granted"}
        if d.suspends and (d.state == "open" or d.decided_on is not None):
            periods.append(Suppression((d.source_id, d.record_id), d.opened_on, None if removes else d.decided_on))
        elif removes:
            periods.append(Suppression((d.source_id, d.record_id), d.decided_on, None))
    return sorted(periods, key=repr)


def _reference(  # noqa: PLR0917 (the whole story)
    story: dict[str, Any],
    books: list[tuple[Rulebook, dt.date]],
    kinds: dict[int, str],
    mine: list[Record],
    periods: list[Suppression],
    histories: dict[int, list[tuple[dt.date, bool]]],
    today: dt.date,
) -> tuple[list[tuple[Any, ...]], dict[int, ScoreState]]:
    """Every subject scored on every day from ``since`` to today by the reference scorer; events between days."""

    def book_on(day: dt.date) -> Rulebook:  # the latest start on or before the day, the later activated on a tie
        return max((start, n, book) for n, (book, start) in enumerate(books) if start <= day)[2]

    events: list[tuple[Any, ...]] = []
    states = {}
    for sid, kind in kinds.items():
        day, consent = story["since"], histories.get(sid, [])
        prev = score_state(book_on(day), str(sid), kind, mine, day, suppressed=suppressed_on(periods, day),
                           consent=consent)  # fmt: skip
        while day < today:
            day += dt.timedelta(days=1)
            book, hidden = book_on(day), suppressed_on(periods, day)
            state = score_state(book, str(sid), kind, mine, day, suppressed=hidden, consent=consent)
            previous = book_on(day - dt.timedelta(days=1))
            previous_book = previous if previous.version != book.version else None
            events += [
                (sid, e.type, dict(e.detail), day)
                for e in events_between(book, prev, state, previous_book=previous_book)
            ]
            prev = state
        states[sid] = prev
    return events, states


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
@given(story=late_stories())
def test_late_refresh_equals_the_reference_day_by_day(shared: Store, story: dict[str, Any]) -> None:
    """A refresh hundreds of days late, disputes opened, decided and lapsing and consent changing in between:
    the Python walk and the bulk catch-up each give the reference scorer's states and events, day by day."""
    store, since = shared, story["since"]
    today = since + dt.timedelta(days=story["gap"])
    with store.begin() as connection:
        for table in (
            disputes,
            consents,
            outbox,
            list_members,
            current_scores,
            records,
            subjects,
            rulebook_activations,
        ):
            connection.execute(sa.delete(table))
    books = []
    for book, offset in story["books"]:
        version = f"g{next(_versions)}"
        data = _days(book.model_dump(mode="json", exclude_none=True, by_alias=True))
        data["version"] = version
        data["score"]["requires_consent"] = story["consent"]
        text = yaml.safe_dump(data)
        start = since + dt.timedelta(days=offset) if offset else dt.date(2000, 1, 1)
        with store.begin() as connection:
            publish(connection, text, f"{version}.yaml", NOW)
            activate(connection, version, NOW, start)
        parsed = parse_rulebook(text).rulebook
        assert parsed is not None
        books.append((parsed, start))
    ids = _add(store, story["rows"])
    holders = {f"{r['source']}:{r['record_id']}": sid for r, sid in zip(story["rows"], ids, strict=True)}
    with store.begin() as connection:
        keys = store.keys(connection)
        who = {person: ensure_subject(connection, keys, person, "person", NOW) for person in (*PEOPLE, OTHER_PERSON)}
        for person, offset, given in story["consents"]:
            on = since + dt.timedelta(days=offset)
            connection.execute(sa.insert(consents).values(subject_id=who[person], given=given, on=on, at=NOW))
        kinds = {int(i): k for i, k in connection.execute(sa.select(subjects.c.id, subjects.c.kind))}
        histories: dict[int, list[tuple[dt.date, bool]]] = {}
        for sid, on, given in connection.execute(
            sa.select(consents.c.subject_id, consents.c.on, consents.c.given).order_by(consents.c.id)
        ):
            histories.setdefault(int(sid), []).append((on, bool(given)))
    _put_disputes(store, story, holders, since)  # as they stood when the states were stored
    _rescore(store, sorted(kinds), since, bulk=False)
    _put_disputes(store, story, holders, today)  # decided or opened since, without a refresh
    saved_disputes = _table(store, disputes)
    before, mark = _scores(store), _last_event(store)

    results = []
    for bulk in (False, True):
        with store.begin() as connection:
            lapse_and_refresh(connection, today, "test", NOW, _policy(bulk=bulk))
        results.append((_scores(store), _events(store, mark), _reference_periods(store)))
        _restore(store, before, mark)
        _put_table(store, disputes, saved_disputes)

    mine = [
        Record(SOURCE, f"{r['source']}:{r['record_id']}", str(sid), r["subject_kind"], r["category"],
               D(r["occurred_on"]), r.get("amount"), D(r["resolved_on"]) if r.get("resolved_on") else None,
               r["status"])
        for r, sid in zip(story["rows"], ids, strict=True)
    ]  # fmt: skip
    events, states = _reference(story, books, kinds, mine, results[0][2], histories, today)
    for scores, got, periods in results:
        assert periods == results[0][2]
        assert sorted(got, key=repr) == sorted(events, key=repr)
        for sid, state in states.items():
            row = scores[sid]
            stored = ScoreState(row["score"], row["grade"], row["dimensions"], tuple(row["lists"]),
                                tuple(row["measures"]), row["rulebook_version"], today)  # fmt: skip
            assert stored.same_as(state), sid
            assert row["as_of"] == today or row["next_change"] is None or row["next_change"] > today, sid


def _table(store: Store, table: sa.Table) -> list[dict[str, Any]]:
    with store.begin() as connection:
        return [r._asdict() for r in connection.execute(sa.select(table))]


def _put_table(store: Store, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    with store.begin() as connection:
        connection.execute(sa.delete(table))
        if rows:
            connection.execute(sa.insert(table), rows)


def test_a_refresh_200_days_late_with_a_dispute_open_catches_up_in_bulk(store: Store) -> None:
    """The new user's case: the demo's day long past and one dispute open. No subject walks in Python, the
    dispute lapses, and a list left in between is reported on the day it was left, not on the refresh's."""
    prepare(store)
    asof, now = AS_OF, NOW
    with store.begin() as connection:
        disputing = add_record(connection, store, PEOPLE[0], "person", "court.judgment_default", "2026-03-01", "c-1")
        add_record(connection, store, PEOPLE[0], "person", "civic.volunteer_service", "2026-01-10", "v-1")
        paying = add_record(
            connection, store, PEOPLE[1], "person", "court.judgment_default", "2026-02-01", "c-2",
            resolved_on="2026-09-01",
        )  # fmt: skip
        add_record(connection, store, PEOPLE[1], "person", "civic.volunteer_service", "2026-01-20", "v-2")
        rescore_subjects(connection, [disputing, paying], asof)
        _, book = rulebook_at(connection, asof)
        filing = Filing(SOURCE, "c-1", "not mine")
        open_dispute(connection, store.keys(connection), book, disputing, filing, today=asof, now=now)
        rescore_subjects(connection, [disputing], asof)
    mark = _last_event(store)
    today = asof + dt.timedelta(days=200)
    walked_in_python = AssertionError("a late subject walked in Python")
    with (
        mock.patch.object(realtime_scoring, "_rescore", side_effect=walked_in_python),
        store.begin() as connection,
    ):
        daily = lapse_and_refresh(connection, today, "test", NOW, _policy(bulk=True))
    assert [d.record_id for d in daily.lapsed] == ["c-1"]
    assert daily.refreshed.subjects == 2
    left = D("2026-09-01")
    assert sorted((sid, kind, day) for sid, kind, _, day in _events(store, mark)) == [
        (paying, "grade_up", left),
        (paying, "list_left", left),
        (paying, "measure_lifted", left),
    ]
