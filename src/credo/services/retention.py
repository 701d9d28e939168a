"""Retention (``credo purge``): records kept past the rulebook's retention period are erased, tombstones kept.

One unit of work: the daily refresh first, then the erasure (:func:`credo.store.purge.purge`), and the audit
entries of both, committed together; and the rule that keeps a test clock from erasing records that still count
today.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import Connection

from credo.services.actor import Actor
from credo.services.daily_refresh import lapse_and_refresh
from credo.services.unit_of_work import unit_of_work
from credo.store import clock
from credo.store.audit import AuditEntry
from credo.store.bootstrap import Store
from credo.store.errors import StoreError
from credo.store.purge import ACTION, PurgeReport
from credo.store.purge import purge as erase

__all__ = ["PurgeReport", "purge"]


def purge(
    store: Store,
    operator: Actor,
    *,
    dry_run: bool = False,
    future: bool = False,
    today: dt.date | None = None,
    progress: Callable[[str], None] | None = None,
) -> PurgeReport:
    """Purge (or with ``dry_run`` only count) what is past retention on ``today`` (the store's today by default).

    ``future``: allow a day after today's date (a CREDO_TODAY to come), on a copy of the store.
    """
    day, real = today or clock.today(store.environ), dt.datetime.now(dt.UTC).date()
    if day > real and not dry_run and not future:
        raise StoreError(
            f"CREDO_TODAY ({day}) is after today's date ({real}): purging as of a later day erases records "
            "that still count today. Try --dry-run, or add --future on a copy of the store."
        )
    with unit_of_work(store) as uow:

        def refresh_first(connection: Connection, on: dt.date) -> None:
            """The daily refresh, first: overdue disputes lapse (audited with the purge), stale states are caught up."""
            uow.audit(*lapse_and_refresh(connection, on, operator.name, store.clock()).entries)

        report = erase(uow.connection, uow.ring, day=day, before=refresh_first, now=store.clock, dry_run=dry_run,
                       progress=progress)  # fmt: skip
        if not dry_run and report.keep_for is not None:  # a rulebook without retention: nothing done, nothing kept
            uow.audit(AuditEntry("operator", operator.name, ACTION, "retention", None, report.audit_detail()))
    return report
