"""The stored versions of records, by (source, record_id) key, read in bulk as Arrow; superseding the latest.

The ingestion pipeline (:mod:`credo.services.ingest_pipeline`) joins a chunk of rows with these tables in DuckDB
to decide each row's outcome; the store only reads and writes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy import Connection

from credo.store.bulk_io import placeholder, select_in
from credo.store.chunks import chunks
from credo.store.tables import records

__all__ = ["earlier_versions", "latest_versions", "supersede"]


def _by_source(connection: Connection, head: str, keys: Iterable[tuple[str, str]]) -> list[tuple[Any, ...]]:
    """Rows of ``head`` (marking the source with :func:`placeholder`) for these keys, one source at a time."""
    by_source: dict[str, list[str]] = {}
    for source_id, record_id in keys:
        by_source.setdefault(source_id, []).append(record_id)
    found: list[tuple[Any, ...]] = []
    for source_id, record_ids in by_source.items():
        found.extend(select_in(connection, head, "record_id", record_ids, (source_id,)))
    return found


def latest_versions(connection: Connection, keys: Iterable[tuple[str, str]]) -> pa.Table:
    """The latest stored version of each (source, record_id) key: its id, version, content hash and subject."""
    head = f"""SELECT source_id, record_id, id, version, content_hash, subject_id FROM records
               WHERE is_latest AND source_id = {placeholder(connection)}"""
    found = _by_source(connection, head, keys)
    return pa.table(
        {
            "source": pa.array([r[0] for r in found], pa.string()),
            "record_id": pa.array([r[1] for r in found], pa.string()),
            "old_id": pa.array([r[2] for r in found], pa.int64()),
            "old_version": pa.array([r[3] for r in found], pa.int64()),
            "old_hash": pa.array([bytes(r[4]) for r in found], pa.binary()),
            "old_subject": pa.array([r[5] for r in found], pa.int64()),
        }
    )


def earlier_versions(connection: Connection, keys: Iterable[tuple[str, str]]) -> pa.Table:
    """Every stored version but the latest of each (source, record_id) key: its version and content hash."""
    head = f"""SELECT source_id, record_id, version, content_hash FROM records
               WHERE NOT is_latest AND source_id = {placeholder(connection)}"""
    found = _by_source(connection, head, keys)
    return pa.table(
        {
            "source": pa.array([r[0] for r in found], pa.string()),
            "record_id": pa.array([r[1] for r in found], pa.string()),
            "version": pa.array([r[2] for r in found], pa.int64()),
            "content_hash": pa.array([bytes(r[3]) for r in found], pa.binary()),
        }
    )


def supersede(connection: Connection, record_ids: Sequence[int]) -> None:
    """Mark these stored versions (surrogate ids) as no longer the latest of their record."""
    for part in chunks(record_ids):
        connection.execute(sa.update(records).where(records.c.id.in_(part)).values(is_latest=False))
