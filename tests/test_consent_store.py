"""Consent in the store: real-time scoring (one by one and in bulk), the refresh's walks and ``credo rescore`` agree.

Every path applies :func:`credo.domain.consent.without_consent`; here they
are run over the same records and consent histories (given, withdrawn,
dated ahead) and must store the same states and write the same events.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import sqlalchemy as sa

from credo.domain.identifiers import make_resident_id, make_uscc
from credo.services.bulk_scoring import rescore_store
from credo.services.realtime_scoring import refresh_due, rescore_subjects
from credo.services.scoring_policy import ScoringPolicy
from credo.store.bootstrap import Store
from credo.store.rulebooks import activate, publish
from credo.store.sources import add_source
from credo.store.stats import store_statistics
from credo.store.tables import consents, current_scores, outbox, subjects
from tests.storedata import NOW, SOURCE, add_record
from tests.support import BASE_YAML, edit

TODAY = dt.date(2026, 6, 30)
LATER = TODAY + dt.timedelta(days=8)
CONSENT_YAML = edit(
    BASE_YAML,
    "score: {base: 1000, min: 0, max: 1300}",
    "score: {base: 1000, min: 0, max: 1300, requires_consent: true}",
)
CATEGORIES = ("tax.late_payment", "court.judgment_default", "civic.volunteer_service", "traffic.violation")
# Histories as (days from TODAY, given): none, given, given then withdrawn, given ahead, withdrawn ahead.
HISTORIES = ((), ((-10, True),), ((-10, True), (-2, False)), ((3, True),), ((-5, True), (5, False)))


def _fill(store: Store, seed: int = 5, n_people: int = 30) -> tuple[list[int], list[int]]:
    """Records for people and organisations, and a consent history for each person; (all ids, person ids)."""
    rng = random.Random(seed)
    people = [make_resident_id("110101", dt.date(1980, 1, 1) + dt.timedelta(days=i), i) for i in range(n_people)]
    orgs = [make_uscc("91110101", f"MA{i:06d}") for i in range(n_people // 5)]
    with store.begin() as connection:
        for n in range(6 * n_people):
            org = rng.random() < 0.2
            occurred = TODAY + dt.timedelta(days=rng.randint(-900, 10))
            add_record(
                connection, store, rng.choice(orgs if org else people), "organization" if org else "person",
                rng.choice(CATEGORIES[:2] if org else CATEGORIES), occurred.isoformat(), f"r{n}",
                amount=rng.choice([None, 600.0, 20000.0, 200000.0]),
            )  # fmt: skip
        persons = list(
            connection.execute(sa.select(subjects.c.id).where(subjects.c.kind == "person").order_by(subjects.c.id))
            .scalars()
        )  # fmt: skip
        for i, sid in enumerate(persons):
            for days, given in HISTORIES[i % len(HISTORIES)]:
                on = TODAY + dt.timedelta(days=days)
                connection.execute(sa.insert(consents).values(subject_id=sid, given=given, on=on, at=NOW))
        ids = list(connection.execute(sa.select(subjects.c.id).order_by(subjects.c.id)).scalars())
    return ids, persons


def _prepare(store: Store, book: str = CONSENT_YAML) -> None:
    with store.begin() as connection:
        publish(connection, book, "book.yaml", NOW)
        activate(connection, "2026.1", NOW)
        add_source(connection, SOURCE, ["court.*", "tax.*", "civic.*", "traffic.*"], NOW)


def _stored(store: Store) -> dict[int, tuple[Any, ...]]:
    with store.begin() as connection:
        rows = connection.execute(sa.select(current_scores)).all()
    return {r.subject_id: (r.score, r.grade, dict(r.dimensions), list(r.lists), list(r.measures)) for r in rows}


def _events(store: Store) -> list[tuple[int, str, str, str]]:
    with store.begin() as connection:
        rows = connection.execute(sa.select(outbox.c.subject_id, outbox.c.event_type, outbox.c.detail, outbox.c.as_of))
        found = [(r[0], r[1], str(r[2].get("list") or r[2].get("measure") or ""), str(r[3])) for r in rows]
    return sorted(found)


def _reset(store: Store) -> None:
    with store.begin() as connection:
        connection.execute(sa.delete(outbox))
        connection.execute(sa.delete(current_scores))


def _real_time(store: Store, ids: list[int], day: dt.date, *, bulk: bool = False) -> None:
    with store.begin() as connection:
        rescore_subjects(connection, ids, day, policy=ScoringPolicy(bulk_from=1 if bulk else 10**9))


def test_every_path_stores_the_same_states_and_events_with_consent(store: Store) -> None:
    _prepare(store)
    ids, persons = _fill(store)
    _real_time(store, ids, TODAY)
    one_by_one, events = _stored(store), _events(store)

    unscored = [sid for sid, state in one_by_one.items() if state[0] is None]
    assert unscored and set(unscored) <= set(persons)  # only persons, and not all of them
    assert all(one_by_one[sid][2] == {} for sid in unscored)
    assert any(one_by_one[sid][3] for sid in unscored)  # some are still on the judgment debtors' list
    assert not any(state[0] is None for sid, state in one_by_one.items() if sid not in persons)
    assert {"loan-fast-track", "procurement-exclusion"}.isdisjoint(m for sid in unscored for m in one_by_one[sid][4])

    summary = rescore_store(store, today=TODAY)  # credo rescore: the DuckDB plan over the whole store
    assert (summary.changed, summary.events) == (0, 0)
    assert _stored(store) == one_by_one

    _reset(store)
    _real_time(store, ids, TODAY, bulk=True)  # an ingestion chunk's bulk path
    assert _stored(store) == one_by_one
    assert _events(store) == events

    # Time passes over consents dated ahead: the refresh walks in Python, and in bulk, and agrees with both.
    refreshed = []
    for bulk in (False, True):
        _reset(store)
        _real_time(store, ids, TODAY)
        with store.begin() as connection:
            refresh_due(connection, LATER, policy=ScoringPolicy(bulk_from=1 if bulk else 10**9))
        refreshed.append((_stored(store), _events(store)))
    assert refreshed[0] == refreshed[1]
    _reset(store)
    _real_time(store, ids, TODAY, bulk=True)  # the bulk path's next_change must bring consents ahead due too
    with store.begin() as connection:
        refresh_due(connection, LATER)
    assert _stored(store) == refreshed[0][0]
    _reset(store)
    _real_time(store, ids, LATER)
    assert _stored(store) == refreshed[0][0]
    walked = refreshed[0][1]
    ahead = [sid for i, sid in enumerate(persons) if HISTORIES[i % len(HISTORIES)] == ((3, True),)]
    withdrawn = [sid for i, sid in enumerate(persons) if HISTORIES[i % len(HISTORIES)] == ((-5, True), (5, False))]
    day = str(TODAY + dt.timedelta(days=3))
    assert all((sid, "first_scored", "", day) in walked for sid in ahead)  # dated the day consent took effect
    day = str(TODAY + dt.timedelta(days=5))
    assert all((sid, "unscored", "", day) in walked for sid in withdrawn)
    assert rescore_store(store, today=LATER).events == 0

    with store.begin() as connection:
        stats = store_statistics(connection, LATER)
    final = _stored(store)
    assert stats["not_scored_without_consent"] == sum(1 for s in final.values() if s[0] is None)
    assert stats["scored"] == len(final) - stats["not_scored_without_consent"]


def test_without_requires_consent_the_histories_change_nothing(store: Store) -> None:
    _prepare(store, BASE_YAML)
    ids, _ = _fill(store)
    _real_time(store, ids, TODAY)
    assert not any(state[0] is None for state in _stored(store).values())
    scored = _stored(store)
    with store.begin() as connection:
        connection.execute(sa.delete(consents))
    _reset(store)
    _real_time(store, ids, TODAY, bulk=True)
    assert _stored(store) == scored
