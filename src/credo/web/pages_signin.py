"""Signing in with a one-time link, the signed-in person's page, and signing out.

Opening a link does not use it (a mail scanner or a link preview may open it first); the person presses
Continue, which posts the code back and starts the session (docs/web.md, "Signing in").
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from credo.api.context import ContextDep
from credo.domain.identifiers import mask_identifier
from credo.services import signin
from credo.web import pages_oidc
from credo.web import session as sessions
from credo.web.render import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

MAX_CODE = 100


def _unusable(request: Request) -> HTMLResponse:
    return render(request, "signin_unusable.html", status_code=404)


@router.get("/signin", response_class=HTMLResponse)
async def how_to_sign_in(request: Request) -> HTMLResponse:
    """How to get a sign-in link, and the button of the OpenID Connect provider when one is configured."""
    return render(request, "signin.html", provider=pages_oidc.provider_name(request))


@router.get("/signin/{code}", response_class=HTMLResponse)
async def signin_page(request: Request, ctx: ContextDep, code: str) -> HTMLResponse:
    """The link's landing page: what it signs in as, and a Continue button (the link is not used yet)."""
    role = None if len(code) > MAX_CODE else await ctx.run_read(lambda uow: signin.link_role(uow, code))
    if role is None:
        return _unusable(request)
    return render(request, "signin_continue.html", role=role, code=code)


@router.post("/signin/{code}", response_class=HTMLResponse)
async def signin_post(request: Request, ctx: ContextDep, code: str) -> Response:
    """Use the link: a session starts, and the person goes to their page."""
    if sessions.forgery(request, None, None):
        return render(request, "forbidden.html", status_code=403)
    started = None if len(code) > MAX_CODE else await ctx.run_write(lambda uow: signin.sign_in(uow, code))
    if started is None:
        return _unusable(request)
    response = RedirectResponse("/account", status_code=303)
    sessions.start(request, response, started.token)
    return response


@router.get("/account", response_class=HTMLResponse)
async def account(request: Request, ctx: ContextDep) -> Response:
    """Who is signed in, and signing out."""
    found = await sessions.current(request, ctx)
    if found is None:
        return sessions.to_signin()
    who = found.principal
    shown = mask_identifier(who.name) if who.role == "subject" else who.name
    return render(request, "account.html", role=who.role, shown=shown, csrf=found.csrf)


@router.post("/signout", response_class=HTMLResponse)
async def signout(request: Request, ctx: ContextDep) -> Response:
    """End the session (the form carries the session's token)."""
    found = await sessions.current(request, ctx)
    posted = (await request.form()).get(sessions.CSRF_FIELD)
    if sessions.forgery(request, found, posted if isinstance(posted, str) else None):
        return render(request, "forbidden.html", status_code=403)
    token = request.cookies.get(sessions.COOKIE, "")
    if found is not None:
        await ctx.run_write(lambda uow: signin.sign_out(uow, token, found))
    response = RedirectResponse("/signed-out", status_code=303)
    sessions.end(response)
    return response


@router.get("/signed-out", response_class=HTMLResponse)
async def signed_out(request: Request) -> HTMLResponse:
    return render(request, "signed_out.html")
