"""Quarantined rows: kept with file, row number and reason, and the raw row encrypted.

The raw row is encrypted because it holds the identifier (and it may be the
only copy of a row a source sent). The ingestion path adds rows here; the
``credo quarantine`` commands come with it (issue 3, items 4 and 5): the entries
as shown, and a retry's reads and updates (:mod:`credo.services.ingest`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.domain.identifiers import mask_raw_row
from credo.store import clock
from credo.store.chunks import chunks
from credo.store.keys import KeyRing
from credo.store.tables import quarantine

__all__ = [
    "API_PREFIX",
    "SOURCE_NOT_CALLER",
    "OpenEntry",
    "QuarantineEntry",
    "api_caller",
    "api_label",
    "hold",
    "open_entries",
    "open_rows_of",
    "quarantine_entries",
    "quarantine_row",
    "raw_json",
    "raw_row",
    "resolve",
    "still_open",
]

Held = tuple[str, int, str, str]  # file, row number, reason, the raw row as JSON text (as it is encrypted)

API_PREFIX = "api:"  # the ``file`` of a record pushed over the API: api:SOURCE:PUSH_ID
SOURCE_NOT_CALLER = "source is not the caller's source"


def api_label(source: str, push_id: str) -> str:
    return f"{API_PREFIX}{source}:{push_id}"


def api_caller(file: str) -> str | None:
    """The source that pushed a quarantined row over the API, or None for a row from a file.

    A retry checks such a row as that source's again: it may only ever be
    stored as the caller's own record (a row naming another source stays).
    """
    if not file.startswith(API_PREFIX):
        return None
    return file[len(API_PREFIX) :].partition(":")[0] or None


def raw_json(raw: object) -> str:
    """A raw row as JSON text that UTF-8 can hold: a lone surrogate (refused, but kept) stays a JSON escape."""
    text = json.dumps(raw, ensure_ascii=False, default=str)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")  # only inside a JSON string: "\\ud800"


def quarantine_row(
    connection: Connection,
    ring: KeyRing,
    *,
    file: str,
    row_number: int,
    reason: str,
    raw: Mapping[str, object],
    now: dt.datetime,
) -> int:
    """Keep a row that could not be stored; ``reason`` must not quote an identifier."""
    sealed = ring.encrypt(raw_json(dict(raw)).encode())
    values = {
        "file": file,
        "row_number": row_number,
        "reason": reason,
        "raw_enc": sealed,
        "received_at": now,
        "state": "open",
    }
    return int(connection.execute(sa.insert(quarantine).values(values).returning(quarantine.c.id)).scalar_one())


def raw_row(connection: Connection, ring: KeyRing, quarantine_id: int) -> dict[str, object]:
    sealed = connection.execute(sa.select(quarantine.c.raw_enc).where(quarantine.c.id == quarantine_id)).scalar_one()
    loaded: dict[str, object] = json.loads(ring.decrypt(sealed))
    return loaded


def open_rows_of(connection: Connection, ring: KeyRing, files: Collection[str]) -> set[Held]:
    """The open quarantine entries of these files, to keep a re-sent bad row once."""
    found = set()
    rows = connection.execute(
        sa.select(quarantine.c.file, quarantine.c.row_number, quarantine.c.reason, quarantine.c.raw_enc).where(
            quarantine.c.state == "open", quarantine.c.file.in_(list(files))
        )
    )
    for file, row_number, reason, sealed in rows:
        found.add((file, int(row_number), reason, ring.decrypt(sealed).decode()))
    return found


def hold(connection: Connection, ring: KeyRing, rows: Sequence[Held], now: dt.datetime) -> None:
    """Keep rows that could not be stored, open, their raw text encrypted; reasons must not quote an identifier."""
    if not rows:
        return
    values = [
        {
            "file": file,
            "row_number": row_number,
            "reason": reason,
            "raw_enc": ring.encrypt(text.encode()),
            "received_at": now,
            "state": "open",
        }
        for file, row_number, reason, text in rows
    ]
    connection.execute(sa.insert(quarantine), values)


@dataclass(frozen=True)
class OpenEntry:
    """An open quarantine entry as a retry reads it: its raw row decrypted, not masked."""

    id: int
    file: str
    raw: dict[str, Any]


def open_entries(connection: Connection, ring: KeyRing) -> list[OpenEntry]:
    """Every open entry, oldest first."""
    rows = connection.execute(
        sa.select(quarantine.c.id, quarantine.c.file, quarantine.c.raw_enc)
        .where(quarantine.c.state == "open")
        .order_by(quarantine.c.id)
    ).all()
    return [OpenEntry(r.id, r.file, json.loads(ring.decrypt(r.raw_enc))) for r in rows]


def still_open(connection: Connection, reasons: Sequence[tuple[int, str]], now: dt.datetime) -> None:
    """Entries (id, reason) tried again and refused again: the reason as it is now, and when."""
    for entry_id, reason in reasons:
        connection.execute(
            sa.update(quarantine).where(quarantine.c.id == entry_id).values(reason=reason, retried_at=now)
        )


def resolve(connection: Connection, ids: Sequence[int], now: dt.datetime) -> None:
    """Entries tried again and stored (or found unchanged): resolved."""
    for part in chunks(ids):
        connection.execute(
            sa.update(quarantine)
            .where(quarantine.c.id.in_(part))
            .values(state="resolved", resolved_at=now, retried_at=now)
        )


@dataclass(frozen=True)
class QuarantineEntry:
    """One quarantined row, its raw fields decrypted with the identifier masked (for screens and JSON)."""

    id: int
    file: str
    row: int
    reason: str
    received_at: dt.datetime
    state: str
    retried_at: dt.datetime | None
    resolved_at: dt.datetime | None
    raw: dict[str, object]

    def as_json(self) -> dict[str, object]:
        def when(value: dt.datetime | None) -> str | None:
            return None if value is None else clock.utc_iso(value)

        return {
            "id": self.id,
            "file": self.file,
            "row": self.row,
            "reason": self.reason,
            "received_at": when(self.received_at),
            "state": self.state,
            "retried_at": when(self.retried_at),
            "resolved_at": when(self.resolved_at),
            "raw": self.raw,
        }


def _shown(value: object) -> object:
    """A raw value as it can be shown: a lone surrogate (why such a row was refused) as U+FFFD."""
    return re.sub("[\ud800-\udfff]", "\N{REPLACEMENT CHARACTER}", value) if isinstance(value, str) else value


def quarantine_entries(
    connection: Connection, ring: KeyRing, *, include_resolved: bool = False
) -> list[QuarantineEntry]:
    """The quarantine (open rows only unless ``include_resolved``), oldest first; identifiers masked (mask_raw_row)."""
    query = sa.select(quarantine).order_by(quarantine.c.id)
    if not include_resolved:
        query = query.where(quarantine.c.state == "open")
    found = []
    for row in connection.execute(query):
        raw = {k: _shown(v) for k, v in mask_raw_row(json.loads(ring.decrypt(row.raw_enc))).items()}
        found.append(
            QuarantineEntry(
                row.id,
                row.file,
                row.row_number,
                row.reason,
                row.received_at,
                row.state,
                row.retried_at,
                row.resolved_at,
                raw,
            )
        )
    return found
