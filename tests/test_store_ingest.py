"""Ingestion into the store (credo.services.ingest) on both backends: outcomes, versions, quarantine, retry."""

from __future__ import annotations

import datetime as dt
import functools
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from credo.batch.reader import InputError
from credo.domain.identifiers import IdProblem, make_resident_id
from credo.domain.records import Reason
from credo.services.ingest import ingest_path, retry_quarantine
from credo.services.ingest_check import SOURCE_MISMATCH
from credo.services.realtime_scoring import rescore_subjects
from credo.services.scoring_policy import ScoringPolicy
from credo.store.bootstrap import Store
from credo.store.errors import StoreError
from credo.store.quarantine import raw_row
from credo.store.rulebooks import activate, publish
from credo.store.sources import add_source
from credo.store.subjects import find_subject
from credo.store.tables import current_scores, quarantine, records, subjects
from tests.batchio import batch, write_records
from tests.support import BASE_YAML, ORG, OTHER_PERSON, PERSON

NOW = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)
TODAY = dt.date(2026, 6, 30)


def row(record_id: str, **fields: Any) -> dict[str, Any]:
    base = {
        "source": "tax-authority",
        "record_id": record_id,
        "subject_id": PERSON,
        "subject_kind": "person",
        "category": "tax.late_payment",
        "occurred_on": "2026-03-01",
    }
    return {**base, **fields}


@pytest.fixture
def ready(store: Store) -> Store:
    """A store with the test rulebook in force and two sources."""
    with store.begin() as connection:
        publish(connection, BASE_YAML, "book.yaml", NOW)
        activate(connection, "2026.1", NOW)
        add_source(connection, "tax-authority", ["tax.*"], NOW)
        add_source(connection, "court", ["court.*"], NOW)
    return store


def ingest(store: Store, path: Path, **kwargs: Any) -> Any:
    summary = ingest_path(store, str(path), today=TODAY, **kwargs)
    assert summary.adds_up
    return summary


def stored(store: Store) -> list[tuple[str, str, int, bool, str]]:
    with store.begin() as connection:
        rows = connection.execute(
            sa.select(records.c.source_id, records.c.record_id, records.c.version, records.c.is_latest,
                      records.c.status).order_by(records.c.source_id, records.c.record_id, records.c.version)
        )  # fmt: skip
        return [tuple(r) for r in rows]  # type: ignore[misc]


def subject_of(store: Store, identifier: str, kind: str = "person") -> int:
    with store.begin() as connection:
        found = find_subject(connection, store.keys(connection), identifier, kind)
    assert found is not None
    return found


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_every_outcome_is_counted_and_a_rerun_changes_nothing(ready: Store, tmp_path: Path, fmt: str) -> None:
    path = write_records(
        tmp_path / f"r.{fmt}",
        [
            row("a"),
            row("b", amount="20000"),
            row("a"),  # the same content again in the same file: unchanged
            row("b", amount="30000"),  # new version
            row("c", source="bank"),  # unregistered source
        ],
    )
    summary = ingest(ready, path, chunk_rows=2)
    assert (summary.read, summary.new, summary.versions, summary.unchanged, summary.quarantined) == (5, 2, 1, 1, 1)
    assert summary.reasons == {"source bank is not registered": 1}
    assert stored(ready) == [
        ("tax-authority", "a", 1, True, "active"),
        ("tax-authority", "b", 1, False, "active"),
        ("tax-authority", "b", 2, True, "active"),
    ]
    with ready.begin() as connection:
        scored = connection.execute(sa.select(current_scores.c.subject_id, current_scores.c.score)).all()
    assert [s for s, _ in scored] == [subject_of(ready, PERSON)]

    again = ingest(ready, path)
    assert (again.new, again.versions, again.unchanged, again.quarantined) == (0, 0, 4, 1)
    assert again.already_quarantined == 1  # the bad row is kept once
    with ready.begin() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(quarantine)).scalar() == 1
    assert len(stored(ready)) == 3


COURT = {"source": "court", "category": "court.judgment_default"}


def test_versions_keep_history_and_a_record_can_move_to_another_subject(ready: Store, tmp_path: Path) -> None:
    ingest(ready, write_records(tmp_path / "1.csv", [row("a", **COURT)]))
    before = subject_of(ready, PERSON)
    with ready.begin() as connection:
        first = connection.execute(sa.select(current_scores.c.score).where(current_scores.c.subject_id == before))
        assert first.scalar() is not None
    moved = ingest(ready, write_records(tmp_path / "2.csv", [row("a", subject_id=OTHER_PERSON, **COURT)]))
    assert (moved.versions, moved.subjects_rescored) == (1, 2)  # the old and the new subject
    after = subject_of(ready, OTHER_PERSON)
    with ready.begin() as connection:
        latest = connection.execute(sa.select(records.c.subject_id, records.c.version).where(records.c.is_latest)).all()
        scores = dict(connection.execute(sa.select(current_scores.c.subject_id, current_scores.c.score)).all())
    assert [tuple(r) for r in latest] == [(after, 2)]
    assert scores[before] == 1000  # no record left: the base score
    assert scores[after] < 1000
    third = [row("a", subject_id=OTHER_PERSON, status="withdrawn", **COURT)]
    withdrawn = ingest(ready, write_records(tmp_path / "3.csv", third))
    assert withdrawn.versions == 1
    assert [r[2:] for r in stored(ready)] == [(1, False, "active"), (2, False, "active"), (3, True, "withdrawn")]


