"""Retention (``credo purge``): records kept past the rulebook's retention period are erased, tombstones kept.

The purge runs in one transaction of its own and audits itself (:func:`credo.store.purge.purge`); this adds
the daily refresh it runs first and the rule that keeps a test clock from erasing records that still count today.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from credo.services.actor import Actor
from credo.services.daily_refresh import lapse_and_refresh
from credo.store import clock
from credo.store.bootstrap import Store
from credo.store.errors import StoreError
from credo.store.purge import Before, PurgeReport
from credo.store.purge import purge as purge_store

__all__ = ["PurgeReport", "purge", "refresh_first"]


def purge(
    store: Store,
    operator: Actor,
    *,
    dry_run: bool = False,
    future: bool = False,
    progress: Callable[[str], None] | None = None,
) -> PurgeReport:
    """Purge (or with ``dry_run`` only count) what is past retention; ``future``: allow a CREDO_TODAY to come."""
    day, real = clock.today(store.environ), dt.datetime.now(dt.UTC).date()
    if day > real and not dry_run and not future:
        raise StoreError(
            f"CREDO_TODAY ({day}) is after today's date ({real}): purging as of a later day erases records "
            "that still count today. Try --dry-run, or add --future on a copy of the store."
        )
    before = refresh_first(store, operator.name)
    return purge_store(store, actor=operator.name, before=before, dry_run=dry_run, progress=progress)


def refresh_first(store: Store, actor: str) -> Before:
    """The daily refresh, as the purge runs it first in its transaction: overdue disputes lapse, stale states."""
    return lambda connection, day: lapse_and_refresh(connection, day, actor, store.clock()).entries
