"""Today's date for the store commands, and how tests and backfills move it.

``CREDO_TODAY=YYYY-MM-DD`` makes every command act as if it ran on that day:
real-time rescoring, ``credo refresh``, and ``credo score`` / ``credo explain``
without ``--as-of``. It is a testing and backfill aid (replaying a past day's
refresh, checking what tomorrow's refresh will do); leave it unset in
production, where today is the UTC date of the system clock.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping

from credo.domain.records import parse_date
from credo.store.errors import StoreError

__all__ = ["ENV_TODAY", "as_utc", "today", "utc_iso"]

ENV_TODAY = "CREDO_TODAY"


def today(environ: Mapping[str, str] | None = None) -> dt.date:
    """``CREDO_TODAY`` if set, else the current UTC date."""
    env = os.environ if environ is None else environ
    text = env.get(ENV_TODAY, "").strip()
    if not text:
        return dt.datetime.now(dt.UTC).date()
    day = parse_date(ENV_TODAY, text)  # the one date parser: as records and date options read dates
    if isinstance(day, str):
        raise StoreError(day)
    return day


def as_utc(at: dt.datetime) -> dt.datetime:
    """A stored timestamp with its zone: the store keeps UTC, and SQLite gives it back without a zone."""
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


def utc_iso(at: dt.datetime) -> str:
    """A stored timestamp as ISO text with its zone (:func:`as_utc`)."""
    return as_utc(at).isoformat()
