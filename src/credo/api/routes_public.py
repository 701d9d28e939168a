"""What anyone may read without a token: the published rulebook and the public lists."""

from __future__ import annotations

import asyncio
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from credo.api.context import PUBLIC, ApiContext, context, role_extra
from credo.api.problems import Problem
from credo.domain.lists import publication
from credo.store.audit import AuditEntry
from credo.store.clock import utc_iso
from credo.store.lookup import last_change
from credo.store.rulebooks import list_versions, rulebook_at
from credo.store.scoring import current_state
from credo.store.tables import rulebook_versions

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
async def rulebook(ctx: Annotated[ApiContext, Depends(context)]) -> RulebookText:
    today = ctx.today()
    with ctx.begin() as connection:
        version, _ = rulebook_at(connection, today)
        row = connection.execute(sa.select(rulebook_versions).where(rulebook_versions.c.version == version)).one()
        since = next(
            (max(d for d in v.active_from if d <= today) for v in list_versions(connection) if v.version == version),
        )
    return RulebookText(
        version=row.version,
        name=row.name,
        effective_from=row.effective_from.isoformat(),
        checksum=row.checksum,
        in_force_since=since.isoformat(),
        content=row.content,
    )


@router.get(
    "/rulebook/versions",
    summary="Every published version and when each was activated",
    response_model=list[VersionInfo],
    openapi_extra=role_extra(PUBLIC, personal=False),
)
async def versions(ctx: Annotated[ApiContext, Depends(context)]) -> list[VersionInfo]:
    with ctx.begin() as connection:
        found = list_versions(connection)
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


@router.get(
    "/lists/{list_id}",
    summary="Is the subject on this public list? (red lists; black lists within their publication period)",
    response_model=ListAnswer,
    openapi_extra=role_extra(PUBLIC, personal=True),
)
async def on_list(
    list_id: Annotated[str, Path(max_length=100)],
    subject: Annotated[str, Query(min_length=1, max_length=64, description="The subject's identifier")],
    ctx: Annotated[ApiContext, Depends(context)],
) -> ListAnswer:
    answer, subject_id = await asyncio.to_thread(_look_up, ctx, list_id, subject)  # may rescore: off the event loop
    # Every lookup that found a published entry is a read of personal data; one that found none reveals nothing.
    if subject_id is not None:
        await ctx.audit(
            AuditEntry("public", "public", "list.lookup", f"public list {list_id}", subject_id, {"list": list_id})
        )
    return answer


def _look_up(ctx: ApiContext, list_id: str, subject: str) -> tuple[ListAnswer, int | None]:
    today = ctx.today()
    with ctx.begin() as connection:
        _, book = ctx.book(connection, today)
        lst = next((x for x in book.lists if x.id == list_id), None)
        if lst is None:
            raise Problem("not-found", f"the rulebook in force defines no list {list_id}")
        answer = ListAnswer(list=lst.id, kind=lst.kind, title=lst.title, legal_basis=lst.legal_basis, listed=False)
        found = ctx.subject_ids(connection, subject)
        subject_id = None
        for sid, _kind in found:
            state = current_state(connection, sid, today)
            if lst.id not in state.lists:
                continue
            since = last_change(connection, sid, "list", lst.id, now_on=True)
            until = publication(lst, since, today)
            if until is not False:
                subject_id = sid
                answer.listed = True
                answer.since = None if since is None else since.isoformat()
                answer.published_until = None if until is None else until.isoformat()
    return answer, subject_id
