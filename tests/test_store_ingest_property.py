"""Property: whatever the chunk sizes and file splits, ingestion stores every record once and the batch's scores.

Random records from the strategies' pools (tests/strategies.py) are sent as a
random sequence of fresh rows, identical re-sends, new versions of earlier
records, withdrawals and versions that move a record to another subject (plus
rows from a source that is not registered, which the store quarantines), cut
into several files ingested one after the other in random chunk sizes. Then:

* every (source, record_id) is stored once as latest, with the content of the
  last version sent; its history is exactly what the documented rule gives (a
  Python model of it: a row equal to the row before it in the same input is a
  re-send, and so is the longest run at the start that equals the latest
  stored versions in order; every other row is a new version);
* every stored current score (score, grade, dimensions, lists, measures, the
  rulebook version, as of today) equals what ``run_batch`` gives on the
  concatenation of every file sent, at the same date and rulebook;
* sending the last file again changes nothing and quarantines nothing twice;
* all of this whether the chunks' subjects are rescored in bulk (with the
  subjects a chunk created taken as given, not read back) or one by one.

The store is emptied between examples and each example publishes its own
rulebook version, activated later than the previous one.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from credo.domain.rulebook import Rulebook
from credo.services.ingest import ingest_path
from credo.services.realtime_scoring import rescore_subjects
from credo.services.scoring_policy import ScoringPolicy
from credo.store.bootstrap import Store
from credo.store.rulebooks import activate, publish
from credo.store.sources import add_source
from credo.store.tables import current_scores, list_members, outbox, quarantine, records, subjects
from tests.batchio import batch, write_records
from tests.strategies import AS_OF, ORGS, PEOPLE, record_rows, rulebooks

TODAY = AS_OF
NOW = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)
SOURCES = {"court": ["court.*", "tax.*", "civic.*", "misc.*"], "tax": ["tax.*", "court.*", "civic.*", "misc.*"]}
DURATIONS = {"counts_for", "window", "ends_after_resolution", "clean_for", "decide_within"}
_examples = itertools.count(1)


def rulebook_yaml(book: Rulebook, version: str) -> str:
    """The generated rulebook as a file (durations are held as days; the file writes them ``Nd``)."""

    def text(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: f"{v}d" if k in DURATIONS and isinstance(v, int) else text(v) for k, v in value.items()}
        if isinstance(value, list):
            return [text(v) for v in value]
        return value

    data = text(book.model_dump(mode="json", exclude_none=True))
    data["version"] = version
    return yaml.safe_dump(data, sort_keys=False)


@st.composite
def sends(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Rows in the order they are sent: fresh ones, re-sends, new versions, withdrawals, moves."""
    pool = draw(record_rows())
    sent: list[dict[str, Any]] = []
    for fresh in pool:
        sent.append(fresh)
        for _ in range(draw(st.integers(0, 2))):
            earlier = dict(draw(st.sampled_from(sent)))
            action = draw(st.sampled_from(["resend", "version", "withdraw", "move"]))
            if action == "version":
                earlier["amount"] = draw(st.sampled_from([None, 0, 50, 100.5, 1000, 5000]))
                earlier["occurred_on"] = (AS_OF + dt.timedelta(days=draw(st.integers(-70, 5)))).isoformat()
                earlier.pop("resolved_on", None)
            elif action == "withdraw":
                earlier["status"] = "withdrawn"
            elif action == "move":
                kind = draw(st.sampled_from(["person", "organization"]))
                earlier["subject_kind"] = kind
                earlier["subject_id"] = draw(st.sampled_from(PEOPLE if kind == "person" else ORGS))
            if earlier.get("amount") is None:
                earlier.pop("amount", None)
            sent.append(earlier)
    return sent


def _content(row: dict[str, Any]) -> tuple[Any, ...]:
    amount = row.get("amount")
    return (
        row["subject_id"],
        row["subject_kind"],
        row["category"],
        row["occurred_on"],
        None if amount is None else float(amount),
        row.get("resolved_on"),
        row["status"],
        row.get("reference") or None,
    )


def expected_histories(files: list[list[dict[str, Any]]]) -> dict[tuple[str, str], list[tuple[Any, ...]]]:
    """The versions the documented rule stores for each (source, record_id), oldest first."""
    history: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for rows in files:
        by_key: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
        for row in rows:
            if row["source"] in SOURCES:
                seq = by_key.setdefault((row["source"], row["record_id"]), [])
                content = _content(row)
                if not seq or seq[-1] != content:  # a row equal to the one before it is a re-send
                    seq.append(content)
        for key, seq in by_key.items():
            stored = history.setdefault(key, [])
            k = max(k for k in range(min(len(seq), len(stored)) + 1) if stored[len(stored) - k :] == seq[:k])
            stored.extend(seq[k:])
    return history


def _reset(store: Store, book: Rulebook) -> str:
    version = f"p{next(_examples)}"
    with store.begin() as connection:
        for table in (outbox, list_members, current_scores, records, quarantine, subjects):
            connection.execute(sa.delete(table))
        publish(connection, rulebook_yaml(book, version), f"{version}.yaml", NOW)
        # Each example's version is activated a day after the previous one's: it is the one in force today.
        activate(connection, version, NOW, dt.date(2020, 1, 1) + dt.timedelta(days=int(version[1:])))
    return version


