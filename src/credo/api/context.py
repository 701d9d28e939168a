"""What every route needs: the store, its keys, the token verifier, metrics, the audit writer, and roles.

Routes declare their roles with :func:`roles` (also written into the OpenAPI
document as ``x-credo-roles``, which the role x route matrix test reads) and
whether they read personal data (:func:`role_extra`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from credo.api.auth import AuthError, TokenVerifier
from credo.api.metrics import Metrics
from credo.api.problems import Problem
from credo.services import identify
from credo.services.group_commit import GroupCommit
from credo.services.lookups import Lookups
from credo.services.unit_of_work import UnitOfWork
from credo.store.audit import AuditEntry
from credo.store.bootstrap import Store
from credo.store.errors import StoreError
from credo.store.keys import KeyRing

T = TypeVar("T")

__all__ = ["PUBLIC", "ApiContext", "Caller", "RateLimit", "context", "roles"]

PUBLIC = "public"


RATE_ENV, BURST_ENV = "CREDO_RELYING_RATE", "CREDO_RELYING_BURST"


@dataclass
class RateLimit:
    """How often each relying party may ask: ``rate`` requests a second, ``burst`` at once (a token bucket each).

    Set with ``CREDO_RELYING_RATE`` (requests a second per party, a decimal
    number; unset or 0: no limit) and ``CREDO_RELYING_BURST`` (default: twice
    the rate, at least 1). Kept in the server's memory: each server process
    counts on its own, and a restart starts every party afresh.
    """

    rate: float
    burst: float
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict, repr=False)

    @staticmethod
    def from_env(environ: Mapping[str, str] | None = None) -> RateLimit | None:
        env = os.environ if environ is None else environ
        rate = _positive(env, RATE_ENV, env.get(RATE_ENV) or "0")
        if rate == 0:
            return None
        burst = _positive(env, BURST_ENV, env.get(BURST_ENV) or str(max(1.0, 2 * rate)))
        if burst < 1:
            raise StoreError(f"{BURST_ENV} must be at least 1 (requests at once)")
        return RateLimit(rate, burst)

    def wait(self, party: str) -> float:
        """Take one request from ``party``'s bucket: 0 when it may go ahead, else the seconds until it may."""
        now = time.monotonic()
        tokens, then = self._buckets.get(party, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens >= 1:
            self._buckets[party] = (tokens - 1, now)
            return 0.0
        self._buckets[party] = (tokens, now)
        return (1 - tokens) / self.rate


def _positive(env: Mapping[str, str], name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise StoreError(f"{name}={text!r} is not a number (requests a second)") from None
    if not math.isfinite(value) or value < 0:
        raise StoreError(f"{name}={text!r} must be a finite number, 0 or more")
    return value


@dataclass
class ApiContext:
    store: Store
    lookups: Lookups
    verifier: TokenVerifier
    metrics: Metrics
    writer: GroupCommit
    max_body: int
    limit: RateLimit | None = None  # relying parties' requests a second (CREDO_RELYING_RATE); None: no limit

    def today(self) -> dt.date:
        return self.lookups.today()

    def now(self) -> dt.datetime:
        return self.store.clock()

    def fresh_keys(self) -> KeyRing:
        """The store's keys (checked at most once a second); tokens are verified under the same keys."""
        ring = self.lookups.keys()
        if ring is not self.verifier.ring:  # rotated while serving: tokens signed under a retired key are refused
            self.verifier = TokenVerifier(ring, self.verifier.oidc)
        return ring

    def forget(self, role: str, principal: str) -> None:
        """Drop a cached source or relying party: a change made through this server shows at once."""
        self.lookups.forget(role, principal)

    def standing(self, role: str, principal: str) -> str | None:
        """Why the principal may not act in its role now (not registered, disabled), or None when it may.

        Sources and relying parties are registered by an operator and may be
        disabled; a subject is registered by its valid identifier (checked with
        the token); operators, reviewers and auditors have no registry, and the
        valid token stands in for registration. Looked up at most once a second.
        """
        if role not in ("source", "relying"):
            return None
        what = "source" if role == "source" else "relying party"
        found = self.lookups.registered(role, principal)
        if found is None:
            return f"{what} {principal} is not registered"
        if not found.enabled:
            return f"{what} {principal} is disabled"
        return None

    async def audit(self, *entries: AuditEntry) -> None:
        await self.writer.write(entries)

    async def run_write(self, service: Callable[[UnitOfWork], T]) -> T:
        """Run a use case in the next group commit (credo.services.group_commit); its value once committed."""

        result: T = await self.writer.run(service)
        return result

    async def run_read(
        self, service: Callable[[UnitOfWork], T], *, in_thread: bool = False, transaction: bool = True
    ) -> T:
        """Run a use case that only reads, in a transaction of its own; its audit entries then go to the writer.

        A read may bring a stale stored state up to date first (a decision, a report): that state is derived from
        the records, which the read does not change, so it is kept in the read's own transaction.

        The answer waits for the entries to be committed: nobody reads personal data without it being logged.
        ``in_thread``: in a worker thread, for reads that compute (a report), so the event loop goes on meanwhile.
        ``transaction=False``: on a connection for reads only (:meth:`read`: no BEGIN and COMMIT on PostgreSQL),
        for lookups that need no snapshot.
        """

        def read() -> tuple[T, UnitOfWork]:
            with self.lookups.transaction() if transaction else self.lookups.reading() as connection:
                uow = self.lookups.unit(connection, self.now())
                return service(uow), uow

        value, uow = await asyncio.to_thread(read) if in_thread else read()
        if uow.to_rescore:
            raise RuntimeError("a use case run as a read changed records")  # a bug: writes go through run_write
        if uow.entries:
            await self.audit(*uow.entries)
        return value


async def context(request: Request) -> ApiContext:
    """The app's context (async: FastAPI runs a plain function dependency in a worker thread, at a cost)."""
    ctx: ApiContext = request.app.state.ctx
    return ctx


# The server's context as a route's parameter: ``ctx: ContextDep`` (the API's public routes and every page).
ContextDep = Annotated[ApiContext, Depends(context)]


@dataclass(frozen=True)
class Caller:
    """Who is calling (from the bearer token) and the app's context."""

    role: str
    id: str
    ctx: ApiContext
    kind: str | None = None  # a subject's kind

    def own_subjects(self, uow: UnitOfWork) -> list[tuple[int, str]]:
        """A subject caller's stored subjects (surrogate id, kind) of its token's kind; none is a 404."""
        return identify.own_subjects(uow, self.id, self.kind)


def roles(*allowed: str) -> Callable[..., Any]:
    """A dependency that admits only callers with one of ``allowed`` roles whose principal is registered and enabled.

    401 without a valid token; 403 for another role, or a source or relying
    party that is not registered or is disabled (:meth:`ApiContext.standing`):
    every role-gated route goes through this one check.

    It reads the Authorization header itself (the OpenAPI document declares
    the bearer scheme, :func:`credo.api.app.create_app`): every dependency
    FastAPI solves costs the hottest route a few percent.
    """

    async def admit(request: Request) -> Caller:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Problem("unauthenticated", "send a bearer token: Authorization: Bearer TOKEN")
        ctx: ApiContext = request.app.state.ctx
        ctx.fresh_keys()
        try:
            caller = ctx.verifier.verify(token.strip())
        except AuthError as exc:
            raise Problem("unauthenticated", str(exc)) from None
        if caller.role not in allowed:
            raise Problem("forbidden", f"this route is for the role(s) {', '.join(allowed)}, not {caller.role}")
        if (refused := ctx.standing(caller.role, caller.id)) is not None:
            raise Problem("forbidden", refused)
        if caller.role == "relying" and ctx.limit is not None and (wait := ctx.limit.wait(caller.id)) > 0:
            raise Problem(
                "too-many-requests",
                f"relying party {caller.id} asks more often than this deployment allows; try again later",
                headers={"Retry-After": str(math.ceil(wait))},
            )
        return Caller(caller.role, caller.id, ctx, caller.kind)

    admit.roles = allowed  # type: ignore[attr-defined]
    return admit


def role_extra(*allowed: str, personal: bool) -> dict[str, Any]:
    """What the OpenAPI document says of a route: who may call it (``x-credo-roles``), and whether it reads
    personal data (``x-credo-reads-personal-data``: then every call that finds some appends an audit entry;
    tests/test_personal_reads.py walks them). Writes say ``False``: they are audited as writes."""
    return {"x-credo-roles": list(allowed), "x-credo-reads-personal-data": personal}