def test_bad_input_of_every_kind_is_quarantined_with_the_batch_reason(ready: Store, tmp_path: Path) -> None:
    bad_check = PERSON[:-1] + ("0" if PERSON[-1] != "0" else "1")
    rows = [
        row("1", subject_id=bad_check),
        row("2", subject_id=ORG, subject_kind="person"),
        row("3", source="bank"),
        row("4", category="court.judgment_default"),
        row("5", occurred_on="2026-02-30"),
        row("6", amount="-5"),
        row("7", subject_kind="robot"),
        row("8", source="court", category="court.judgment_default"),  # fine without --source
        row("9", source="99991231"),
        row("10"),
    ]
    path = write_records(tmp_path / "bad.csv", rows)
    with path.open("a", encoding="utf-8") as fh:
        fh.write("x,y\n")  # a malformed CSV row (line 11)
    summary = ingest(ready, path, source="tax-authority")
    assert (summary.quarantined, summary.new) == (10, 1)
    with ready.begin() as connection:
        kept = {r.row_number: r.reason for r in connection.execute(sa.select(quarantine))}
    assert kept == {
        2: IdProblem.PERSON_CHECK,
        3: IdProblem.PERSON_DIGITS,
        4: SOURCE_MISMATCH,
        5: "category court.judgment_default is not registered for source tax-authority",
        6: Reason.BAD_OCCURRED_ON,
        7: Reason.NEGATIVE_AMOUNT,
        8: Reason.BAD_KIND,
        9: SOURCE_MISMATCH,
        10: SOURCE_MISMATCH,
        12: "malformed CSV row: expected 10 cells, found 2",
    }
    assert not any(PERSON in r or bad_check in r or ORG in r for r in kept.values())
    # Word for word the reasons of credo batch, for every rule the two share.
    rejects = {int(r["row"]): r["reason"] for r in batch(path, tmp_path / "scores.csv").rejects}
    for line in (2, 3, 6, 7, 8, 12):
        assert kept[line] == rejects[line]


def test_without_source_the_row_source_must_be_registered_and_enabled(ready: Store, tmp_path: Path) -> None:
    path = write_records(tmp_path / "r.jsonl", [row("1", source="bank"), row("2", source="99991231"), row("3")])
    with ready.begin() as connection:
        from credo.store.sources import disable_source

        disable_source(connection, "tax-authority")
    summary = ingest(ready, path)
    assert summary.reasons == {
        "source bank is not registered": 1,
        "source is not registered (not a source id)": 1,
        "source tax-authority is disabled": 1,
    }


def test_a_damaged_file_is_refused_whole(ready: Store, tmp_path: Path) -> None:
    good = write_records(tmp_path / "good.parquet", [row(str(i)) for i in range(2000)])
    data = good.read_bytes()
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut\.parquet"):
        ingest_path(ready, str(cut), today=TODAY)
    assert stored(ready) == []
    with ready.begin() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(quarantine)).scalar() == 0


def test_an_unknown_forced_source_or_no_rulebook_is_refused(store: Store, ready: Store, tmp_path: Path) -> None:
    path = write_records(tmp_path / "r.csv", [row("1")])
    with pytest.raises(StoreError, match=r"no source bank is registered"):
        ingest_path(ready, str(path), source="bank", today=TODAY)
    with pytest.raises(StoreError, match="publish and activate a rulebook"):
        ingest_path(ready, str(path), today=dt.date(2025, 1, 1))


def test_quarantine_retry_after_registering_a_source(ready: Store, tmp_path: Path) -> None:
    path = write_records(
        tmp_path / "r.parquet", [row("1", source="bank", category="loan.overdue"), row("2", occurred_on="x")]
    )
    assert ingest(ready, path).quarantined == 2
    first = retry_quarantine(ready, today=TODAY)
    assert (first.retried, first.resolved, first.still_open) == (2, 0, 2)
    with ready.begin() as connection:
        add_source(connection, "bank", ["loan.*"], NOW)
    second = retry_quarantine(ready, today=TODAY)
    assert (second.retried, second.resolved, second.still_open) == (2, 1, 1)
    assert second.outcome.new == 1
    assert stored(ready) == [("bank", "1", 1, True, "active")]
    with ready.begin() as connection:
        entries = connection.execute(sa.select(quarantine).order_by(quarantine.c.id)).all()
        assert [(e.state, e.reason) for e in entries] == [
            ("resolved", "source bank is not registered"),
            ("open", Reason.BAD_OCCURRED_ON),
        ]
        assert entries[0].resolved_at is not None and entries[1].retried_at is not None
        assert raw_row(connection, ready.keys(connection), entries[1].id)["subject_id"] == PERSON
    assert retry_quarantine(ready, today=TODAY).resolved == 0
    # Re-sending the file: the stored row is unchanged, the bad one is still open once.
    again = ingest(ready, path)
    assert (again.unchanged, again.quarantined, again.already_quarantined) == (1, 1, 1)


