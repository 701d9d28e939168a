"""Auditors read the audit trail (pseudonymised) and check its hash chain."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query

from credo.api.context import ApiContext, role_extra, roles
from credo.store.audit import AuditEntry, ChainReport, verify
from credo.store.clock import utc_iso
from credo.store.errors import AuditChainError
from credo.store.tables import audit_log

router = APIRouter(prefix="/v1", tags=["auditors"])  # the prefix here, so routes know their full path (metrics)
Auditor = Annotated[Any, Depends(roles("auditor"))]


@router.get(
    "/audit/verify", summary="Check the audit trail's hash chain", openapi_extra=role_extra("auditor", personal=False)
)
async def verify_chain(caller: Auditor) -> dict[str, Any]:
    ctx = caller.ctx
    report = await asyncio.to_thread(_verify, ctx)
    try:
        await ctx.audit(AuditEntry("auditor", caller.id, "audit.verify", "audit", None, {"intact": report.intact}))
    except AuditChainError:  # the report says what is wrong; the check itself cannot be logged until it is mended
        if report.intact:
            raise
    return {
        "intact": report.intact,
        "entries": report.entries,
        "head": report.head.hex(),
        "broken_at": report.broken_at,
        "problem": report.problem,
    }


def _verify(ctx: ApiContext) -> ChainReport:
    """The whole chain, walked in a worker thread: it grows with every decision."""
    with ctx.begin() as connection:
        return verify(connection)


@router.get(
    "/audit/entries",
    summary="Audit entries after an id, oldest first",
    openapi_extra=role_extra("auditor", personal=True),
)
async def entries(
    caller: Auditor,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    ctx = caller.ctx
    with ctx.begin() as connection:
        rows = connection.execute(
            sa.select(audit_log).where(audit_log.c.id > after).order_by(audit_log.c.id).limit(limit)
        ).all()
    # Who looked at whom is personal data too: reading entries about subjects is itself in the trail (after
    # the entries read). Entries about no subject (such as these reads) are not, so paging to the end ends.
    if any(r.subject_id is not None for r in rows):
        detail = {"after": after, "entries": len(rows)}
        await ctx.audit(AuditEntry("auditor", caller.id, "audit.read", "audit", None, detail))
    return [
        {
            "id": r.id,
            "at": utc_iso(r.at),
            "actor_role": r.actor_role,
            "actor": r.actor,
            "action": r.action,
            "subject": r.subject_id,
            "purpose": r.purpose,
            "detail": r.detail,
            "prev_hash": bytes(r.prev_hash).hex(),
            "hash": bytes(r.hash).hex(),
        }
        for r in rows
    ]
