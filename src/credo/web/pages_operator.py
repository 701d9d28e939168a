"""The operators' console: an overview with the store's figures, and the registers of sources and relying
parties (add, allow categories, disable), through the services the API's operator routes call.

Every page is for a signed-in operator only (anyone else goes to the sign-in page); every form carries the
session's CSRF token, is checked on the server (GOV.UK's error summary) and is followed by a redirect.
The quarantine and deliveries are in :mod:`credo.web.pages_operator_queues`, rulebooks in
:mod:`credo.web.pages_operator_rulebooks`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from credo.api.context import ApiContext, ContextDep
from credo.errors import CredoError
from credo.services import administration, audit, operations
from credo.services.actor import Actor
from credo.services.signin import Session
from credo.services.unit_of_work import UnitOfWork
from credo.web import session as sessions
from credo.web.render import render

__all__ = ["Visit", "field", "operator_visit", "router"]

router = APIRouter(include_in_schema=False)

MAX_ID = 100  # as the API's models allow
MAX_TITLE = 500
MAX_LEGAL_BASIS = 2000
MAX_ITEMS = 200
MAX_CATEGORY = 200
_ITEM = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class Visit:
    """A signed-in operator's request: the session, the operator as the audit trail names it, a posted form."""

    session: Session
    form: FormData | None = None

    @property
    def actor(self) -> Actor:
        return Actor("operator", self.session.principal.name)

    @property
    def csrf(self) -> str:
        return self.session.csrf


async def operator_visit(
    request: Request, ctx: ApiContext, *, post: bool = False, max_part_size: int = 1024 * 1024
) -> Visit | Response:
    """The operator's visit, or the answer for anyone else: the sign-in page (303), or 403 for a forged post."""
    found = await sessions.current(request, ctx)
    form = await request.form(max_files=1, max_fields=20, max_part_size=max_part_size) if post else None
    if form is not None:
        posted = form.get(sessions.CSRF_FIELD)
        if sessions.forgery(request, found, posted if isinstance(posted, str) else None):
            await form.close()  # an uploaded file, spooled to disk, goes at once
            return render(request, "forbidden.html", status_code=403)
    if found is None or found.principal.role != "operator":
        if form is not None:
            await form.close()
        return sessions.to_signin()
    return Visit(found, form)


def field(form: FormData | None, name: str) -> str:
    """A posted text field, stripped ('' when missing or a file)."""
    value = None if form is None else form.get(name)
    return value.strip() if isinstance(value, str) else ""


def items(text: str) -> list[str]:
    """Categories or measures typed one a line, or separated by commas or spaces."""
    return [part for part in _ITEM.split(text) if part]


# -- the overview ------------------------------------------------------------------------------


@router.get("/operator", response_class=HTMLResponse)
async def overview(request: Request, ctx: ContextDep) -> Response:
    """Where to go, and the store's figures (``GET /v1/stats``)."""
    visit = await operator_visit(request, ctx)
    if not isinstance(visit, Visit):
        return visit
    figures = await ctx.run_read(operations.statistics)
    return render(request, "operator.html", figures=figures)


@router.get("/operator/audit", response_class=HTMLResponse)
async def audit_chain(request: Request, ctx: ContextDep) -> Response:
    """The state of the audit chain: its head, and the auditors' latest checks (only an auditor walks it)."""
    visit = await operator_visit(request, ctx)
    if not isinstance(visit, Visit):
        return visit
    state = await ctx.run_read(audit.chain_state)
    return render(request, "operator_audit.html", state=state)


# -- sources and relying parties --------------------------------------------------------------

# A register's role (as the lookups cache names it), its page, its form, and the field that lists what it may do.
_REGISTERS = {
    "sources": ("source", "operator_sources.html", "operator_source_new.html", "categories"),
    "relying": ("relying", "operator_relying.html", "operator_relying_new.html", "measures"),
}


@router.get("/operator/sources", response_class=HTMLResponse)
async def sources(request: Request, ctx: ContextDep) -> Response:
    """Every registered source with its categories; adding one, allowing categories, disabling."""
    return await _register_page(request, ctx, "sources")


@router.get("/operator/relying", response_class=HTMLResponse)
async def relying(request: Request, ctx: ContextDep) -> Response:
    """Every registered relying party with its measures; adding one, disabling."""
    return await _register_page(request, ctx, "relying")


