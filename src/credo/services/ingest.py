"""Files of records into the store (``credo ingest``), and quarantined rows tried again (``credo quarantine retry``).

Both are bulk operations: the store reads, checks and stores the rows chunk by chunk, each chunk in a
transaction of its own with its subjects rescored (:mod:`credo.store.ingest`), so a crash loses at most the
chunk under way. What was done is audited once, at the end, as the operator's act.
"""

from __future__ import annotations

from credo.services.actor import Actor, operation
from credo.services.unit_of_work import audit_afterwards
from credo.store.bootstrap import Store
from credo.store.ingest import IngestSummary, Progress, RetrySummary, ingest_path, retry_quarantine

__all__ = ["IngestSummary", "RetrySummary", "ingest", "retry"]


def ingest(
    store: Store, operator: Actor, path: str, *, source: str | None = None, progress: Progress | None = None
) -> IngestSummary:
    """Store the records of ``path`` (a file, folder or glob); bad rows go to the quarantine.

    ``source``: take rows of this source only; the others are quarantined.
    """
    summary = ingest_path(store, path, source=source, progress=progress)
    audit_afterwards(store, operation(operator, "records.ingest", summary.audit_detail()))
    return summary


def retry(store: Store, operator: Actor, *, progress: Progress | None = None) -> RetrySummary:
    """Process every open quarantined row again (after its source was registered, say); resolve those now stored."""
    result = retry_quarantine(store, progress=progress)
    detail = {"retried": result.retried, "resolved": result.resolved, "still_open": result.still_open}
    audit_afterwards(store, operation(operator, "quarantine.retry", detail))
    return result
