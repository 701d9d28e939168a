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

__all__ = ["quarantine_row", "raw_row"]


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
    sealed = ring.encrypt(json.dumps(dict(raw), ensure_ascii=False, default=str).encode())
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
