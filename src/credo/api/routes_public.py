"""What anyone may read without a token: the published rulebook and the public lists."""

from __future__ import annotations

import builtins
import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from credo.api.context import PUBLIC, ApiContext, context, role_extra
from credo.api.problems import Problem
from credo.domain.identifiers import mask_identifier
from credo.domain.lists import publication
from credo.domain.rulebook import ListDef
from credo.services import rulebooks
from credo.store.audit import AuditEntry
from credo.store.clock import utc_iso
from credo.store.list_members import members_of, on_list

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
    return RulebookText(**await ctx.run_read(rulebooks.in_force))


@router.get(
    "/rulebook/versions",
    summary="Every published version and when each was activated",
    response_model=list[VersionInfo],
    openapi_extra=role_extra(PUBLIC, personal=False),
)
async def versions(ctx: Annotated[ApiContext, Depends(context)]) -> list[VersionInfo]:
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
    ctx: Annotated[ApiContext, Depends(context)],
    subject: Annotated[
        str | None, Query(min_length=1, max_length=64, description="The subject's identifier; leave out to browse")
    ] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Browsing: entries to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Browsing: entries per page")] = MAX_PAGE,
) -> ListAnswer | ListPage:
    if subject is None:
        page, shown = _browse(ctx, list_id, offset, limit)
        if shown:  # the entries shown are personal data: the read is audited, one entry a page (no amplification)
            detail = {"list": list_id, "offset": offset, "subjects": shown}
            await ctx.audit(AuditEntry("public", "public", "list.browse", f"public list {list_id}", None, detail))
        return page
    answer, subject_id = _look_up(ctx, list_id, subject)
    # Every lookup that found a published entry is a read of personal data; one that found none reveals nothing.
    if subject_id is not None:
        await ctx.audit(
            AuditEntry("public", "public", "list.lookup", f"public list {list_id}", subject_id, {"list": list_id})
        )
    return answer


def _list(ctx: ApiContext, connection: Connection, list_id: str, today: dt.date) -> ListDef:
    _, book = ctx.book(connection, today)
    lst = next((x for x in book.lists if x.id == list_id), None)
    if lst is None:
        raise Problem("not-found", f"the rulebook in force defines no list {list_id}")
    return lst


def _look_up(ctx: ApiContext, list_id: str, subject: str) -> tuple[ListAnswer, int | None]:
    """The answer from the read model of list members only (ADR 0008): the same statements for any identifier.

    Nothing is computed or refreshed: a subject Credo holds records about and
    one it has never seen are both a miss in ``list_members`` unless on the list.
    """
    today = ctx.today()
    with ctx.read() as connection:
        lst = _list(ctx, connection, list_id, today)
        found = on_list(connection, lst.id, ctx.subject_keys(connection, subject))
    answer = ListAnswer(list=lst.id, kind=lst.kind, title=lst.title, legal_basis=lst.legal_basis, listed=False)
    subject_id = None
    for sid, since in found:
        until = publication(lst, since, today)
        if until is not False:
            subject_id = sid
            answer.listed = True
            answer.since = None if since is None else since.isoformat()
            answer.published_until = None if until is None else until.isoformat()
    return answer, subject_id


def _browse(ctx: ApiContext, list_id: str, offset: int, limit: int) -> tuple[ListPage, list[int]]:
    """A page of the entries public today, the most recent first, identifiers masked."""
    today = ctx.today()
    with ctx.read() as connection:
        lst = _list(ctx, connection, list_id, today)
        if lst.publish_for is None and lst.kind != "red":
            members = []  # a black list without a publication period is never public
        else:
            entered_from = None if lst.publish_for is None else today - dt.timedelta(days=lst.publish_for - 1)
            members = members_of(connection, lst.id, entered_from=entered_from, offset=offset, limit=limit + 1)
        ring = ctx.fresh_keys(connection)
        entries = []
        for m in members[:limit]:
            until = publication(lst, m.since, today)
            entries.append(
                ListEntry(
                    subject=mask_identifier(ring.decrypt(m.identifier_enc).decode()),
                    kind=m.kind,
                    since=None if m.since is None else m.since.isoformat(),
                    published_until=None if until is None or until is False else until.isoformat(),
                )
            )
    page = ListPage(
        list=lst.id, kind=lst.kind, title=lst.title, legal_basis=lst.legal_basis, as_of=today.isoformat(),
        entries=entries, offset=offset, limit=limit, next_offset=offset + limit if len(members) > limit else None,
    )  # fmt: skip
    return page, [m.subject_id for m in members[:limit]]
