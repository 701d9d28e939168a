"""Auditors read the audit trail (pseudonymised) and check its hash chain."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from credo.api.context import Caller, role_extra, roles
from credo.services import audit
from credo.services.actor import Actor

router = APIRouter(prefix="/v1", tags=["auditors"])  # the prefix here, so routes know their full path (metrics)
Auditor = Annotated[Caller, Depends(roles("auditor"))]


@router.get(
    "/audit/verify", summary="Check the audit trail's hash chain", openapi_extra=role_extra("auditor", personal=False)
)
async def verify_chain(caller: Auditor) -> dict[str, Any]:
    report = await audit.check(caller.ctx, Actor("auditor", caller.id))
    return report.to_json()


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
    auditor = Actor("auditor", caller.id)
    return await caller.ctx.run_read(lambda uow: audit.entries(uow, auditor, after, limit))
