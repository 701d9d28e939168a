"""A subject's own report: score, reasons, forecast, lists, measures, and who asked about them."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from credo.api.context import ApiContext, role_extra, roles
from credo.domain.scoring import explain
from credo.store.audit import AuditEntry, entries_about
from credo.store.clock import utc_iso
from credo.store.decisions import decisions_about
from credo.store.errors import NotFoundError
from credo.store.notices import notices_of
from credo.store.scoring import current_state, load_subject_records, suppressed_records

router = APIRouter(prefix="/v1", tags=["subjects"])  # the prefix here, so routes know their full path (metrics)


@router.get(
    "/me/report",
    summary="Everything about the caller: score, grade, every record's part, forecast, lists, measures, decisions",
    openapi_extra=role_extra("subject"),
)
async def report(caller: Annotated[Any, Depends(roles("subject"))]) -> dict[str, Any]:
    ctx = caller.ctx
    today = ctx.today()
    reports = await asyncio.to_thread(
        _reports, ctx, caller.id, caller.kind, today
    )  # scoring and explaining: off the event loop
    await ctx.audit(
        *(AuditEntry("subject", "subject", "report.read", "subject's own report", sid, {}) for sid, _ in reports)
    )
    return {"as_of": today.isoformat(), "subjects": [body for _, body in reports]}


def _reports(ctx: ApiContext, identifier: str, kind: str | None, today: dt.date) -> list[tuple[int, dict[str, Any]]]:
    reports = []
    with ctx.begin() as connection:
        found = ctx.subject_ids(connection, identifier, kind)  # only the kind the token is for
        if not found:
            raise NotFoundError("Credo holds no record about you")
        _, book = ctx.book(connection, today)
        ids = [sid for sid, _ in found]
        for sid in ids:
            current_state(connection, sid, today)  # brought up to date, as credo score does
        loaded = load_subject_records(connection, ids)
        hidden = suppressed_records(connection, ids)
        for sid, found_kind in found:
            e = explain(book, str(sid), found_kind, loaded[sid][1], today, hidden.get(sid, frozenset()))
            body = replace(e, subject_id=identifier).to_json()
            body["decisions"] = decisions_about(connection, sid)
            body["accesses"] = [_access(row) for row in entries_about(connection, sid)]
            reports.append((sid, body))
    return reports


def _access(row: Any) -> dict[str, Any]:
    return {
        "at": utc_iso(row.at),
        "who": row.actor if row.actor_role != "subject" else "you",
        "role": row.actor_role,
        "action": row.action,
        "purpose": row.purpose,
    }


@router.get(
    "/me/notices",
    summary="What happened to you, why, and what you can do: records, changes of standing, disputes",
    openapi_extra=role_extra("subject"),
)
async def notices(caller: Annotated[Any, Depends(roles("subject"))]) -> dict[str, Any]:
    ctx = caller.ctx
    today = ctx.today()

    def gather() -> list[tuple[int, list[dict[str, Any]]]]:
        with ctx.begin() as connection:
            found = ctx.subject_ids(connection, caller.id, caller.kind)
            if not found:
                raise NotFoundError("Credo holds no record about you")
            _, book = ctx.book(connection, today)
            return [(sid, [n.to_json() for n in notices_of(connection, book, sid)]) for sid, _ in found]

    gathered = await asyncio.to_thread(gather)
    await ctx.audit(
        *(AuditEntry("subject", "subject", "notices.read", "subject's own notices", sid, {}) for sid, _ in gathered)
    )
    return {"as_of": today.isoformat(), "notices": [n for _, items in gathered for n in items]}
