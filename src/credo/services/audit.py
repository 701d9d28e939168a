"""Auditors: checking the audit trail's hash chain and reading its entries (docs/security.md, "Audit trail").

Reading entries about subjects is itself personal data (who looked at whom), so a page that holds any is an
entry of its own, after those read; entries about no subject (such as these reads) are not, so that paging to
the end ends.
"""

from __future__ import annotations

from typing import Any

from credo.services.actor import Actor
from credo.services.unit_of_work import UnitOfWork
from credo.store import audit
from credo.store.clock import utc_iso

__all__ = ["entries", "verification", "verify"]


def verify(uow: UnitOfWork) -> audit.ChainReport:
    """The whole chain walked from its first entry: intact, or where it breaks and why."""
    return audit.verify(uow.connection)


def verification(auditor: Actor, report: audit.ChainReport) -> audit.AuditEntry:
    """The entry that says an auditor checked the chain (kept once the chain can take entries again)."""
    return audit.AuditEntry(auditor.role, auditor.name, "audit.verify", "audit", None, {"intact": report.intact})


def entries(uow: UnitOfWork, auditor: Actor, after: int, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` entries after the id ``after``, oldest first, pseudonymised (subjects by surrogate id)."""
    rows = audit.entries_after(uow.connection, after, limit)
    if any(r.subject_id is not None for r in rows):
        detail = {"after": after, "entries": len(rows)}
        uow.audit(audit.AuditEntry(auditor.role, auditor.name, "audit.read", "audit", None, detail))
    return [
        {
            "id": r.id, "at": utc_iso(r.at), "actor_role": r.actor_role, "actor": r.actor, "action": r.action,
            "subject": r.subject_id, "purpose": r.purpose, "detail": r.detail,
            "prev_hash": bytes(r.prev_hash).hex(), "hash": bytes(r.hash).hex(),
        }
        for r in rows
    ]  # fmt: skip
