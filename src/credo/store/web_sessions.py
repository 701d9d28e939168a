"""Sign-in links and the pages' sessions, as rows: codes and tokens kept as SHA-256 hashes only.

A link is used once, before it expires (:func:`redeem_link` marks it used in the same statement that checks
it, so two clicks cannot both start a session). A session ends when its holder signs out, when it has been
idle too long, or when it has lasted too long (:func:`session_of`). What has expired is deleted when the next
link or session is made, so no encrypted principal is kept longer than needed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.store.clock import as_utc
from credo.store.keys import KeyRing
from credo.store.tables import signin_links, web_sessions

__all__ = [
    "Principal",
    "Session",
    "add_link",
    "end_session",
    "link_usable",
    "open_session",
    "redeem_link",
    "session_of",
]

KEEP_USED = dt.timedelta(days=1)  # a used or expired link is deleted this long after it expired


@dataclass(frozen=True)
class Principal:
    """Who a link or a session is for: a role and its principal (a subject's identifier, with its kind)."""

    role: str
    name: str
    kind: str | None = None


@dataclass(frozen=True)
class Session:
    principal: Principal
    csrf: str
    started: dt.datetime


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def add_link(
    connection: Connection, ring: KeyRing, principal: Principal, code: str, *, now: dt.datetime, until: dt.datetime
) -> None:
    """Keep a new sign-in link (its code hashed), and delete the links that expired more than a day ago."""
    connection.execute(sa.delete(signin_links).where(signin_links.c.expires_at < now - KEEP_USED))
    connection.execute(
        sa.insert(signin_links).values(
            code_hash=_hash(code), role=principal.role, principal_enc=ring.encrypt(principal.name.encode()),
            kind=principal.kind, created_at=now, expires_at=until,
        )
    )  # fmt: skip


def redeem_link(connection: Connection, ring: KeyRing, code: str, *, now: dt.datetime) -> Principal | None:
    """The principal of an unused, unexpired link, which is used from now on; None for any other code."""
    used = connection.execute(
        sa.update(signin_links)
        .where(
            signin_links.c.code_hash == _hash(code), signin_links.c.used_at.is_(None), signin_links.c.expires_at > now
        )
        .values(used_at=now)
        .returning(signin_links.c.role, signin_links.c.principal_enc, signin_links.c.kind)
    ).first()
    return None if used is None else Principal(used.role, ring.decrypt(used.principal_enc).decode(), used.kind)


def link_usable(connection: Connection, code: str, *, now: dt.datetime) -> str | None:
    """The role an unused, unexpired link signs in as (without using it); None for any other code."""
    return connection.execute(
        sa.select(signin_links.c.role).where(
            signin_links.c.code_hash == _hash(code), signin_links.c.used_at.is_(None), signin_links.c.expires_at > now
        )
    ).scalar()


def open_session(
    connection: Connection, ring: KeyRing, principal: Principal, token: str, csrf: str, *, now: dt.datetime,
    lifetime: dt.timedelta,
) -> None:  # fmt: skip
    """Keep a new session (its token hashed), and delete the sessions that ended or ran out a while ago."""
    connection.execute(
        sa.delete(web_sessions).where(
            sa.or_(web_sessions.c.ended_at < now - KEEP_USED, web_sessions.c.created_at < now - lifetime - KEEP_USED)
        )
    )
    connection.execute(
        sa.insert(web_sessions).values(
            token_hash=_hash(token), role=principal.role, principal_enc=ring.encrypt(principal.name.encode()),
            kind=principal.kind, csrf=csrf, created_at=now, last_seen_at=now,
        )
    )  # fmt: skip


def session_of(
    connection: Connection, ring: KeyRing, token: str, *, now: dt.datetime, idle: dt.timedelta,
    lifetime: dt.timedelta,
) -> Session | None:  # fmt: skip
    """The live session of a token, seen now (idle from now on); None when there is none, or it ran out."""
    row = connection.execute(
        sa.select(web_sessions).where(web_sessions.c.token_hash == _hash(token), web_sessions.c.ended_at.is_(None))
    ).first()
    if row is None:
        return None
    if as_utc(row.last_seen_at) <= now - idle or as_utc(row.created_at) <= now - lifetime:
        connection.execute(sa.update(web_sessions).where(web_sessions.c.id == row.id).values(ended_at=now))
        return None
    connection.execute(sa.update(web_sessions).where(web_sessions.c.id == row.id).values(last_seen_at=now))
    principal = Principal(row.role, ring.decrypt(row.principal_enc).decode(), row.kind)
    return Session(principal, row.csrf, as_utc(row.created_at))


def end_session(connection: Connection, token: str, *, now: dt.datetime) -> None:
    """Sign out: the session of this token ends now (nothing happens for any other token)."""
    connection.execute(
        sa.update(web_sessions)
        .where(web_sessions.c.token_hash == _hash(token), web_sessions.c.ended_at.is_(None))
        .values(ended_at=now)
    )
