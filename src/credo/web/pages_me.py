"""A signed-in subject's notices, its consent to be scored, and its e-mail address for notices (docs/web.md).

Each page calls the service its API route calls (``GET /v1/me/notices``, ``GET``/``POST /v1/me/consent``,
``GET``/``PUT``/``DELETE /v1/me/contact``), so it reads, writes and audits exactly as the API does. Forms are
GOV.UK question pages: validated on the server, an error summary on top, then post/redirect/get.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from credo.api.context import ApiContext, ContextDep
from credo.domain.identifiers import problem_with_identifier
from credo.domain.outbound import email_problem
from credo.errors import NoActiveRulebookError, NotFoundError
from credo.services import delivery, subjects
from credo.services.signin import Session
from credo.web import session as sessions
from credo.web.render import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

CONSENT_CHOICES = {"yes": True, "no": False}
DONE = ("saved", "removed")  # what /me/email says it just did


async def _signed_form(request: Request, ctx: ApiContext) -> tuple[Session, dict[str, str]] | Response:
    """A subject's form post: its session and text fields; or the answer refusing it (from another origin,
    without the session's token: 403; anyone but a subject: the sign-in page)."""
    found = await sessions.current_as(request, ctx, "subject")
    form = await request.form()
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    if sessions.forgery(request, found, fields.get(sessions.CSRF_FIELD)):
        return render(request, "forbidden.html", status_code=403)
    if found is None:
        return sessions.to_signin()
    return found, fields


# -- notices -----------------------------------------------------------------------------------------


@router.get("/me/notices", response_class=HTMLResponse)
async def my_notices(request: Request, ctx: ContextDep) -> Response:
    """The subject's notices, newest first."""
    found = await sessions.current_as(request, ctx, "subject")
    if found is None:
        return sessions.to_signin()
    who = found.principal
    try:
        read = await ctx.run_read(lambda uow: subjects.own_notices(uow, who.name, who.kind), in_thread=True)
    except NotFoundError:
        read = {"notices": []}
    return render(request, "me_notices.html", notices=read["notices"])


# -- consent -----------------------------------------------------------------------------------------


def _is_person(found: Session) -> bool:
    who = found.principal
    return who.kind in (None, "person") and problem_with_identifier(who.name, "person") is None


async def _consent_page(request: Request, ctx: ApiContext, found: Session, error: str | None = None) -> Response:
    who = found.principal
    if not _is_person(found):
        return render(request, "me_consent.html", organisation=True, view=None, csrf=found.csrf, error=None)
    try:
        view = await ctx.run_read(lambda uow: subjects.own_consent(uow, who.name), in_thread=True)
    except NoActiveRulebookError:
        view = None
    status = 400 if error else 200
    values: dict[str, Any] = {"organisation": False, "view": view, "csrf": found.csrf, "error": error}
    return render(request, "me_consent.html", status_code=status, **values)


@router.get("/me/consent", response_class=HTMLResponse)
async def my_consent(request: Request, ctx: ContextDep) -> Response:
    """Where the subject stands, what consent changes, and the question: do you agree to be scored?"""
    found = await sessions.current_as(request, ctx, "subject")
    if found is None:
        return sessions.to_signin()
    return await _consent_page(request, ctx, found)


@router.post("/me/consent", response_class=HTMLResponse)
async def change_consent(request: Request, ctx: ContextDep) -> Response:
    """Give or withdraw consent from today, then the confirmation."""
    posted = await _signed_form(request, ctx)
    if isinstance(posted, Response):
        return posted
    found, fields = posted
    if not _is_person(found):
        return await _consent_page(request, ctx, found)
    choice = fields.get("given", "")
    if choice not in CONSENT_CHOICES:
        return await _consent_page(request, ctx, found, error="choose")
    who, given = found.principal, CONSENT_CHOICES[choice]
    try:
        await ctx.run_write(lambda uow: subjects.set_consent_of(uow, who.name, given))
    except NoActiveRulebookError:
        return await _consent_page(request, ctx, found)
    return RedirectResponse(f"/me/consent/saved?given={choice}", status_code=303)


@router.get("/me/consent/saved", response_class=HTMLResponse)
async def consent_saved(request: Request, ctx: ContextDep, given: str = "") -> Response:
    """The confirmation: what the subject chose, and what it means from today."""
    found = await sessions.current_as(request, ctx, "subject")
    if found is None:
        return sessions.to_signin()
    if given not in CONSENT_CHOICES:
        return RedirectResponse("/me/consent", status_code=303)
    return render(request, "me_consent_saved.html", given=CONSENT_CHOICES[given])


# -- e-mail address ----------------------------------------------------------------------------------


@router.get("/me/email", response_class=HTMLResponse)
async def my_email(request: Request, ctx: ContextDep, done: str = "") -> Response:
    """The address notices go to, if any, and the question: which address?"""
    found = await sessions.current_as(request, ctx, "subject")
    if found is None:
        return sessions.to_signin()
    who = found.principal
    try:
        current = await ctx.run_read(lambda uow: delivery.own_contact(uow, who.name, who.kind))
    except NotFoundError:
        current = None
    values: dict[str, Any] = {"current": current, "typed": "", "error": None, "done": done if done in DONE else None}
    return render(request, "me_email.html", csrf=found.csrf, **values)


@router.post("/me/email", response_class=HTMLResponse)
async def set_email(request: Request, ctx: ContextDep) -> Response:
    """Keep the address (checked here first, so a mistake is shown beside the field), then back to the page."""
    posted = await _signed_form(request, ctx)
    if isinstance(posted, Response):
        return posted
    found, fields = posted
    typed = fields.get("email", "").strip()
    error = "empty" if not typed else ("format" if email_problem(typed) is not None else None)
    if error is not None:
        values: dict[str, Any] = {"current": None, "typed": typed[:300], "error": error, "done": None}
        return render(request, "me_email.html", status_code=400, csrf=found.csrf, **values)
    who = found.principal
    await ctx.run_write(lambda uow: delivery.set_contact(uow, who.name, who.kind, typed))
    return RedirectResponse("/me/email?done=saved", status_code=303)


@router.get("/me/email/remove", response_class=HTMLResponse)
async def remove_email_question(request: Request, ctx: ContextDep) -> Response:
    """Are you sure? What removing the address changes."""
    found = await sessions.current_as(request, ctx, "subject")
    if found is None:
        return sessions.to_signin()
    return render(request, "me_email_remove.html", csrf=found.csrf)


@router.post("/me/email/remove", response_class=HTMLResponse)
async def remove_email(request: Request, ctx: ContextDep) -> Response:
    """Forget the address; there was none: back to the page, nothing done."""
    posted = await _signed_form(request, ctx)
    if isinstance(posted, Response):
        return posted
    found, _ = posted
    who = found.principal
    try:
        await ctx.run_write(lambda uow: delivery.remove_own_contact(uow, who.name, who.kind))
    except NotFoundError:
        return RedirectResponse("/me/email", status_code=303)
    return RedirectResponse("/me/email?done=removed", status_code=303)
