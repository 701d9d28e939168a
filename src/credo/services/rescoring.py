"""The whole store rescored at once (``credo rescore``): for a new rulebook version, or to check real time kept up.

A bulk operation: the store's records go to a scoring engine as Arrow tables and the states come back in bulk,
in one transaction that keeps writers out (:mod:`credo.services.bulk_scoring`). What was done is audited once it has
committed, as the operator's act.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from credo import engines
from credo.services.actor import Actor, operation
from credo.services.bulk_scoring import RescoreSummary, rescore_store
from credo.services.unit_of_work import audit_afterwards
from credo.store.bootstrap import Store

__all__ = ["check_engine", "rescore"]


def check_engine(engine: str) -> None:
    """Refuse, before the store is opened, an engine that is unknown or cannot rescore a store (one line)."""
    engines.refuse_gap(engines.get(engine), engines.Gap.STORE)


def rescore(
    store: Store,
    operator: Actor,
    *,
    engine: str = "duckdb",
    today: dt.date | None = None,
    progress: Callable[[str], None] | None = None,
) -> RescoreSummary:
    """Rescore every subject at ``today`` (the store's today) with the rulebook in force; store states and events."""
    summary = rescore_store(store, today=today, engine=engine, progress=progress)
    detail = {"subjects": summary.subjects, "changed": summary.changed, "events": summary.events}
    audit_afterwards(store, operation(operator, "rescore", detail))
    return summary
