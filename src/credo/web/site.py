"""The pages put into the server's application: the routes, and the stylesheet under ``/assets``."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from credo.web import (
    pages_audit,
    pages_console,
    pages_counter,
    pages_disputes,
    pages_lists,
    pages_me,
    pages_oidc,
    pages_public,
    pages_review,
    pages_signin,
    pages_stats,
    pages_subject,
    pages_versions,
)
from credo.web.render import render

__all__ = ["install"]


def install(app: FastAPI) -> None:
    """Serve the pages and their assets from ``app`` (the same application as the API)."""
    app.include_router(pages_public.router)
    app.include_router(pages_lists.router)
    app.include_router(pages_stats.router)
    app.include_router(pages_versions.router)
    app.include_router(pages_signin.router)
    pages_oidc.install(app)  # signing in with an OpenID Connect provider, when one is configured
    app.include_router(pages_subject.router)
    app.include_router(pages_me.router)
    app.include_router(pages_disputes.router)
    app.include_router(pages_review.router)
    app.include_router(pages_counter.router)
    app.include_router(pages_audit.router)
    app.include_router(pages_console.router)  # the operators' console, /operator...
    app.mount("/assets", StaticFiles(packages=[("credo.web", "static")]), name="assets")
    app.add_api_route("/{path:path}", _not_found, methods=["GET"], include_in_schema=False)  # last: what is left


async def _not_found(request: Request, path: str) -> HTMLResponse:
    """A page for a person who followed a broken link; the API's own paths keep their problem answers."""
    if path == "v1" or path.startswith("v1/"):
        request.scope.pop("route", None)  # no route matched: the problem names none (credo.api.problems._where)
        raise StarletteHTTPException(404)
    return render(request, "not_found.html", status_code=404)
