"""``credo rescore``: the batch plan over the store equals real-time scoring, and its next_change is safe."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any
from unittest import mock

import pyarrow as pa
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

from credo.batch.engine import connect
from credo.batch.sqltext import day_number
from credo.cli.app import app
from credo.domain.changes import score_state
from credo.domain.identifiers import make_resident_id, make_uscc
from credo.domain.next_change import next_change
from credo.domain.records import Record, parse_row
from credo.domain.rulebook import Rulebook
from credo.domain.scoring import latest_versions
from credo.engines import Gap
from credo.services.bulk_scoring import load_tables, rescore_store
from credo.services.bulk_states import score_tables
from credo.services.realtime_scoring import rescore_subjects
from credo.store.bootstrap import Store, init_store, open_store
from credo.store.errors import StoreError
from credo.store.tables import current_scores, outbox, subjects
from tests.conftest import Backend
from tests.engines import every_engine
from tests.storedata import add_record, prepare
from tests.strategies import AS_OF, record_rows, rulebooks

TODAY = dt.date(2026, 6, 30)
CATEGORIES = ("tax.late_payment", "court.judgment_default", "civic.volunteer_service", "traffic.violation")


def _fill(store: Store, seed: int, n_subjects: int = 25) -> list[int]:
    rng = random.Random(seed)
    people = [
        make_resident_id("110101", dt.date(1980, 1, 1) + dt.timedelta(days=i), i % 1000) for i in range(n_subjects)
    ]
    orgs = [make_uscc("91110101", f"MA{i:06d}") for i in range(n_subjects // 5)]
    with store.begin() as connection:
        for _n in range(6 * n_subjects):
            org = rng.random() < 0.2
            identifier = rng.choice(orgs if org else people)
            kind = "organization" if org else "person"
            category = rng.choice(CATEGORIES[:2] if org else CATEGORIES)
            occurred = TODAY + dt.timedelta(days=rng.randint(-900, 20))
            resolved = occurred + dt.timedelta(days=rng.randint(0, 200)) if rng.random() < 0.3 else None
            add_record(
                connection,
                store,
                identifier,
                kind,
                category,
                occurred.isoformat(),
                f"r{rng.randint(0, 5 * n_subjects)}",  # some record ids repeat: new versions, other subjects
                amount=rng.choice([None, None, 50.0, 600.0, 20000.0, 200000.0]),
                resolved_on=resolved.isoformat() if resolved else None,
                status="withdrawn" if rng.random() < 0.05 else "active",
            )
        return list(connection.execute(sa.select(subjects.c.id).order_by(subjects.c.id)).scalars())


def _stored(store: Store) -> dict[int, tuple[Any, ...]]:
    with store.begin() as connection:
        rows = connection.execute(sa.select(current_scores)).all()
    return {
        r.subject_id: (r.score, r.grade, dict(r.dimensions), list(r.lists), list(r.measures), r.rulebook_version)
        for r in rows
    }


def _next_changes(store: Store) -> dict[int, dt.date | None]:
    with store.begin() as connection:
        return dict(connection.execute(sa.select(current_scores.c.subject_id, current_scores.c.next_change)).all())


def _outbox(store: Store) -> int:
    with store.begin() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one())


@pytest.mark.parametrize("engine", every_engine(notimpl={"python": Gap.STORE}, raises=StoreError))
def test_rescore_equals_real_time_scoring_and_emits_nothing(store: Store, engine: str) -> None:
    prepare(store)
    ids = _fill(store, seed=3)
    with store.begin() as connection:
        rescore_subjects(connection, ids, TODAY)
    real_time, exact, events = _stored(store), _next_changes(store), _outbox(store)
    assert events > 0 and len(real_time) == len(ids)

    summary = rescore_store(store, today=TODAY, engine=engine)

    assert summary.subjects == len(ids)
    assert (summary.changed, summary.events) == (0, 0)
    assert _outbox(store) == events
    assert _stored(store) == real_time
    for sid, day in _next_changes(store).items():  # conservative: never after the exact day
        if exact[sid] is not None:
            assert day is not None and day <= exact[sid], sid
        assert day is None or day > TODAY
    assert 0 < summary.written <= len(ids)  # where the exact next_change was later than the conservative one

    again = rescore_store(
        store, today=TODAY, engine=engine
    )  # every stored state is now exact as it is: nothing to write
    assert (again.subjects, again.written, again.events) == (len(ids), 0, 0)
    assert _stored(store) == real_time
    assert rescore_store(store, today=TODAY - dt.timedelta(days=1)).written == len(ids)  # stored for a later day


def test_rescore_reading_sqlite_in_worker_processes_reads_every_record(tmp_path: Path) -> None:
    """The parallel read of a large SQLite file (here forced on a small one) reads what the inline read does.

    SQLite only: PostgreSQL sends its rows by COPY.
    """
    store = open_store(f"sqlite:///{tmp_path / 'credo.db'}")
    init_store(store)
    prepare(store)
    _fill(store, seed=11)
    with store.begin() as connection:
        inline = load_tables(connection, connect(), None)
        con = connect()
        with mock.patch("credo.store.bulk_reads.PARALLEL_FROM", 1):
            parallel = load_tables(connection, con, None)
        in_workers = con.sql("SELECT * FROM store_records ORDER BY source, record_id").fetchall()
        con = connect()
        load_tables(connection, con, None)
        in_process = con.sql("SELECT * FROM store_records ORDER BY source, record_id").fetchall()
    assert parallel == inline > 0
    assert in_workers == in_process
    with mock.patch("credo.store.bulk_reads.PARALLEL_FROM", 1):
        summary = rescore_store(store, today=TODAY)
    assert summary.records == inline
    store.engine.dispose()


def test_rescore_writes_first_scores_and_events_like_real_time(backend: Backend) -> None:
    """From an empty current_scores, rescore and real-time scoring write the same states and events."""
    one, two = backend.open(), backend.open()
    from credo.store.bootstrap import init_store

    init_store(one)
    prepare(one)
    ids = _fill(one, seed=5, n_subjects=12)
    rescore_store(one, today=TODAY)
    bulk = _stored(one)
    with one.begin() as connection:
        bulk_events = connection.execute(
            sa.select(outbox.c.subject_id, outbox.c.event_type, outbox.c.detail).order_by(outbox.c.id)
        ).all()
        connection.execute(sa.delete(outbox))
        connection.execute(sa.delete(current_scores))
        rescore_subjects(connection, ids, TODAY)
        live_events = connection.execute(
            sa.select(outbox.c.subject_id, outbox.c.event_type, outbox.c.detail).order_by(outbox.c.id)
        ).all()
    assert _stored(one) == bulk
    assert sorted(map(_event_key, bulk_events)) == sorted(map(_event_key, live_events))
    one.engine.dispose()
    two.engine.dispose()


def _event_key(row: Any) -> tuple[int, str, str]:
    return row[0], row[1], json.dumps(row[2], sort_keys=True)


def test_rescore_after_time_passes_reports_the_changes(store: Store) -> None:
    prepare(store)
    ids = _fill(store, seed=7)
    with store.begin() as connection:
        rescore_subjects(connection, ids, TODAY)
    later = TODAY + dt.timedelta(days=400)
    summary = rescore_store(store, today=later)
    assert summary.changed > 0 and summary.events > 0
    with store.begin() as connection:
        rescore_subjects(connection, ids, later)  # real-time scoring finds the same states: nothing new
    assert _outbox(store) > 0
    after = _stored(store)
    rescore_store(store, today=later)
    assert _stored(store) == after


def test_cli_rescore(backend: Backend) -> None:
    store = backend.open()
    from credo.store.bootstrap import init_store

    init_store(store)
    prepare(store)
    _fill(store, seed=11, n_subjects=5)
    store.engine.dispose()
    env = {**backend.environ, "CREDO_TODAY": TODAY.isoformat()}
    result = CliRunner().invoke(app, ["--db", backend.url, "rescore"], env=env)
    assert result.exit_code == 0, result.output
    assert "rescored" in result.output and "as of 2026-06-30" in result.output
    result = CliRunner().invoke(app, ["--db", backend.url, "rescore", "--engine", "spark"], env=env)
    assert result.exit_code == 1 and "unknown engine" in result.output


def test_cli_rescore_refuses_an_engine_without_a_store_plan_in_one_line(backend: Backend) -> None:
    store = backend.open()
    init_store(store)
    store.engine.dispose()
    env = {**backend.environ, "CREDO_TODAY": TODAY.isoformat()}
    result = CliRunner().invoke(app, ["--db", backend.url, "rescore", "--engine", "python"], env=env)
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == [
        "error: the python engine does not support rescoring a store in bulk (the store plan)"
    ]


# -- the plan's conservative next_change against the exact one, on generated data -----------------


def _tables(rows: list[dict[str, Any]]) -> tuple[pa.Table, pa.Table, dict[tuple[str, str], int], list[Record]]:
    parsed = [r for r in (parse_row(row) for row in rows) if isinstance(r, Record)]
    ids: dict[tuple[str, str], int] = {}
    for r in parsed:
        ids.setdefault((r.subject_id, r.subject_kind), len(ids) + 1)
    latest = [r for r in latest_versions(parsed) if r.status == "active"]
    subjects_t = pa.table(
        {"ka": list(ids.values()), "kb": [0 if k == "person" else 1 for (_, k) in ids]},
    )
    records_t = pa.table(
        {
            "ka": pa.array([ids[(r.subject_id, r.subject_kind)] for r in latest], pa.int64()),
            "source": pa.array([r.source for r in latest], pa.string()),
            "record_id": pa.array([r.record_id for r in latest], pa.string()),
            "category": pa.array([r.category for r in latest], pa.string()),
            "occ": pa.array([day_number(r.occurred_on) for r in latest], pa.int64()),
            "res": pa.array([day_number(r.resolved_on) if r.resolved_on else None for r in latest], pa.int64()),
            "amount": pa.array([r.amount for r in latest], pa.float64()),
        }
    )
    return subjects_t, records_t, ids, parsed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=rulebooks(), rows=record_rows(), shift=__import__("hypothesis").strategies.integers(-30, 400))
def test_plan_next_change_is_never_later_than_the_exact_one(
    book: Rulebook, rows: list[dict[str, Any]], shift: int
) -> None:
    as_of = AS_OF + dt.timedelta(days=shift)
    subjects_t, records_t, ids, parsed = _tables(rows)
    con = connect(1)
    try:
        con.register("store_subjects", subjects_t)
        con.register("store_records", records_t)
        score_tables(con, book, as_of)
        got = {
            row[0]: row[1:]
            for row in con.execute(
                "SELECT subject_id, score, grade, dimensions, lists, measures, next_change FROM new_states"
            ).fetchall()
        }
    finally:
        con.close()
    for (subject, kind), ka in ids.items():
        state = score_state(book, subject, kind, parsed, as_of)
        score, grade, dims, lists, measures, conservative = got[ka]
        assert (score, grade, json.loads(dims), tuple(json.loads(lists)), tuple(json.loads(measures))) == (
            state.score,
            state.grade,
            dict(state.dimensions),
            state.lists,
            state.measures,
        )
        exact = next_change(book, parsed, subject, kind, as_of)
        if exact is not None:
            assert conservative is not None and conservative <= exact, (subject, kind, conservative, exact)
        assert conservative is None or conservative > as_of
