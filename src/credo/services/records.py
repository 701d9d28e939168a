"""A source's own records: pushed, or withdrawn, one request at a time (``POST /v1/records``).

Each stored change is audited as the source's act and its subjects are rescored in the same unit of work, so
the source's answer means its records count. Files of records are ingested in bulk instead (``credo ingest``).
"""

from __future__ import annotations

from collections.abc import Sequence

from credo.services.unit_of_work import UnitOfWork
from credo.store.audit import AuditEntry
from credo.store.errors import ForbiddenError
from credo.store.push import PushResult, store_pushed, withdraw_record
from credo.store.sources import Source, get_source

__all__ = ["push", "withdraw"]

_REPORTED, _WITHDRAWN = "record reported by its source", "record withdrawn by its source"


def _registered(uow: UnitOfWork, source_id: str) -> Source:
    source = get_source(uow.connection, source_id)
    if source is None:
        raise ForbiddenError(f"source {source_id} is not registered")
    return source


def push(uow: UnitOfWork, source_id: str, rows: Sequence[object], push_id: str) -> list[PushResult]:
    """Store the source's rows (one result each, in order); the bad ones are quarantined and counted once."""
    source = _registered(uow, source_id)
    results, touched = store_pushed(
        uow.connection, uow.ring, source, rows, today=uow.today, now=uow.now, push_id=push_id
    )
    uow.audit(
        *(
            AuditEntry(
                "source",
                source_id,
                f"record.{r.outcome}",
                _REPORTED,
                r.subject_pk,
                {"source": source_id, "record_id": r.record_id, "version": r.version, "push_id": push_id},
            )
            for r in results
            if r.outcome in ("new", "version")
        )
    )
    if rejected := sum(r.outcome == "rejected" for r in results):
        detail = {"push_id": push_id, "records": rejected}
        uow.audit(AuditEntry("source", source_id, "record.quarantined", _REPORTED, None, detail))
    uow.rescore(touched)
    return results


def withdraw(uow: UnitOfWork, source_id: str, record_id: str) -> PushResult:
    """Withdraw one of the source's records: a new version that no longer counts (unchanged if it already is)."""
    result = withdraw_record(uow.connection, _registered(uow, source_id), record_id, uow.now)
    if result.outcome == "version" and result.subject_pk is not None:
        detail = {"source": source_id, "record_id": record_id, "version": result.version}
        uow.audit(AuditEntry("source", source_id, "record.withdrawn", _WITHDRAWN, result.subject_pk, detail))
        uow.rescore([result.subject_pk])
    return result
