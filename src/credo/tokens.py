"""Credo's own bearer tokens: a role and a principal, signed with a key derived from the store's keys.

Credo signs its tokens (``credo token issue``) with HS256 under a key derived from the store's current HMAC
key (HMAC-SHA256 of a fixed label), so ``credo init`` creates it with the other keys and the token's ``kid``
names the key version: rotating the keys (``credo keys rotate``) then retiring the old version revokes every
token signed under it. Verifying tokens, Credo's and an OpenID Connect provider's, is the API's
(:mod:`credo.api.auth`); making them is here, where the command line and the services reach it too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid

import jwt

from credo.domain.durations import parse_duration
from credo.domain.identifiers import problem_with_identifier
from credo.domain.records import KINDS
from credo.store.errors import StoreError
from credo.store.keys import KeyRing
from credo.store.sources import SOURCE_ID

__all__ = [
    "AUDIENCE",
    "DEFAULT_EXPIRY",
    "ISSUER",
    "NEEDS_PRINCIPAL",
    "ROLES",
    "check_principal",
    "issue_token",
    "parse_expiry",
    "signing_key",
    "subject_kind",
]

ROLES = ("operator", "source", "relying", "reviewer", "subject", "auditor")
NEEDS_PRINCIPAL = ("source", "relying", "subject")
ISSUER = "credo"
AUDIENCE = "credo-api"
DEFAULT_EXPIRY = dt.timedelta(days=30)
_LABEL = b"credo api token signing v1"


def signing_key(ring: KeyRing, version: int | None = None) -> bytes:
    key = ring.versions[ring.current if version is None else version].hmac_key
    return hmac.new(key, _LABEL, hashlib.sha256).digest()


def subject_kind(identifier: str, kind: str | None) -> str:
    """The kind a subject token is for: ``kind`` if the identifier is valid for it, else the one it is valid for.

    About one resident identity number in 250 is also a valid USCC: such a
    token must say which, or it could open an organisation's report.
    """
    if kind is not None:
        if kind not in KINDS:
            raise StoreError(f"unknown kind {kind!r}: person or organization")
        if problem_with_identifier(identifier, kind) is not None:
            raise StoreError(f"the principal is not a valid identifier of a {kind} (check character included)")
        return kind
    valid = [k for k in KINDS if problem_with_identifier(identifier, k) is None]
    if not valid:
        raise StoreError("the principal of a subject token must be a valid identifier (check character included)")
    if len(valid) > 1:
        raise StoreError("the identifier is valid for a person and an organisation: say which with --kind")
    return valid[0]


def check_principal(role: str, principal: str | None) -> str:
    """The principal a role's token carries; raise StoreError for a role or principal that cannot be."""
    if role not in ROLES:
        raise StoreError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    if role in NEEDS_PRINCIPAL and not principal:
        what = {"source": "a source id", "relying": "a relying-party id", "subject": "the subject's identifier"}[role]
        raise StoreError(f"a {role} token needs a principal: {what}")
    name = principal or role
    if role == "subject":
        if all(problem_with_identifier(name, kind) is not None for kind in KINDS):
            raise StoreError("the principal of a subject token must be a valid identifier (check character included)")
    elif not SOURCE_ID.fullmatch(name):
        raise StoreError(
            f"principal {name!r} is not valid: lowercase letters, digits, '-', '_' and '.', at most 100 characters"
        )
    return name


def parse_expiry(text: str) -> dt.timedelta:
    """A duration such as 90d, 12w, 1y (the rulebook's units, but not m), or a number of hours such as 8h."""
    if text.endswith("h") and text[:-1].isdigit() and int(text[:-1]) > 0:
        return dt.timedelta(hours=int(text[:-1]))
    if text.endswith("m"):  # the rulebook's 30-day month would be read as minutes here
        raise StoreError(f"--expires {text!r}: write days (30d) or hours (8h); m is ambiguous")
    try:
        days = parse_duration(text)
    except ValueError:
        raise StoreError(f"--expires {text!r} is not a duration such as 8h, 30d, 12w or 1y") from None
    if days <= 0:
        raise StoreError("--expires must be at least one day (or a number of hours such as 8h)")
    return dt.timedelta(days=days)


def issue_token(
    ring: KeyRing,
    role: str,
    principal: str | None,
    *,
    now: dt.datetime,
    expires: dt.timedelta = DEFAULT_EXPIRY,
    kind: str | None = None,
) -> str:
    """A signed token; a subject's carries its ``kind`` too (inferred from the identifier when only one fits)."""
    name = check_principal(role, principal)
    if kind is not None and role != "subject":
        raise StoreError("--kind is for subject tokens only")
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": name,
        "role": role,
        "iat": int(now.timestamp()),
        "exp": int((now + expires).timestamp()),
        "jti": str(uuid.uuid4()),
    }
    if role == "subject":
        claims["kind"] = subject_kind(name, kind)
    return jwt.encode(claims, signing_key(ring), algorithm="HS256", headers={"kid": str(ring.current)})
