"""Test data put into a store through the store's own services, without the ingestion path.

Subjects come from :func:`credo.store.subjects.ensure_subject`; records are
plain inserts into ``records`` (a re-sent record becomes a new latest version),
so these tests do not depend on ``credo ingest``.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.store.bootstrap import Store
from credo.store.rulebooks import activate, publish
from credo.store.sources import add_source
from credo.store.subjects import ensure_subject
from credo.store.tables import records
from tests.support import BASE_YAML

NOW = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)
D = dt.date.fromisoformat
SOURCE = "registry"
V2_YAML = (
    BASE_YAML.replace('version: "2026.1"', 'version: "2026.2"')
    .replace("effective_from: 2026-01-01", "effective_from: 2026-07-01")
    .replace("score: {base: 1000,", "score: {base: 1040,")
)


def prepare(store: Store, *, active_from: dt.date | None = None) -> None:
    """The test rulebook published and in force, and one source allowed every category it scores."""
    with store.begin() as connection:
        publish(connection, BASE_YAML, "book.yaml", NOW)
        activate(connection, "2026.1", NOW, active_from)
        add_source(connection, SOURCE, ["court.*", "tax.*", "civic.*", "traffic.*"], NOW)


def add_record(  # noqa: PLR0917 (a record has many fields)
    connection: Connection,
    store: Store,
    identifier: str,
    kind: str,
    category: str,
    occurred_on: str,
    record_id: str,
    *,
    amount: float | None = None,
    resolved_on: str | None = None,
    status: str = "active",
) -> int:
    """Insert a record (or its next version) for a subject, created on first sight; its surrogate id."""
    subject = ensure_subject(connection, store.keys(connection), identifier, kind, NOW)
    key = (records.c.source_id == SOURCE) & (records.c.record_id == record_id)
    last = connection.execute(sa.select(sa.func.max(records.c.version)).where(key)).scalar() or 0
    connection.execute(sa.update(records).where(key).values(is_latest=False))
    content = f"{identifier}|{category}|{occurred_on}|{amount}|{resolved_on}|{status}".encode()
    connection.execute(
        sa.insert(records).values(
            source_id=SOURCE,
            record_id=record_id,
            version=last + 1,
            subject_id=subject,
            category=category,
            occurred_on=D(occurred_on),
            amount=amount,
            resolved_on=D(resolved_on) if resolved_on else None,
            status=status,
            reference=None,
            content_hash=hashlib.sha256(content).digest(),
            received_at=NOW,
            is_latest=True,
        )
    )
    return subject
