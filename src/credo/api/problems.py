"""Errors as RFC 9457 problem details (``application/problem+json``), each with a stable ``code``.

Every 4xx the API gives is one of :data:`CODES`; the ``detail`` is a plain
sentence for a person and never repeats an identifier or record content
(messages come from the store's errors, which are written that way).
Every :class:`~credo.errors.CredoError` a route lets through is answered here,
by one handler and one table (:data:`PROBLEMS`: each class of the tree and its
code), not route by route (ADR 0019).
An unexpected error is a 500 problem that says only that, and is logged
without the request's content.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from credo.errors import (
    AuditChainError,
    AuthError,
    BadInputError,
    ConflictError,
    CredoError,
    ForbiddenError,
    NotFoundError,
    StorageFullError,
    StoreError,
    UnavailableError,
)
from credo.store.database import database_failure

__all__ = ["CODES", "MEDIA_TYPE", "PROBLEMS", "BodyLimitMiddleware", "Problem", "install", "problem_response"]

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("credo.api")

# code: (status, title). The codes are part of the API: clients may branch on them.
CODES: dict[str, tuple[int, str]] = {
    "malformed-json": (400, "The body is not valid JSON"),
    "bad-request": (400, "The request is not valid"),
    "unauthenticated": (401, "A valid bearer token is needed"),
    "forbidden": (403, "The caller's role or purpose does not allow this"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "not-acceptable": (406, "Not acceptable"),
    "conflict": (409, "Conflict"),
    "payload-too-large": (413, "The body is too large"),
    "unsupported-media-type": (415, "Unsupported media type"),
    "invalid-request": (422, "The request's parameters or body do not have the expected shape"),
    "unprocessable": (422, "The request cannot be carried out as it stands"),
    "too-many-requests": (429, "Too many requests"),
    "server-error": (500, "Internal error"),
    "unavailable": (503, "The store is not available"),
    "audit-inconsistent": (503, "The audit trail is inconsistent: nothing can be written until it is checked"),
    "storage-full": (507, "The store's disk is full"),
}


# The one place an error class becomes a problem: the nearest class in an error's MRO decides its code.
# A CredoError of no class here (DeliveryError: never a request's fault) is answered as unexpected (500).
PROBLEMS: dict[type[CredoError], str] = {
    BadInputError: "bad-request",
    AuthError: "unauthenticated",
    StoreError: "unprocessable",
    NotFoundError: "not-found",
    ForbiddenError: "forbidden",
    ConflictError: "conflict",
    UnavailableError: "unavailable",
    StorageFullError: "storage-full",
    AuditChainError: "audit-inconsistent",
}


def problem_code(exc: CredoError) -> str | None:
    """The code of :data:`PROBLEMS` for ``exc``'s class or its nearest ancestor there; None: none is."""
    return next((PROBLEMS[cls] for cls in type(exc).__mro__ if cls in PROBLEMS), None)


class Problem(CredoError):
    """Raise to answer with a problem; ``code`` is a key of :data:`CODES`."""

    def __init__(
        self, code: str, detail: str, *, extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.code, self.detail, self.extra, self.headers = code, detail, extra or {}, headers or {}


def problem_response(
    code: str, detail: str, instance: str | None = None, *, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """A problem document; ``instance`` is the route's template (never the path as sent: it may hold an identifier)."""
    status, title = CODES[code]
    body: dict[str, Any] = {"type": f"urn:credo:problem:{code}", "title": title, "status": status, "detail": detail}
    body["code"] = code
    if instance is not None:
        body["instance"] = instance
    body.update(extra)
    headers = {**({"WWW-Authenticate": "Bearer"} if status == 401 else {}), **(headers or {})}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers or None)


_BY_STATUS = {status: code for code, (status, _) in reversed(list(CODES.items()))}


def _where(request: Request) -> str | None:
    route = request.scope.get("route")
    path = getattr(route, "path_format", None)  # the template without converters: {record_id}, not {record_id:path}
    return path if isinstance(path, str) else None


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _BY_STATUS.get(exc.status_code, "bad-request" if exc.status_code < 500 else "server-error")
    detail = exc.detail if isinstance(exc.detail, str) else CODES[code][1]
    if exc.status_code == 404 and detail == "Not Found":
        detail = "there is no such route: see /v1/openapi.json"
    return problem_response(code, detail, _where(request))


def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"where": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")}
        for e in exc.errors()[:20]  # no "input": it may hold an identifier
    ]
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        return problem_response("malformed-json", "the body is not valid JSON", _where(request))
    return problem_response("invalid-request", "see errors", _where(request), errors=errors)


def _credo(request: Request, exc: Exception) -> JSONResponse:
    """Any :class:`CredoError`: a :class:`Problem` as raised, any other by :data:`PROBLEMS`."""
    assert isinstance(exc, CredoError)
    if isinstance(exc, Problem):
        return problem_response(exc.code, exc.detail, _where(request), headers=exc.headers, **exc.extra)
    code = problem_code(exc)
    return _unexpected(request, exc) if code is None else problem_response(code, str(exc), _where(request))


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """The database failed (503, or 507 for a full disk: :func:`credo.store.database.database_failure`), or a bug."""
    if (failure := database_failure(exc)) is not None:
        return _credo(request, failure)
    # The type only: an exception's text may quote the request (and so an identifier).
    log.error(
        "internal error on %s %s: %s",
        request.method,
        getattr(request.scope.get("route"), "path", "?"),
        type(exc).__name__,
    )
    return problem_response("server-error", "an internal error occurred; it has been logged", _where(request))


class BodyLimitMiddleware:
    """Refuses any request body over ``limit`` bytes with a 413 problem, before a route reads it.

    A declared Content-Length over the limit is refused at once; a body sent
    in chunks is counted as it is read.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                response = problem_response("payload-too-large", f"the body may hold at most {self.limit} bytes")
                await response(scope, receive, send)
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise Problem("payload-too-large", f"the body may hold at most {self.limit} bytes")
            return message

        await self.app(scope, counted, send)


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(CredoError, _credo)
    app.add_exception_handler(Exception, _unexpected)
