"""Records pushed over the API are stored exactly as file ingestion stores them.

The push path (:mod:`credo.store.push`) is Python, the file path DuckDB; they
share the checks (``parse_row`` is held equal to the batch SQL elsewhere) and
must share the content hash and the version rule. Here the same random sends
as the ingestion property test go through pushes (one push per file and
source) and must give the documented histories and the batch's scores.
"""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from credo.domain.records import Record
from credo.domain.rulebook import Rulebook
from credo.services.ingest import ingest_path
from credo.services.realtime_scoring import rescore_subjects
from credo.store.bootstrap import Store
from credo.store.push import content_hash, store_pushed
from credo.store.rulebooks import activate, publish
from credo.store.sources import add_source, get_source
from credo.store.tables import quarantine, records
from tests.batchio import batch, write_records
from tests.strategies import rulebooks
from tests.support import BASE_YAML, ORG, OTHER_PERSON, PERSON
from tests.test_store_ingest_property import (
    NOW,
    SOURCES,
    TODAY,
    _batch_scores,
    _reset,
    _stored_histories,
    _stored_scores,
    expected_histories,
    sends,
)


def test_the_python_content_hash_is_the_ingestion_hash(store: Store, tmp_path: Path) -> None:
    """Stored by file ingestion (the hash in DuckDB SQL), recomputed in Python from the stored fields."""
    rows = [
        {"source": "court", "record_id": f"H-{n}", "subject_id": subject, "subject_kind": kind, "category": category,
         "occurred_on": "2026-03-01", **extra}
        for n, (subject, kind, category, extra) in enumerate([
            (PERSON, "person", "tax.late_payment", {"amount": "100.5"}),
            (PERSON, "person", "tax.late_payment", {"amount": "0.1", "resolved_on": "2026-04-01"}),
            (OTHER_PERSON, "person", "court.judgment_default", {"amount": "123456789.123456", "reference": "C 7"}),
            (ORG, "organization", "tax.late_payment", {"amount": "1000000000000000"}),
            (ORG, "organization", "civic.x", {"status": "withdrawn", "reference": "ünïcode ✓"}),
            (PERSON, "person", "misc.thing", {"amount": "0"}),
        ])
    ]  # fmt: skip
    with store.begin() as connection:
        add_source(connection, "court", SOURCES["court"], NOW)
    with store.begin() as connection:
        publish(connection, BASE_YAML, "b.yaml", NOW)
        activate(connection, "2026.1", NOW)
    ingest_path(store, str(write_records(tmp_path / "h.jsonl", rows)), today=TODAY)
    with store.begin() as connection:
        stored = connection.execute(sa.select(records).order_by(records.c.id)).all()
    assert len(stored) == len(rows)
    for r in stored:
        record = Record(r.source_id, r.record_id, "", "", r.category, r.occurred_on, r.amount, r.resolved_on,
                        r.status, r.reference)  # fmt: skip
        assert content_hash(record, r.subject_id) == bytes(r.content_hash), r.record_id


def _push_all(store: Store, parts: list[list[dict[str, Any]]]) -> None:
    for part in parts:
        for source in SOURCES:
            mine = [r for r in part if r["source"] == source]
            if not mine:
                continue
            with store.begin() as connection:
                caller = get_source(connection, source)
                assert caller is not None
                results, touched = store_pushed(
                    connection, store.keys(connection), caller, mine, today=TODAY, now=NOW, push_id=str(uuid.uuid4())
                )
                rescore_subjects(connection, sorted(touched), TODAY, now=NOW)  # as a push's unit of work does
            assert all(r.outcome != "rejected" for r in results), [r.reason for r in results]


@settings(
    max_examples=10,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(book=rulebooks(), rows=sends(), data=st.data())
def test_pushes_store_what_file_ingestion_stores(
    store: Store, tmp_path: Path, book: Rulebook, rows: list[dict[str, Any]], data: st.DataObject
) -> None:
    if not hasattr(store, "_property_sources"):
        with store.begin() as connection:
            for source, patterns in SOURCES.items():
                add_source(connection, source, patterns, NOW)
        store._property_sources = True  # type: ignore[attr-defined]
    version = _reset(store, book)
    good = [r for r in rows if r["source"] in SOURCES]
    cuts = sorted(data.draw(st.lists(st.integers(0, len(good)), max_size=3), label="cuts"))
    parts = [good[a:b] for a, b in itertools.pairwise([0, *cuts, len(good)]) if b > a]
    _push_all(store, parts)
    histories, latest = _stored_histories(store)
    assert histories == expected_histories(parts)
    assert [(s, r, v) for s, r, v, is_latest in latest if is_latest] == [
        (s, r, len(histories[s, r])) for s, r in sorted(histories)
    ]
    folder = tmp_path / version
    expected = _batch_scores(
        batch(write_records(folder / "all.jsonl", good), folder / "s.csv", book).scores, book, version
    )
    assert _stored_scores(store) == expected
    # The last push again changes nothing; and a file of the same rows, ingested now, finds them all unchanged.
    if parts:
        _push_all(store, parts[-1:])
        assert _stored_histories(store)[0] == histories
        summary = ingest_path(store, str(write_records(folder / "last.jsonl", parts[-1])), today=TODAY, threads=1)
        assert (summary.new, summary.versions) == (0, 0)
    with store.begin() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(quarantine)).scalar_one() == 0
