"""The FastAPI application: ``create_app(store)``; ``credo serve`` runs it under uvicorn.

All routes are under ``/v1``; the OpenAPI document is ``/v1/openapi.json`` and
its reference page ``/v1/docs`` is served from this package (no CDN).
``/healthz`` and ``/metrics`` are outside ``/v1``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
import traceback
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from credo import __version__
from credo.api import (
    problems,
    routes_audit,
    routes_delivery,
    routes_disputes,
    routes_operator,
    routes_public,
    routes_relying,
    routes_sources,
    routes_subjects,
)
from credo.api.auth import OidcSettings, TokenVerifier
from credo.api.context import PUBLIC, ApiContext, RateLimit
from credo.api.metrics import Metrics, MetricsMiddleware
from credo.api.params import plain_parameters
from credo.services.delivery_pass import SmtpSettings, run_pass
from credo.services.group_commit import GroupCommit
from credo.services.lookups import Lookups
from credo.store.bootstrap import Store
from credo.store.database import checkpoint_wal, limit_sqlite_cache, sqlite_path, stop_autocheckpoint
from credo.store.errors import StoreError
from credo.store.migrate import require_head
from credo.web import site

__all__ = ["MAX_BODY", "ROUTES", "create_app"]

logger = logging.getLogger("credo.api")
MAX_BODY = 4 * 1024 * 1024  # bytes in a request body at most (docs/api.md, "Limits")
# Seconds a thread keeps the GIL while another waits for it (Python's default is 0.005). The group writer and
# the lookups give the GIL up at every SQLite call and wait to get it back; behind a thread computing a report,
# a delivery pass or the event loop under load, each wait took up to 5 ms: tens of ms for one transaction.
SWITCH_INTERVAL = 0.0005


# Every module of routes, in the order the OpenAPI document lists them (also read by credo.api.security_table).
ROUTES = (
    routes_sources,
    routes_relying,
    routes_subjects,
    routes_disputes,
    routes_delivery,
    routes_public,
    routes_operator,
    routes_audit,
)


def create_app(store: Store, *, max_body: int = MAX_BODY, deliver_every: float | None = None) -> FastAPI:
    """An app over ``store`` (checked to be at the current schema, its keys loaded once).

    With ``deliver_every`` (seconds), a background task sends owed notices and webhooks that often
    (:func:`credo.services.delivery_pass.run_pass`, SMTP from ``CREDO_SMTP_*``, read now so a bad setting stops
    the start).
    """
    limit_sqlite_cache(store.engine)
    with store.begin() as connection:
        require_head(connection)
        ring = store.keys(connection)
    smtp = SmtpSettings.from_env(store.environ) if deliver_every else None
    metrics = Metrics()

    lookups = Lookups(store, ring)
    writer = GroupCommit(store.engine, store.clock, lookups.unit)
    verifier = TokenVerifier(ring, OidcSettings.from_env(store.environ))
    ctx = ApiContext(store, lookups, verifier, metrics, writer, max_body, RateLimit.from_env(store.environ))

    app = FastAPI(
        title="Credo",
        version=__version__,
        summary="Records in from sources, decisions out to relying parties, reports to subjects.",
        openapi_url="/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan(store, writer, smtp, deliver_every),
        dependencies=[Depends(plain_parameters)],  # every route, once: no control characters in a path or query
    )
    app.state.ctx = ctx
    problems.install(app)
    for module in ROUTES:
        app.include_router(module.router)

    _operational_routes(app, lookups, metrics)
    site.install(app)  # the pages (credo/web): the same services, for people
    app.add_middleware(problems.BodyLimitMiddleware, limit=max_body)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.openapi = _with_bearer_scheme(app)  # type: ignore[method-assign]
    return app


def _lifespan(
    store: Store, writer: GroupCommit, smtp: SmtpSettings | None, deliver_every: float | None
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """What runs for as long as the server does: the group writer, WAL checkpoints, the delivery pass."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await writer.start()
        # Everything loaded so far (modules, the rulebook, SQLAlchemy's caches) lives as long as the server:
        # moved out of the collector's sight, a full collection no longer walks it (tens of ms at the tail).
        gc.collect()
        gc.freeze()
        switch = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        tasks = []
        if sqlite_path(store.url) is not None:
            tasks.append(asyncio.create_task(_checkpoint_wal(store)))
        if deliver_every:
            tasks.append(asyncio.create_task(_deliver(store, smtp, deliver_every)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await writer.stop()
            gc.unfreeze()
            sys.setswitchinterval(switch)

    return lifespan


def _operational_routes(app: FastAPI, lookups: Lookups, metrics: Metrics) -> None:
    """The routes for operators' tools rather than people (health, metrics, the API's own docs page)."""

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        lookups.ping()
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


def _with_bearer_scheme(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The OpenAPI document, with the bearer scheme on every route that is not public.

    The role check reads the Authorization header itself (cheaper than a
    security dependency), so the document is told here what it would have said.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        schema.setdefault("components", {})["securitySchemes"] = {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "A token from `credo token issue ROLE [PRINCIPAL]` (or the configured OpenID provider)",
            }
        }
        for operations in schema["paths"].values():
            for operation in operations.values():
                if operation.get("x-credo-roles") not in (None, [PUBLIC]):
                    operation["security"] = [{"bearer": []}]
        app.openapi_schema = schema
        return schema

    return openapi


CHECKPOINT_EVERY = 1.0  # seconds between WAL checkpoints of a SQLite store while the API runs


async def _checkpoint_wal(store: Store) -> None:
    """Copy the WAL back into a SQLite database in the background, once a second.

    SQLite otherwise checkpoints inside whichever commit fills the WAL, and
    that commit (a request's) then waits for the copy and its fsync: tens of
    milliseconds at the tail (:func:`credo.store.database.checkpoint_wal`).
    """
    stop_autocheckpoint(store.engine)
    failing: str | None = None  # why the last checkpoint failed: said once, not every second
    while True:
        await asyncio.sleep(CHECKPOINT_EVERY)
        failure = await asyncio.to_thread(checkpoint_wal, store.engine)
        if failure is not None:  # a full disk, say: the WAL keeps the commits, and the next try copies them
            if str(failure) != failing:
                logger.warning("WAL checkpoint failed: %s", failure)
            failing = str(failure)
            continue
        if failing is not None:
            logger.warning("WAL checkpoints work again")
            failing = None


async def _deliver(store: Store, smtp: SmtpSettings | None, every: float) -> None:
    """Send what is owed, every ``every`` seconds, off the event loop; a failed pass is logged and retried."""
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(run_pass, store, smtp)
        except StoreError as exc:  # its messages never hold identifiers
            logger.warning("delivery pass failed: %s", exc)
        except Exception as exc:  # the loop must outlive a bad pass; the next one tries again
            logger.warning("delivery pass failed: %s", where_it_failed(exc))


def where_it_failed(exc: BaseException) -> str:
    """An unexpected error's type and the line it came from, never its message (which may hold personal data)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    last = frames[-1]
    return f"{type(exc).__name__} at {Path(last.filename).name}:{last.lineno} in {last.name}"


def _asset(name: str) -> str:
    return resources.files("credo.api").joinpath("static", name).read_text(encoding="utf-8")


def _docs_page() -> str:
    return _asset("docs.html")
