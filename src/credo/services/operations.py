"""An operator's reads of the store as a whole: the quarantine of refused rows, and the statistics.

The quarantine holds rows as read (identifiers masked): reading it is an entry of its own. The statistics
are counts only (grades, list sizes, measures in force) and leave none.
"""

from __future__ import annotations

from typing import Any

from credo.services.actor import Actor, operation
from credo.services.unit_of_work import UnitOfWork
from credo.store.quarantine import QuarantineEntry, quarantine_entries
from credo.store.stats import store_statistics

__all__ = ["public_statistics", "quarantine", "statistics"]


def quarantine(uow: UnitOfWork, operator: Actor, *, include_resolved: bool = False) -> list[QuarantineEntry]:
    """Quarantined rows, oldest first (open ones only unless ``include_resolved``), each with why it was held."""
    entries = quarantine_entries(uow.connection, uow.ring, include_resolved=include_resolved)
    detail = {"entries": len(entries)}
    uow.audit(operation(operator, "quarantine.read", detail))
    return entries


def statistics(uow: UnitOfWork) -> dict[str, Any]:
    """Grade distribution, list sizes and measures in force over the stored states, and the store's sizes."""
    return store_statistics(uow.connection, uow.today)


def public_statistics(uow: UnitOfWork) -> dict[str, Any]:
    """What the public statistics page shows: counts of subjects by grade, on each list, under each measure.

    Only those: the store's own sizes (records, the quarantine, stale states) are the operators'.
    """
    found = store_statistics(uow.connection, uow.today)
    keep = ("as_of", "scored", "not_scored_without_consent", "grades", "lists", "measures")
    return {key: found[key] for key in keep}
