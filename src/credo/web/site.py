"""The pages put into the server's application: the routes, and the stylesheet under ``/assets``."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from credo.web import pages_lists, pages_public, pages_signin, pages_stats, pages_versions

__all__ = ["install"]


def install(app: FastAPI) -> None:
    """Serve the pages and their assets from ``app`` (the same application as the API)."""
    app.include_router(pages_public.router)
    app.include_router(pages_lists.router)
    app.include_router(pages_stats.router)
    app.include_router(pages_versions.router)
    app.include_router(pages_signin.router)
    app.mount("/assets", StaticFiles(packages=[("credo.web", "static")]), name="assets")
