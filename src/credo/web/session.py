"""Who is signed in to the pages, and the checks every form post passes.

The session is a random token in an HttpOnly, SameSite=Lax cookie (Secure over https), looked up on each
request (:func:`credo.services.signin.session_of`, which also ends it when idle). Every form a signed-in
person posts carries the session's own CSRF token; every post, signed in or not, must come from this origin
(``Origin``, or ``Referer`` when a browser sends no ``Origin``).
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from credo.api.context import ApiContext
from credo.services import signin
from credo.services.signin import Session

__all__ = ["COOKIE", "CSRF_FIELD", "current", "current_as", "end", "forgery", "start", "to_signin"]

COOKIE = "credo_session"
CSRF_FIELD = "csrf"


async def current(request: Request, ctx: ApiContext) -> Session | None:
    """The live session of this request's cookie, or None."""
    token = request.cookies.get(COOKIE)
    if not token or len(token) > 100:
        return None
    return await ctx.run_read(lambda uow: signin.session_of(uow, token))


async def current_as(request: Request, ctx: ApiContext, role: str) -> Session | None:
    """The live session of this request when it is signed in as ``role``, else None (every page of a role)."""
    found = await current(request, ctx)
    return found if found is not None and found.principal.role == role else None


def to_signin() -> RedirectResponse:
    """Where anyone not signed in as a page's role is sent."""
    return RedirectResponse("/signin", status_code=303)


def start(request: Request, response: Response, token: str) -> None:
    """Give the browser the session's cookie."""
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="lax", secure=request.url.scheme == "https", path="/",
        max_age=int(signin.LIFETIME.total_seconds()),
    )  # fmt: skip


def end(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/")


def _same_origin(request: Request) -> bool:
    sent = request.headers.get("origin") or request.headers.get("referer")
    if not sent or sent == "null":
        return False
    parts = urlsplit(sent)
    return (parts.scheme, parts.netloc) == (request.url.scheme, request.url.netloc)


def forgery(request: Request, session: Session | None, posted: str | None) -> bool:
    """Whether a form post must be refused: from another origin, or (signed in) without the session's token."""
    if not _same_origin(request):
        return True
    return session is not None and not hmac.compare_digest(posted or "", session.csrf)