async def _register_page(request: Request, ctx: ApiContext, kind: str) -> Response:
    visit = await operator_visit(request, ctx)
    if not isinstance(visit, Visit):
        return visit
    found: list[Any] = await ctx.run_read(
        administration.list_sources if kind == "sources" else administration.list_relying
    )
    done = request.query_params.get("done", "")[:20]
    party = request.query_params.get("id", "")
    if not any(p.id == party for p in found):
        done = ""  # a link cannot make the page say something was done to a party that is not there
    return render(request, _REGISTERS[kind][1], parties=found, done=done, party=party)


@router.get("/operator/sources/new", response_class=HTMLResponse)
async def new_source(request: Request, ctx: ContextDep) -> Response:
    return await _empty_form(request, ctx, "sources")


@router.get("/operator/relying/new", response_class=HTMLResponse)
async def new_relying(request: Request, ctx: ContextDep) -> Response:
    return await _empty_form(request, ctx, "relying")


async def _empty_form(request: Request, ctx: ApiContext, kind: str) -> Response:
    visit = await operator_visit(request, ctx)
    if not isinstance(visit, Visit):
        return visit
    return render(request, _REGISTERS[kind][2], csrf=visit.csrf, values={}, errors={}, error=None)


@router.post("/operator/sources/new", response_class=HTMLResponse)
async def add_source(request: Request, ctx: ContextDep) -> Response:
    """Register a source (``POST /v1/sources``): the same checks, the same audit entry."""
    visit = await operator_visit(request, ctx, post=True)
    if not isinstance(visit, Visit):
        return visit
    values = {k: field(visit.form, k) for k in ("id", "categories", "title", "legal_basis")}
    errors = _party_errors(values, "categories", MAX_CATEGORY)
    if len(values["legal_basis"]) > MAX_LEGAL_BASIS:
        errors["legal_basis"] = "long"
    new = administration.SourceIn(
        values["id"], items(values["categories"]), values["title"] or None, values["legal_basis"] or None
    )
    return await _register(
        request, ctx, visit, ("sources", values, errors), lambda uow: administration.add_source(uow, visit.actor, new)
    )


@router.post("/operator/relying/new", response_class=HTMLResponse)
async def add_relying(request: Request, ctx: ContextDep) -> Response:
    """Register a relying party for measures (``POST /v1/relying``): the same checks, the same audit entry."""
    visit = await operator_visit(request, ctx, post=True)
    if not isinstance(visit, Visit):
        return visit
    values = {k: field(visit.form, k) for k in ("id", "measures", "title")}
    errors = _party_errors(values, "measures", MAX_ID)
    measures = items(values["measures"])

    def add(uow: UnitOfWork) -> Any:
        return administration.add_relying(uow, visit.actor, values["id"], measures, values["title"] or None)

    return await _register(request, ctx, visit, ("relying", values, errors), add)


async def _register(
    request: Request,
    ctx: ApiContext,
    visit: Visit,
    posted: tuple[str, dict[str, str], dict[str, str]],
    add: Callable[[UnitOfWork], Any],
) -> Response:
    """Register (``add``) when the fields are right, then back to the register; else the form with what is wrong.

    ``posted``: the register (``sources``, ``relying``), the fields as typed, and what is wrong with them.
    """
    kind, values, errors = posted
    role, _, form, listed = _REGISTERS[kind]
    if not errors:
        try:
            made = await ctx.run_write(add)
        except CredoError as exc:
            errors = _refused(exc, listed)
        else:
            ctx.forget(role, made.id)
            return RedirectResponse(f"/operator/{kind}?done=added&id={made.id}", status_code=303)
    return render(request, form, status_code=400, csrf=visit.csrf, values=values, errors=errors, error=True)


def _refused(exc: CredoError, listed: str) -> dict[str, str]:
    """The service's refusal, beside the field it is about: the id when it is taken, else the list."""
    message = str(exc)
    return {"id" if "already registered" in message else listed: message}


