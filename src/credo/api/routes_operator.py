"""Operators: sources, relying parties, quarantine, statistics, rescoring. Every action is in the audit trail."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field

from credo.api.context import Caller, role_extra, roles
from credo.api.params import TextIn
from credo.services import administration, ingest, operations, rescoring
from credo.services.actor import Actor

router = APIRouter(prefix="/v1", tags=["operators"])  # the prefix here, so routes know their full path (metrics)
OPERATOR = roles("operator")
Operator = Annotated[Caller, Depends(OPERATOR)]
Id = Annotated[str, Path(max_length=100)]


class SourceIn(TextIn):
    id: str = Field(max_length=100)
    categories: list[Annotated[str, Field(max_length=200)]] = Field(min_length=1, max_length=200)
    title: str | None = Field(default=None, max_length=500)
    legal_basis: str | None = Field(default=None, max_length=2000)


class RelyingIn(TextIn):
    id: str = Field(max_length=100)
    measures: list[Annotated[str, Field(max_length=100)]] = Field(min_length=1, max_length=200)
    title: str | None = Field(default=None, max_length=500)


@router.get("/sources", summary="Registered sources", openapi_extra=role_extra("operator", personal=False))
async def sources(caller: Operator) -> list[dict[str, Any]]:
    found = await caller.ctx.run_read(administration.list_sources)
    return [administration.source_json(s) for s in found]


@router.post(
    "/sources", summary="Register a source", status_code=201, openapi_extra=role_extra("operator", personal=False)
)
async def register_source(body: SourceIn, caller: Operator) -> dict[str, Any]:
    new = administration.SourceIn(body.id, body.categories, body.title, body.legal_basis)
    made = await caller.ctx.run_write(lambda uow: administration.add_source(uow, _operator(caller), new))
    caller.ctx.forget("source", made.id)
    return administration.source_json(made)


@router.post(
    "/sources/{source_id}/disable", summary="Disable a source", openapi_extra=role_extra("operator", personal=False)
)
async def disable_a_source(source_id: Id, caller: Operator) -> dict[str, Any]:
    changed = await caller.ctx.run_write(lambda uow: administration.disable_source(uow, _operator(caller), source_id))
    caller.ctx.forget("source", source_id)
    return {"id": source_id, "enabled": False, "changed": changed}


class CategoriesIn(TextIn):
    categories: list[Annotated[str, Field(max_length=200)]] = Field(min_length=1, max_length=200)


@router.post(
    "/sources/{source_id}/categories",
    summary="Let a source report more categories",
    openapi_extra=role_extra("operator", personal=False),
)
async def allow_source_categories(source_id: Id, body: CategoriesIn, caller: Operator) -> dict[str, Any]:
    changed = await caller.ctx.run_write(
        lambda uow: administration.allow_categories(uow, _operator(caller), source_id, body.categories)
    )
    caller.ctx.forget("source", source_id)
    return {"id": changed.id, "categories": list(changed.categories), "enabled": changed.enabled}


@router.get(
    "/relying",
    summary="Registered relying parties and their measures",
    openapi_extra=role_extra("operator", personal=False),
)
async def relying(caller: Operator) -> list[dict[str, Any]]:
    return [p.to_json() for p in await caller.ctx.run_read(administration.list_relying)]


@router.post(
    "/relying",
    summary="Register a relying party for measures",
    status_code=201,
    openapi_extra=role_extra("operator", personal=False),
)
async def register_relying(body: RelyingIn, caller: Operator) -> dict[str, Any]:
    party = await caller.ctx.run_write(
        lambda uow: administration.add_relying(uow, _operator(caller), body.id, body.measures, body.title)
    )
    caller.ctx.forget("relying", party.id)
    return party.to_json()


@router.post(
    "/relying/{relying_id}/disable",
    summary="Disable a relying party",
    openapi_extra=role_extra("operator", personal=False),
)
async def disable_a_relying(relying_id: Id, caller: Operator) -> dict[str, Any]:
    changed = await caller.ctx.run_write(lambda uow: administration.disable_relying(uow, _operator(caller), relying_id))
    caller.ctx.forget("relying", relying_id)
    return {"id": relying_id, "enabled": False, "changed": changed}


def _operator(caller: Caller) -> Actor:
    return Actor("operator", caller.id)


@router.get(
    "/quarantine",
    summary="Quarantined records (identifiers masked)",
    openapi_extra=role_extra("operator", personal=True),
)
async def quarantine(caller: Operator, include_resolved: Annotated[bool, Query()] = False) -> list[dict[str, object]]:
    entries = await caller.ctx.run_read(
        lambda uow: operations.quarantine(uow, _operator(caller), include_resolved=include_resolved)
    )
    return [e.as_json() for e in entries]


@router.post(
    "/quarantine/retry",
    summary="Process every open quarantined record again",
    openapi_extra=role_extra("operator", personal=False),
)
async def retry(caller: Operator) -> dict[str, Any]:
    ctx = caller.ctx
    summary = await asyncio.to_thread(ingest.retry, ctx.store, _operator(caller), today=ctx.today())
    return {"retried": summary.retried, "resolved": summary.resolved, "still_open": summary.still_open}


@router.get(
    "/stats",
    summary="Grade distribution, list sizes, measures in force",
    openapi_extra=role_extra("operator", "auditor", personal=False),
)
async def stats(caller: Annotated[Caller, Depends(roles("operator", "auditor"))]) -> dict[str, Any]:
    return await caller.ctx.run_read(operations.statistics)


@router.post(
    "/rescore",
    summary="Rescore every subject from its stored records",
    openapi_extra=role_extra("operator", personal=False),
)
async def rescore(caller: Operator) -> dict[str, Any]:
    ctx = caller.ctx
    summary = await asyncio.to_thread(rescoring.rescore, ctx.store, _operator(caller), today=ctx.today())
    detail = {"subjects": summary.subjects, "changed": summary.changed, "events": summary.events}
    return {**detail, "seconds": round(summary.seconds, 3)}
