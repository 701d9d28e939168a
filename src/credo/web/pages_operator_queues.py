"""The operators' queues: the quarantine of refused rows (filtered, one looked at, all tried again) and the
deliveries of notices (by state, a failed one tried again), through the services the API's routes call.

Quarantined rows are shown as the service gives them, identifiers masked; a control character a source
sent is shown escaped (``\\x1b``), never written into the page as it is.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from credo.api.context import ContextDep
from credo.errors import CredoError
from credo.services import delivery, ingest, operations
from credo.store.quarantine import QuarantineEntry, api_caller
from credo.web.pages_operator import Visit, operator_visit
from credo.web.render import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

STATES = ("failed", "pending", "delivered", "cancelled")
Text = Annotated[str, Query(max_length=200)]


def visible(value: object) -> str:
    """A raw value as text with every control character escaped (a terminal's escape, a NUL, a new line)."""
    text = value if isinstance(value, str) else "" if value is None else str(value)
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") if ord(c) < 0x10000 else c for c in text
    )


def source_of(entry: QuarantineEntry) -> str:
    """The source a quarantined row names (or that pushed it over the API), '' when none."""
    named = entry.raw.get("source")
    return api_caller(entry.file) or (named if isinstance(named, str) else "")


# -- the quarantine ----------------------------------------------------------------------------


@router.get("/operator/quarantine", response_class=HTMLResponse)
async def quarantine(
    request: Request,
    ctx: ContextDep,
    source: Text = "",
    reason: Text = "",
    resolved: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    """Quarantined rows (``GET /v1/quarantine``), narrowed by source, reason and whether resolved ones show."""
    visit = await operator_visit(request, ctx)
    if not isinstance(visit, Visit):
        return visit
    shown_resolved = resolved == "yes"
    entries = await ctx.run_read(lambda uow: operations.quarantine(uow, visit.actor, include_resolved=shown_resolved))
    sources = sorted({source_of(e) for e in entries} - {""})
    wanted = [
        e for e in entries
        if (not source or source_of(e) == source) and (not reason or reason.strip().lower() in e.reason.lower())
    ]  # fmt: skip
    rows = [{"entry": e, "source": visible(source_of(e)), "reason": visible(e.reason)} for e in wanted]
    done = request.query_params.get("done") == "retried"
    summary = {k: request.query_params.get(k, "")[:12] for k in ("retried", "resolved", "still_open")} if done else None
    return render(
        request, "operator_quarantine.html", rows=rows, total=len(entries), sources=sources, source=source,
        reason=reason, resolved=shown_resolved, csrf=visit.csrf, summary=summary,
    )  # fmt: skip


@router.get("/operator/quarantine/{entry_id}", response_class=HTMLResponse)
async def quarantined(request: Request, ctx: ContextDep, entry_id: str) -> Response:
    """One quarantined row: where it came from, why it was held, and its fields as read (identifiers masked)."""
    visit = await operator_visit(request, ctx)
    if not isinstance(visit, Visit):
        return visit
    entries = await ctx.run_read(lambda uow: operations.quarantine(uow, visit.actor, include_resolved=True))
    entry = next((e for e in entries if str(e.id) == entry_id), None)
    if entry is None:
        return render(request, "not_found.html", status_code=404)
    fields = [(visible(k), visible(v)) for k, v in entry.raw.items()]
    return render(
        request, "operator_quarantined.html", entry=entry, file=visible(entry.file), reason=visible(entry.reason),
        fields=fields, csrf=visit.csrf,
    )  # fmt: skip


@router.post("/operator/quarantine/retry", response_class=HTMLResponse)
async def retry(request: Request, ctx: ContextDep) -> Response:
    """Process every open quarantined row again (``POST /v1/quarantine/retry``, ``credo quarantine retry``)."""
    visit = await operator_visit(request, ctx, post=True)
    if not isinstance(visit, Visit):
        return visit
    try:
        summary = await asyncio.to_thread(ingest.retry, ctx.store, visit.actor, today=ctx.today())
    except CredoError as exc:
        return render(request, "operator_failed.html", status_code=409, message=str(exc), back="/operator/quarantine")
    counts = f"retried={summary.retried}&resolved={summary.resolved}&still_open={summary.still_open}"
    return RedirectResponse(f"/operator/quarantine?done=retried&{counts}", status_code=303)


# -- deliveries --------------------------------------------------------------------------------


@router.get("/operator/deliveries", response_class=HTMLResponse)
async def deliveries(
    request: Request, ctx: ContextDep, state: Annotated[str, Query(max_length=20)] = "failed"
) -> Response:
    """Notices and webhook calls by state (``GET /v1/deliveries``), the failed ones first offered."""
    visit = await operator_visit(request, ctx)
    if not isinstance(visit, Visit):
        return visit
    chosen = state if state in STATES else "failed"
    found: dict[str, Any] = await ctx.run_read(lambda uow: delivery.deliveries(uow, visit.actor, chosen))
    rows = [{**row, "last_error": visible(row["last_error"])} for row in found["deliveries"]]
    done = request.query_params.get("done") == "retried"
    retried = request.query_params.get("id", "")[:20] if done else ""
    return render(
        request, "operator_deliveries.html", counts=found["counts"], rows=rows, state=chosen, states=STATES,
        csrf=visit.csrf, retried=retried,
    )  # fmt: skip


@router.post("/operator/deliveries/{delivery_id}/retry", response_class=HTMLResponse)
async def retry_delivery(request: Request, ctx: ContextDep, delivery_id: str) -> Response:
    """Try a failed delivery once more (``POST /v1/deliveries/{id}/retry``)."""
    visit = await operator_visit(request, ctx, post=True)
    if not isinstance(visit, Visit):
        return visit
    if not delivery_id.isdigit() or len(delivery_id) > 18:
        return render(request, "not_found.html", status_code=404)
    number = int(delivery_id)
    try:
        await ctx.run_write(lambda uow: delivery.retry(uow, visit.actor, number))
    except CredoError as exc:
        return render(request, "operator_failed.html", status_code=409, message=str(exc), back="/operator/deliveries")
    return RedirectResponse(f"/operator/deliveries?done=retried&id={number}", status_code=303)