@router.get("/operator/sources/{source_id}/categories", response_class=HTMLResponse)
async def source_categories(request: Request, ctx: ContextDep, source_id: str) -> Response:
    visit = await operator_visit(request, ctx)
    if not isinstance(visit, Visit):
        return visit
    source = await _source(ctx, source_id)
    if source is None:
        return render(request, "not_found.html", status_code=404)
    return render(request, "operator_source_allow.html", csrf=visit.csrf, source=source, value="", error=None)


@router.post("/operator/sources/{source_id}/categories", response_class=HTMLResponse)
async def allow_categories(request: Request, ctx: ContextDep, source_id: str) -> Response:
    """Let a source report more categories (``POST /v1/sources/{id}/categories``)."""
    visit = await operator_visit(request, ctx, post=True)
    if not isinstance(visit, Visit):
        return visit
    source = await _source(ctx, source_id)
    if source is None:
        return render(request, "not_found.html", status_code=404)
    value = field(visit.form, "categories")
    wanted = items(value)
    error: str | None = None
    if not wanted:
        error = "empty"
    elif len(wanted) > MAX_ITEMS or any(len(c) > MAX_CATEGORY for c in wanted):
        error = "long"
    else:
        try:
            await ctx.run_write(lambda uow: administration.allow_categories(uow, visit.actor, source_id, wanted))
        except CredoError as exc:
            error = str(exc)
        else:
            ctx.forget("source", source_id)
            return RedirectResponse(f"/operator/sources?done=allowed&id={source_id}", status_code=303)
    return render(
        request, "operator_source_allow.html", status_code=400, csrf=visit.csrf, source=source, value=value,
        error=error,
    )  # fmt: skip


async def _source(ctx: ApiContext, source_id: str) -> Any:
    if len(source_id) > MAX_ID:
        return None
    found = await ctx.run_read(administration.list_sources)
    return next((s for s in found if s.id == source_id), None)


def _party_errors(values: dict[str, str], listed: str, longest: int) -> dict[str, str]:
    """What is wrong with a new source's or relying party's fields: field -> a key the template words."""
    errors = {}
    if not values["id"]:
        errors["id"] = "empty"
    elif len(values["id"]) > MAX_ID:
        errors["id"] = "long"
    wanted = items(values[listed])
    if not wanted:
        errors[listed] = "empty"
    elif len(wanted) > MAX_ITEMS or any(len(x) > longest for x in wanted):
        errors[listed] = "long"
    if len(values["title"]) > MAX_TITLE:
        errors["title"] = "long"
    return errors


# -- disabling, with a confirmation ------------------------------------------------------------


@router.get("/operator/{kind}/{party_id}/disable", response_class=HTMLResponse)
async def confirm_disable(request: Request, ctx: ContextDep, kind: str, party_id: str) -> Response:
    """Are you sure? Disabling a source or relying party, before it is done."""
    visit = await operator_visit(request, ctx)
    if not isinstance(visit, Visit):
        return visit
    if kind not in ("sources", "relying") or not await _registered(ctx, kind, party_id):
        return render(request, "not_found.html", status_code=404)
    return render(request, "operator_disable.html", csrf=visit.csrf, kind=kind, party_id=party_id)


@router.post("/operator/{kind}/{party_id}/disable", response_class=HTMLResponse)
async def disable(request: Request, ctx: ContextDep, kind: str, party_id: str) -> Response:
    """Disable a source or relying party (``POST /v1/sources/{id}/disable``, ``/v1/relying/{id}/disable``)."""
    visit = await operator_visit(request, ctx, post=True)
    if not isinstance(visit, Visit):
        return visit
    if kind not in ("sources", "relying") or not await _registered(ctx, kind, party_id):
        return render(request, "not_found.html", status_code=404)
    if kind == "sources":
        await ctx.run_write(lambda uow: administration.disable_source(uow, visit.actor, party_id))
        ctx.forget("source", party_id)
    else:
        await ctx.run_write(lambda uow: administration.disable_relying(uow, visit.actor, party_id))
        ctx.forget("relying", party_id)
    return RedirectResponse(f"/operator/{kind}?done=disabled&id={party_id}", status_code=303)


async def _registered(ctx: ApiContext, kind: str, party_id: str) -> bool:
    if len(party_id) > MAX_ID:
        return False
    if kind == "sources":
        return any(s.id == party_id for s in await ctx.run_read(administration.list_sources))
    return any(p.id == party_id for p in await ctx.run_read(administration.list_relying))