def test_typed_parquet_columns_hash_like_text(ready: Store, tmp_path: Path) -> None:
    text = write_records(tmp_path / "text.csv", [row("1", amount="1234.5", resolved_on="2026-04-01")])
    ingest(ready, text)
    typed = tmp_path / "typed.parquet"
    table = pa.table(
        {
            **{k: pa.array([v]) for k, v in row("1").items() if k != "occurred_on"},
            "occurred_on": pa.array([dt.date(2026, 3, 1)]),
            "amount": pa.array([1234.5]),
            "resolved_on": pa.array([dt.datetime(2026, 4, 1, 9, 30)]),
        }
    )
    pq.write_table(table, typed)
    assert ingest(ready, typed).unchanged == 1


def test_quarantine_json_masks(ready: Store, tmp_path: Path) -> None:
    from credo.store.quarantine import quarantine_entries

    ingest(ready, write_records(tmp_path / "r.csv", [row("1", source="bank")]))
    with ready.begin() as connection:
        entries = quarantine_entries(connection, ready.keys(connection))
    assert len(entries) == 1
    text = json.dumps([e.as_json() for e in entries])
    assert PERSON not in text and PERSON[:4] in text


def test_a_crash_between_chunks_leaves_whole_chunks_and_a_rerun_completes(ready: Store, tmp_path: Path) -> None:
    from credo.services.realtime_scoring import rescore_subjects

    # Every record in several versions; each of the 7 records is another person's, so chunks are several.
    people = [make_resident_id("110101", dt.date(1990, 1, 1), n) for n in range(7)]
    rows = [row(f"r{i % 7}", subject_id=people[i % 7], amount=str(1000 * i)) for i in range(40)]
    path = write_records(tmp_path / "r.csv", rows)
    calls = 0

    def crash_on_third(connection: Any, ids: Any, today: dt.date, *, fresh: Any) -> object:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("crash")
        return rescore_subjects(connection, ids, today, fresh=fresh)

    with pytest.raises(RuntimeError):
        ingest_path(ready, str(path), today=TODAY, chunk_rows=3, rescore=crash_on_third)
    partial = stored(ready)
    assert 0 < len(partial) < 40
    rerun = ingest(ready, path, chunk_rows=3)
    assert rerun.unchanged == len(partial)
    assert len(stored(ready)) == 40
    again = ingest(ready, path, chunk_rows=5)
    assert again.unchanged == 40
    assert [r[2] for r in stored(ready) if r[1] == "r0"] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("bulk_from", [1, 10_000])
def test_new_and_known_subjects_scored_in_bulk_or_one_by_one_equal_the_batch(
    ready: Store, tmp_path: Path, bulk_from: int
) -> None:
    """Subjects a chunk creates are scored from the chunk's rows, the others from the store: both as the batch."""
    people = [make_resident_id("110101", dt.date(1980, 1, 1) + dt.timedelta(days=n), n) for n in range(12)]

    def late(n: int, person: int, amount: int, **fields: Any) -> dict[str, Any]:
        return row(f"t{n}", subject_id=people[person], amount=str(amount), **fields)

    first = [late(n, n % 6, 1000 * (n + 1), occurred_on=f"2026-0{1 + n % 5}-01") for n in range(18)]
    first += [row("c1", source="court", category="court.judgment_default", subject_id=people[2])]
    second = [late(100 + n, 3 + n % 9, 20_000 * (n % 4), occurred_on=f"2026-0{1 + n % 6}-15") for n in range(27)]
    second += [
        late(1, 9, 150_000, occurred_on="2026-02-01"),  # moved from person 1 to a person new in this file
        {**late(4, 4, 5000, occurred_on="2026-05-01"), "status": "withdrawn"},
        {**first[-1], "resolved_on": "2026-06-01"},
    ]
    rescore = functools.partial(rescore_subjects, policy=ScoringPolicy(bulk_from=bulk_from))
    for n, part in enumerate((first, second)):
        ingest(ready, write_records(tmp_path / f"{n}.csv", part), chunk_rows=7, rescore=rescore)
    expected = {
        s["subject_id"]: (int(s["score"]), s["grade"], [x for x in s["lists"].split(";") if x])
        for s in batch(write_records(tmp_path / "all.jsonl", first + second), tmp_path / "scores.csv").scores
    }
    with ready.begin() as connection:
        ring = ready.keys(connection)
        got = {
            ring.decrypt(r.identifier_enc).decode(): (r.score, r.grade, list(r.lists))
            for r in connection.execute(
                sa.select(current_scores, subjects.c.identifier_enc).join(
                    subjects, subjects.c.id == current_scores.c.subject_id
                )
            )
        }
    assert got == expected
    assert len({score for score, _, _ in got.values()}) > 3  # the records tell the people apart
