"""The FastAPI application: ``create_app(store)``; ``credo serve`` runs it under uvicorn.

All routes are under ``/v1``; the OpenAPI document is ``/v1/openapi.json`` and
its reference page ``/v1/docs`` is served from this package (no CDN).
``/healthz`` and ``/metrics`` are outside ``/v1``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from credo import __version__
from credo.api import (
    problems,
    routes_audit,
    routes_operator,
    routes_public,
    routes_relying,
    routes_sources,
    routes_subjects,
)
from credo.api.auth import OidcSettings, TokenVerifier
from credo.api.context import ApiContext
from credo.api.metrics import Metrics, MetricsMiddleware
from credo.api.writer import AuditWriter
from credo.store import clock
from credo.store.bootstrap import Store
from credo.store.migrate import require_head

__all__ = ["MAX_BODY", "create_app"]

MAX_BODY = 4 * 1024 * 1024  # bytes in a request body at most (docs/api.md, "Limits")


def create_app(store: Store, *, max_body: int = MAX_BODY) -> FastAPI:
    """An app over ``store`` (checked to be at the current schema, its keys loaded once)."""
    with store.begin() as connection:
        require_head(connection)
        ring = store.keys(connection)
    metrics = Metrics()
    writer = AuditWriter(store.engine, store.clock, lambda: clock.today(store.environ))
    ctx = ApiContext(store, ring, TokenVerifier(ring, OidcSettings.from_env(store.environ)), metrics, writer, max_body)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await writer.start()
        try:
            yield
        finally:
            await writer.stop()

    app = FastAPI(
        title="Credo",
        version=__version__,
        summary="Records in from sources, decisions out to relying parties, reports to subjects.",
        openapi_url="/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    problems.install(app)
    for module in (routes_sources, routes_relying, routes_subjects, routes_public, routes_operator, routes_audit):
        app.include_router(module.router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        with ctx.begin() as connection:
            connection.exec_driver_sql("SELECT 1")
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(_docs_page())

    @app.get("/v1/docs/openapi-page.js", include_in_schema=False)
    async def docs_script() -> PlainTextResponse:
        return PlainTextResponse(_asset("openapi-page.js"), media_type="text/javascript")

    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


def _asset(name: str) -> str:
    return resources.files("credo.api").joinpath("static", name).read_text(encoding="utf-8")


def _docs_page() -> str:
    return _asset("docs.html")
