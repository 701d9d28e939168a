"""Auditors: checking the audit trail's hash chain and reading its entries (docs/security.md, "Audit trail").

Reading entries about subjects is itself personal data (who looked at whom), so a page that holds any is an
entry of its own, after those read; entries about no subject (such as these reads) are not, so that paging to
the end ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from credo.errors import AuditChainError
from credo.services.actor import Actor
from credo.services.runner import Runner
from credo.services.unit_of_work import UnitOfWork
from credo.store import audit
from credo.store.audit import EntryFilter
from credo.store.clock import utc_iso

__all__ = [
    "ChainState",
    "EntryFilter",
    "TrailPage",
    "chain_state",
    "check",
    "entries",
    "filters",
    "trail",
    "verification",
    "verify",
]

LAST_CHECKS = 5  # auditors' checks the operators' page shows


def verify(uow: UnitOfWork) -> audit.ChainReport:
    """The whole chain walked from its first entry: intact, or where it breaks and why."""
    return audit.verify(uow.connection)


def verification(auditor: Actor, report: audit.ChainReport) -> audit.AuditEntry:
    """The entry that says an auditor checked the chain (kept once the chain can take entries again)."""
    return audit.AuditEntry(auditor.role, auditor.name, "audit.verify", "audit", None, {"intact": report.intact})


def entries(uow: UnitOfWork, auditor: Actor, after: int, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` entries after the id ``after``, oldest first, pseudonymised (subjects by surrogate id)."""
    rows = audit.entries_after(uow.connection, after, limit)
    _audit_read(uow, auditor, rows, {"after": after})
    return [_present(r) for r in rows]


async def check(runner: Runner, auditor: Actor) -> audit.ChainReport:
    """Walk the chain (off the event loop: it grows with every decision) and log that ``auditor`` checked it.

    A broken chain cannot take the entry until it is mended: the report is given all the same, since it
    says what is wrong; an intact chain that refuses the entry is an error.
    """
    report = await runner.run_read(verify, in_thread=True)
    try:
        await runner.audit(verification(auditor, report))
    except AuditChainError:
        if report.intact:
            raise
    return report


@dataclass(frozen=True)
class ChainState:
    """What an operator may see of the chain without walking it: its head, and the auditors' latest checks.

    ``consistent`` says whether the head names the newest entry (writes refuse otherwise); only a walk
    (:func:`check`, by an auditor) says whether the entries themselves are intact.
    """

    entries: int  # the newest entry's id
    head_id: int | None  # None: no head recorded yet, or unreadable
    head_hash: str | None
    consistent: bool
    checks: list[dict[str, Any]]  # newest first: at, by, intact


def chain_state(uow: UnitOfWork) -> ChainState:
    """The chain's head and the auditors' latest checks (no entry names a subject: reading it is not logged)."""
    head, newest = audit.read_head(uow.connection)
    rows = audit.entries_matching(
        uow.connection, EntryFilter(action="audit.verify"), beyond=None, ascending=False, limit=LAST_CHECKS
    )
    checks = [{"at": utc_iso(r.at), "by": r.actor, "intact": bool((r.detail or {}).get("intact"))} for r in rows]
    consistent = head[0] == newest if head is not None else newest == 0  # no head: only an empty trail
    return ChainState(newest, head[0] if head else None, head[1].hex() if head else None, consistent, checks)


@dataclass(frozen=True)
class TrailPage:
    """A page of the trail in the order asked for, and whether there are entries before and after it."""

    entries: list[dict[str, Any]]
    earlier: bool  # entries come before the first shown (in the page's order)
    later: bool  # entries come after the last shown


def trail(
    uow: UnitOfWork,
    auditor: Actor,
    where: EntryFilter,
    *,
    order: Literal["newest", "oldest"],
    after: int | None = None,
    before: int | None = None,
    limit: int = 50,
) -> TrailPage:
    """A page of the entries matching ``where``, newest or oldest first, past an id (``after`` or ``before``).

    ``after`` and ``before`` are ids, not positions: a page stays put while entries are appended. Read as
    :func:`entries` is: a page that shows entries about subjects is logged as an ``audit.read`` entry.
    """
    ascending = order == "oldest"
    cursor = after if ascending else before  # going on in the page's own order
    back = before if ascending else after  # coming back towards its start
    if back is not None and cursor is None:
        rows = audit.entries_matching(uow.connection, where, beyond=back, ascending=not ascending, limit=limit + 1)
        earlier, later = len(rows) > limit, True
        rows = rows[:limit][::-1]
    else:
        rows = audit.entries_matching(uow.connection, where, beyond=cursor, ascending=ascending, limit=limit + 1)
        earlier, later = cursor is not None, len(rows) > limit
        rows = rows[:limit]
    read = {"order": order, "after": after, "before": before, "actor": where.actor, "action": where.action}
    read["day"] = None if where.day is None else where.day.isoformat()
    _audit_read(uow, auditor, rows, {k: v for k, v in read.items() if v is not None})
    return TrailPage([_present(r) for r in rows], earlier, later)


def filters(uow: UnitOfWork) -> tuple[list[str], list[str]]:
    """The actions and actors of the trail's newest entries (what an auditor may filter by; store.audit.trail_names)."""
    return audit.trail_names(uow.connection)


def _audit_read(uow: UnitOfWork, auditor: Actor, rows: list[Any], asked: dict[str, Any]) -> None:
    if any(r.subject_id is not None for r in rows):
        detail = {**asked, "entries": len(rows)}
        uow.audit(audit.AuditEntry(auditor.role, auditor.name, "audit.read", "audit", None, detail))


def _present(r: Any) -> dict[str, Any]:
    """An entry as auditors see it: subjects by their surrogate id only."""
    return {
        "id": r.id, "at": utc_iso(r.at), "actor_role": r.actor_role, "actor": r.actor, "action": r.action,
        "subject": r.subject_id, "purpose": r.purpose, "detail": r.detail,
        "prev_hash": bytes(r.prev_hash).hex(), "hash": bytes(r.hash).hex(),
    }  # fmt: skip
