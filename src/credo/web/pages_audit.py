"""The auditors' pages: the audit trail, filtered by actor, action and day, and the check of its hash chain.

The same services as ``GET /v1/audit/entries`` and ``GET /v1/audit/verify`` (credo.services.audit): the
trail shows subjects only by their surrogate id, a page that shows entries about subjects is itself an
``audit.read`` entry, and each check of the chain is an ``audit.verify`` entry. Like the API, only auditors:
the API lets no operator verify the chain, so neither do the pages.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from credo.api.context import ContextDep
from credo.services import audit
from credo.services.actor import Actor
from credo.web import session as sessions
from credo.web.render import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

PAGE = 50  # entries a page
MAX_ID = 2**62


@router.get("/audit", response_class=HTMLResponse)
async def trail(
    request: Request,
    ctx: ContextDep,
    *,
    actor: Annotated[str, Query(max_length=100)] = "",
    action: Annotated[str, Query(max_length=60)] = "",
    day: Annotated[str, Query(max_length=40)] = "",
    order: Literal["newest", "oldest"] = "newest",
    after: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
    before: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
) -> Response:
    """The trail, a page at a time, newest or oldest first, filtered; the filters are kept in the page links."""
    found = await sessions.current_as(request, ctx, "auditor")
    if found is None:
        return sessions.to_signin()
    actions, actors = await ctx.run_read(audit.filters, transaction=False)
    chosen = {"actor": actor.strip(), "action": action.strip(), "day": day.strip(), "order": order}
    for named, offered in ((chosen["actor"], actors), (chosen["action"], actions)):
        if named and named not in offered:  # older than the entries the choices are taken from: still offered
            offered.append(named)
    values: dict[str, Any] = {"actions": actions, "actors": actors, "chosen": chosen, "error": None, "page": None}
    when = _day(chosen["day"])
    if chosen["day"] and when is None:
        values["error"] = "day"
        return render(request, "audit.html", status_code=400, **values)
    where = audit.EntryFilter(chosen["actor"] or None, chosen["action"] or None, when)
    who = Actor("auditor", found.principal.name)
    page = await ctx.run_read(
        lambda uow: audit.trail(uow, who, where, order=order, after=after, before=before, limit=PAGE)
    )
    kept = {k: v for k, v in chosen.items() if v and not (k == "order" and v == "newest")}
    onward, back = ("after", "before") if order == "oldest" else ("before", "after")
    links = {}
    if page.entries and page.later:
        links["next"] = "/audit?" + urlencode({**kept, onward: page.entries[-1]["id"]})
    if page.entries and page.earlier:
        links["previous"] = "/audit?" + urlencode({**kept, back: page.entries[0]["id"]})
    if after is not None or before is not None:
        links["first"] = "/audit" + ("?" + urlencode(kept) if kept else "")
    values.update(page=page, links=links)
    return render(request, "audit.html", **values)


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


@router.get("/audit/verify", response_class=HTMLResponse)
async def verify_page(request: Request, ctx: ContextDep) -> Response:
    """What checking the chain does, and the button that does it."""
    found = await sessions.current_as(request, ctx, "auditor")
    if found is None:
        return sessions.to_signin()
    return render(request, "audit_verify.html", csrf=found.csrf, report=None)


@router.post("/audit/verify", response_class=HTMLResponse)
async def verify_now(request: Request, ctx: ContextDep) -> Response:
    """Walk the chain now and show the result (a check, not a change: the result is the post's answer)."""
    found = await sessions.current_as(request, ctx, "auditor")
    posted = (await request.form()).get(sessions.CSRF_FIELD)
    if sessions.forgery(request, found, posted if isinstance(posted, str) else None):
        return render(request, "forbidden.html", status_code=403)
    if found is None:
        return sessions.to_signin()
    report = await audit.check(ctx, Actor("auditor", found.principal.name))
    return render(request, "audit_verify.html", csrf=found.csrf, report=report.to_json())
