"""What anyone may read without a token: the published rulebook and the public lists."""

from __future__ import annotations

import builtins
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from credo.api.context import PUBLIC, ContextDep, role_extra
from credo.services import lists, rulebooks
from credo.store.clock import utc_iso

router = APIRouter(prefix="/v1", tags=["public"])  # the prefix here, so routes know their full path (metrics)


class RulebookText(BaseModel):
    version: str
    name: str
    effective_from: str
    checksum: str
    in_force_since: str
    content: str


class VersionInfo(BaseModel):
    version: str
    name: str
    checksum: str
    effective_from: str
    published_at: str
    active_from: list[str]


class ListAnswer(BaseModel):
    list: str
    kind: str
    title: str
    legal_basis: str | None
    listed: bool
    since: str | None = None
    published_until: str | None = None


@router.get(
    "/rulebook",
    summary="The rulebook in force today, as published",
    response_model=RulebookText,
    openapi_extra=role_extra(PUBLIC, personal=False),
)
async def rulebook(ctx: ContextDep) -> RulebookText:
    return RulebookText(**await ctx.run_read(rulebooks.in_force))


@router.get(
    "/rulebook/versions",
    summary="Every published version and when each was activated",
    response_model=list[VersionInfo],
    openapi_extra=role_extra(PUBLIC, personal=False),
)
async def versions(ctx: ContextDep) -> list[VersionInfo]:
    found = await ctx.run_read(rulebooks.versions)
    return [
        VersionInfo(
            version=v.version,
            name=v.name,
            checksum=v.checksum,
            effective_from=v.effective_from.isoformat(),
            published_at=utc_iso(v.published_at),
            active_from=[d.isoformat() for d in v.active_from],
        )
        for v in found
    ]


class ListEntry(BaseModel):
    subject: str = Field(description="The subject's identifier, masked")
    kind: str
    since: str | None
    published_until: str | None


class ListPage(BaseModel):
    list: str
    kind: str
    title: str
    legal_basis: str | None
    as_of: str
    entries: builtins.list[ListEntry]  # builtins: the field `list` hides the type here
    offset: int
    limit: int
    next_offset: int | None = Field(description="Where the next page starts; null on the last page")


MAX_PAGE = 100


@router.get(
    "/lists/{list_id}",
    summary="Is the subject on this public list? Without subject: the list's published entries, page by page",
    response_model=ListAnswer | ListPage,
    openapi_extra=role_extra(PUBLIC, personal=True),
)
async def public_list(
    list_id: Annotated[str, Path(max_length=100)],
    ctx: ContextDep,
    subject: Annotated[
        str | None, Query(min_length=1, max_length=64, description="The subject's identifier; leave out to browse")
    ] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Browsing: entries to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Browsing: entries per page")] = MAX_PAGE,
) -> ListAnswer | ListPage:
    if subject is None:
        page = await ctx.run_read(lambda uow: lists.browse(uow, list_id, offset, limit), transaction=False)
        return ListPage(**page)
    answer = await ctx.run_read(lambda uow: lists.look_up(uow, list_id, subject), transaction=False)
    return ListAnswer(**answer)
