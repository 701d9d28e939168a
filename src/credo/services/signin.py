"""Signing in to the pages: an operator issues a one-time link, its holder starts a session, and signs out.

On the embedded default there is no identity provider, so an operator hands a person a link
(``credo signin-link``), as a service counter hands over a letter: it is good once, for minutes. Using it
starts a session on the pages (an HttpOnly cookie); the session ends on signing out, after
:data:`IDLE` without a request, or after :data:`LIFETIME`. Issuing a link, signing in and signing out are
in the audit trail; a subject's sign-in is in the subject's own access log.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from credo.services.actor import Actor, operation
from credo.services.identify import subject_ids
from credo.services.unit_of_work import UnitOfWork
from credo.store.audit import AuditEntry
from credo.store.errors import StoreError
from credo.store.web_sessions import Principal, Session, add_link, end_session, link_usable, open_session, redeem_link
from credo.store.web_sessions import session_of as stored_session
from credo.tokens import check_principal, subject_kind

__all__ = ["IDLE", "LIFETIME", "MAX_LINK", "Principal", "Session", "Started", "issue_link", "link_lifetime",
           "link_role", "session_of", "sign_in", "sign_in_verified", "sign_out"]  # fmt: skip

IDLE = dt.timedelta(minutes=30)  # a session ends after this long without a request
LIFETIME = dt.timedelta(hours=12)  # and after this long in all
MAX_LINK = dt.timedelta(days=7)  # a link lasts at most this long
_PAGES = "the pages"


def link_lifetime(text: str) -> dt.timedelta:
    """How long a link lasts: minutes (15m), hours (2h) or days (1d), at most :data:`MAX_LINK`."""
    found = re.fullmatch(r"([1-9][0-9]{0,5})([mhd])", text.strip())
    if found is None:
        raise StoreError(f"--expires {text!r} is not a duration such as 15m, 2h or 1d")
    amount, unit = int(found.group(1)), found.group(2)
    lifetime = {"m": dt.timedelta(minutes=amount), "h": dt.timedelta(hours=amount), "d": dt.timedelta(days=amount)}[
        unit
    ]
    if lifetime > MAX_LINK:
        raise StoreError(f"--expires {text!r}: a sign-in link lasts at most 7 days")
    return lifetime


def issue_link(
    uow: UnitOfWork, operator: Actor, role: str, principal: str | None, expires: str, *, kind: str | None = None
) -> str:
    """A new one-time sign-in code for ``role`` and ``principal`` (checked as a token's would be), audited."""
    name = check_principal(role, principal)
    who = Principal(role, name, subject_kind(name, kind) if role == "subject" else None)
    lifetime = link_lifetime(expires)
    code = secrets.token_urlsafe(32)
    add_link(uow.connection, uow.ring, who, code, now=uow.now, until=uow.now + lifetime)
    detail = {"role": role, "principal": None if role == "subject" else name, "expires": expires}
    uow.audit(operation(operator, "signin.link", detail))
    return code


def link_role(uow: UnitOfWork, code: str) -> str | None:
    """The role a code would sign in as, without using it (None: not usable)."""
    return link_usable(uow.connection, code, now=uow.now)


@dataclass(frozen=True)
class Started:
    """A session just started: its token (for the cookie only) and what it is."""

    token: str
    session: Session


def sign_in(uow: UnitOfWork, code: str) -> Started | None:
    """Use a sign-in code: a new session for its principal, audited; None if the code cannot be used."""
    who = redeem_link(uow.connection, uow.ring, code, now=uow.now)
    if who is None:
        return None
    return _start(uow, who, {})


def sign_in_verified(uow: UnitOfWork, role: object, principal: object, kind: object, method: str) -> Started | None:
    """A new session for the role and principal an identity provider vouched for, audited with the ``method``.

    The provider's verified claims name them (ADR 0027): they are checked as a token's or a link's would be (a
    subject's identifier by its check character); None when they name no valid role and principal.
    """
    if not isinstance(role, str) or not isinstance(principal, str) or not isinstance(kind, str | None):
        return None
    try:
        name = check_principal(role, principal)
        who = Principal(role, name, subject_kind(name, kind) if role == "subject" else None)
    except StoreError:
        return None
    return _start(uow, who, {"method": method})


def _start(uow: UnitOfWork, who: Principal, detail: dict[str, str]) -> Started:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    open_session(uow.connection, uow.ring, who, token, csrf, now=uow.now, lifetime=LIFETIME)
    uow.audit(*_entries(uow, who, "signin", detail))
    return Started(token, Session(who, csrf, uow.now))


def session_of(uow: UnitOfWork, token: str) -> Session | None:
    """The live session a cookie's token belongs to (seen now), or None."""
    return stored_session(uow.connection, uow.ring, token, now=uow.now, idle=IDLE, lifetime=LIFETIME)


def sign_out(uow: UnitOfWork, token: str, session: Session) -> None:
    """End the session, audited."""
    end_session(uow.connection, token, now=uow.now)
    uow.audit(*_entries(uow, session.principal, "signout"))


def _entries(uow: UnitOfWork, who: Principal, action: str, detail: dict[str, str] | None = None) -> list[AuditEntry]:
    """A subject's act under each of its stored subjects (in its own access log), anyone else's as themselves."""
    said = detail or {}
    if who.role != "subject":
        return [AuditEntry(who.role, who.name, action, _PAGES, None, said)]
    found = [sid for sid, _ in subject_ids(uow, who.name, who.kind)]
    return [AuditEntry("subject", "subject", action, _PAGES, sid, said) for sid in found] or [
        AuditEntry("subject", "subject", action, _PAGES, None, said)
    ]