def _stored_histories(store: Store) -> tuple[dict[tuple[str, str], list[tuple[Any, ...]]], list[Any]]:
    with store.begin() as connection:
        ring = store.keys(connection)
        who = {
            sid: (ring.decrypt(enc).decode(), kind)
            for sid, enc, kind in connection.execute(
                sa.select(subjects.c.id, subjects.c.identifier_enc, subjects.c.kind)
            )
        }
        rows = connection.execute(
            sa.select(records).order_by(records.c.source_id, records.c.record_id, records.c.version)
        )
        found: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
        latest = []
        for r in rows:
            identifier, kind = who[r.subject_id]
            resolved = None if r.resolved_on is None else r.resolved_on.isoformat()
            content = (
                identifier,
                kind,
                r.category,
                r.occurred_on.isoformat(),
                r.amount,
                resolved,
                r.status,
                r.reference,
            )
            versions = found.setdefault((r.source_id, r.record_id), [])
            assert r.version == len(versions) + 1, "versions are numbered 1, 2, ... without gaps"
            versions.append(content)
            latest.append((r.source_id, r.record_id, r.version, r.is_latest))
    return found, latest


def _stored_scores(store: Store) -> dict[tuple[str, str], tuple[Any, ...]]:
    with store.begin() as connection:
        ring = store.keys(connection)
        rows = connection.execute(
            sa.select(current_scores, subjects.c.identifier_enc, subjects.c.kind).join(
                subjects, subjects.c.id == current_scores.c.subject_id
            )
        ).all()
    return {
        (ring.decrypt(r.identifier_enc).decode(), r.kind): (
            r.score,
            r.grade,
            dict(r.dimensions),
            list(r.lists),
            list(r.measures),
            r.rulebook_version,
            r.as_of,
        )
        for r in rows
    }


def _batch_scores(scores: list[dict[str, Any]], book: Rulebook, version: str) -> dict[tuple[str, str], tuple[Any, ...]]:
    return {
        (s["subject_id"], s["subject_kind"]): (
            int(s["score"]),
            s["grade"],
            {d: round(float(s[f"dim_{d}"]) * 100) for d in book.dimensions},
            [x for x in s["lists"].split(";") if x],
            [x for x in s["measures"].split(";") if x],
            version,
            TODAY,
        )
        for s in scores
    }


@settings(
    max_examples=12,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(book=rulebooks(), rows=sends(), data=st.data())
def test_ingest_in_any_chunks_and_files_equals_the_batch(
    store: Store, tmp_path: Path, book: Rulebook, rows: list[dict[str, Any]], data: st.DataObject
) -> None:
    if not hasattr(store, "_property_sources"):
        with store.begin() as connection:
            for source, patterns in SOURCES.items():
                add_source(connection, source, patterns, NOW)
        store._property_sources = True  # type: ignore[attr-defined]
    version = _reset(store, book)
    folder = tmp_path / version
    cuts = sorted(data.draw(st.lists(st.integers(0, len(rows)), max_size=3), label="cuts"))
    parts = [rows[a:b] for a, b in itertools.pairwise([0, *cuts, len(rows)]) if b > a]
    paths = []
    for n, part in enumerate(parts):
        fmt = data.draw(st.sampled_from(["csv", "jsonl", "parquet"]), label="format")
        paths.append(write_records(folder / f"{n:02d}.{fmt}", part))
    # Real-time scoring in bulk (DuckDB; subjects created by the chunk taken as given) or one by one in Python.
    bulk_from = data.draw(st.sampled_from([1, 4, 10_000]), label="bulk_from")
    rescore = functools.partial(rescore_subjects, policy=ScoringPolicy(bulk_from=bulk_from))
    for path in paths:
        chunk_rows = data.draw(st.integers(1, 12), label="chunk_rows")
        summary = ingest_path(store, str(path), chunk_rows=chunk_rows, today=TODAY, threads=1, rescore=rescore)
        assert summary.adds_up

    histories, latest = _stored_histories(store)
    assert histories == expected_histories(parts)
    for key, versions in histories.items():
        last_sent = [_content(r) for r in rows if (r["source"], r["record_id"]) == key][-1]
        assert versions[-1] == last_sent, key
    assert [(s, r, v) for s, r, v, is_latest in latest if is_latest] == [
        (s, r, len(histories[s, r])) for s, r in sorted(histories)
    ]

    good = [r for r in rows if r["source"] in SOURCES]  # the store quarantines the others
    expected = _batch_scores(
        batch(write_records(folder / "all.jsonl", good), folder / "scores.csv", book).scores, book, version
    )
    assert _stored_scores(store) == expected

    with store.begin() as connection:
        quarantined = connection.execute(sa.select(sa.func.count()).select_from(quarantine)).scalar_one()
    assert quarantined == len(rows) - len(good)
    # Sending the last file again changes nothing. (Sending an earlier one again is not a no-op: an older
    # content sent on its own is a new version, as the contract says.)
    again = ingest_path(store, str(paths[-1]), chunk_rows=data.draw(st.integers(1, 12)), today=TODAY, threads=1)
    assert (again.new, again.versions, again.quarantined - again.already_quarantined) == (0, 0, 0)
    assert _stored_histories(store)[0] == histories
    with store.begin() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(quarantine)).scalar_one() == quarantined
    assert _stored_scores(store) == expected
