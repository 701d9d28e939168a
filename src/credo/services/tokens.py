"""Issuing a bearer token (``credo token issue``): signed under the store's keys, and audited.

The audit entry names the role, the principal (not a subject's identifier) and how long the token lasts.
"""

from __future__ import annotations

from credo.services.actor import Actor, operation
from credo.services.unit_of_work import UnitOfWork
from credo.tokens import issue_token, parse_expiry

__all__ = ["issue"]


def issue(
    uow: UnitOfWork, operator: Actor, role: str, principal: str | None, expires: str, *, kind: str | None = None
) -> str:
    """A signed token for ``role`` and ``principal``, valid for ``expires`` (8h, 30d, 12w, 1y)."""
    lifetime = parse_expiry(expires)
    token = issue_token(uow.ring, role, principal, now=uow.now, expires=lifetime, kind=kind)
    detail = {"role": role, "principal": principal if role != "subject" else None, "expires": expires}
    uow.audit(operation(operator, "token.issue", detail))
    return token
