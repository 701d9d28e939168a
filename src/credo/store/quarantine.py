"""Quarantined rows: kept with file, row number and reason, and the raw row encrypted.

The raw row is encrypted because it holds the identifier (and it may be the
only copy of a row a source sent). The ingestion path adds rows here; the
``credo quarantine`` commands come with it (issue 3, items 4 and 5).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.store.keys import KeyRing
from credo.store.tables import quarantine

__all__ = ["API_PREFIX", "SOURCE_NOT_CALLER", "api_caller", "api_label", "quarantine_row", "raw_json", "raw_row"]

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
