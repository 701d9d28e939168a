"""Signing in with an OpenID Connect provider: the authorization-code flow with PKCE (docs/web.md, ADR 0027).

``GET /signin/oidc/start`` (the button on /signin, a link) makes a state, a nonce and a PKCE verifier, keeps them in a
short-lived cookie encrypted under the store's keys, and sends the browser to the provider. The provider sends
it back to ``GET /signin/oidc/callback``, which checks the state, exchanges the code with the verifier, verifies
the ID token (:mod:`credo.adapters.oidc`) and starts the same session a sign-in link does
(:func:`credo.services.signin.sign_in_verified`). Whatever fails ends on a plain page
(``/signin/oidc/problem/...``) that names no one; the log says which step failed, never who.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
import re
import time

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from credo.adapters.oidc import OidcClient, OidcError, Provider
from credo.api.context import ApiContext, ContextDep
from credo.errors import KeyFileError
from credo.services import signin
from credo.web import session as sessions
from credo.web.render import render

__all__ = ["install", "provider_name", "router"]

router = APIRouter(include_in_schema=False)
logger = logging.getLogger("credo.web")

COOKIE = "credo_oidc"
PATH = "/signin/oidc"
WITHIN = 600  # seconds a person has to sign in at the provider
MAX_PARAM = 2000  # characters of a code or state taken from the provider's redirect
# why a sign-in did not complete -> the status of its page
PROBLEMS = {"denied": 403, "expired": 400, "failed": 400, "unknown": 403, "unavailable": 502, "off": 404}


def install(app: FastAPI) -> None:
    """Serve these pages, with the provider configured in the store's environment (a bad setting stops the start)."""
    ctx: ApiContext = app.state.ctx
    provider = Provider.from_env(ctx.store.environ)
    app.state.oidc = OidcClient(provider) if provider is not None else None
    app.include_router(router)


def _client(request: Request) -> OidcClient | None:
    client: OidcClient | None = getattr(request.app.state, "oidc", None)
    return client


def provider_name(request: Request) -> str | None:
    """The configured provider's name, for the sign-in page's button; None when there is none."""
    client = _client(request)
    return None if client is None else client.provider.name


def _problem(reason: str) -> RedirectResponse:
    response = RedirectResponse(f"{PATH}/problem/{reason}", status_code=303)
    response.delete_cookie(COOKIE, path=PATH)
    return response


@router.get(f"{PATH}/start", response_class=HTMLResponse)
async def start(request: Request, ctx: ContextDep) -> Response:
    """Begin: a state, nonce and verifier kept in an encrypted cookie; the browser goes to the provider.

    A link, not a form: the pages' Content-Security-Policy lets a form post only to this origin, and a browser
    applies that to where the post is redirected too. Starting changes nothing here (another site that sends a
    person to it only sends them to their provider, and what comes back must carry this browser's state).
    """
    client = _client(request)
    if client is None:
        return _problem("off")
    try:
        begun = await asyncio.to_thread(client.begin)
    except OidcError as exc:
        logger.warning("signing in with the OpenID provider could not begin: %s", exc)
        return _problem("unavailable")
    kept = {"state": begun.state, "nonce": begun.nonce, "verifier": begun.verifier, "until": time.time() + WITHIN}
    sealed = base64.urlsafe_b64encode(ctx.fresh_keys().encrypt(json.dumps(kept).encode())).decode()
    response = RedirectResponse(begun.url, status_code=303)
    response.set_cookie(
        COOKIE, sealed, max_age=WITHIN, path=PATH, httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )
    return response


def _kept(request: Request, ctx: ApiContext) -> dict[str, str] | None:
    """What :func:`start` kept in the cookie, if it opens under the store's keys and is still in time."""
    sealed = request.cookies.get(COOKIE)
    if not sealed or len(sealed) > 2000:
        return None
    try:
        kept = json.loads(ctx.fresh_keys().decrypt(base64.urlsafe_b64decode(sealed)))
    except (KeyFileError, binascii.Error, ValueError):
        return None
    if not isinstance(kept, dict) or not isinstance(kept.get("until"), float) or kept["until"] < time.time():
        return None
    names = ("state", "nonce", "verifier")
    found = {name: kept[name] for name in names if isinstance(kept.get(name), str)}
    return found if len(found) == len(names) else None


@router.get(f"{PATH}/callback", response_class=HTMLResponse)
async def callback(request: Request, ctx: ContextDep) -> Response:
    """Back from the provider: check the state, exchange the code, verify the ID token, start the session."""
    client = _client(request)
    if client is None:
        return _problem("off")
    query = request.query_params
    kept = _kept(request, ctx)
    state, code = query.get("state", ""), query.get("code", "")
    if kept is None or not hmac.compare_digest(state.encode(), kept["state"].encode()):
        logger.info("a sign-in with the OpenID provider came back without its state (started elsewhere, or late)")
        return _problem("expired")
    if "error" in query:
        said = query["error"] if re.fullmatch(r"[a-z_]{1,40}", query["error"]) else "another error"
        logger.info("the OpenID provider did not sign the person in: %s", said)  # an OAuth error code, nothing else
        return _problem("denied")
    if not code or len(code) > MAX_PARAM:
        return _problem("failed")
    try:
        claims = await asyncio.to_thread(client.finish, code, kept["verifier"], kept["nonce"])
    except OidcError as exc:
        logger.warning("a sign-in with the OpenID provider failed: %s", exc)
        return _problem("unavailable" if exc.unavailable else "failed")
    who = client.provider
    role, principal = claims.get(who.role_claim), claims.get(who.principal_claim, claims.get("sub"))
    kind = claims.get(who.kind_claim)
    started = await ctx.run_write(lambda uow: signin.sign_in_verified(uow, role, principal, kind, "oidc"))
    if started is None:
        logger.info("the OpenID provider vouched for someone with no valid Credo role or principal")
        return _problem("unknown")
    response = RedirectResponse("/account", status_code=303)
    response.delete_cookie(COOKIE, path=PATH)
    sessions.start(request, response, started.token)
    return response


@router.get(PATH + "/problem/{reason}", response_class=HTMLResponse)
async def problem(request: Request, reason: str) -> HTMLResponse:
    """Why signing in with the provider did not complete, in plain words, and what to do."""
    if reason not in PROBLEMS:
        return render(request, "not_found.html", status_code=404)
    name = provider_name(request) or ""
    return render(request, "signin_oidc_problem.html", status_code=PROBLEMS[reason], reason=reason, provider=name)
