"""Who is calling: bearer tokens (JWT) carrying a role and a principal, verified.

Credo's own tokens are made by :mod:`credo.tokens` (``credo token issue``),
signed under a key derived from the store's keys and named by its version,
so rotating the keys revokes them. A deployment may instead,
or as well, trust its own OpenID Connect provider: set
``CREDO_OIDC_ISSUER`` and ``CREDO_OIDC_JWKS`` (an https URL or a file with
the provider's JWK set; a plain http URL only when its host is named in
``CREDO_OIDC_ALLOW_HTTP_HOSTS``) and optionally ``CREDO_OIDC_AUDIENCE``,
``CREDO_OIDC_ROLE_CLAIM`` (default ``credo_role``) and
``CREDO_OIDC_PRINCIPAL_CLAIM`` (default ``credo_principal``, else ``sub``).

Roles and their principals (docs/api.md, "Roles"):

========== =========================================================
operator   a name for the audit trail (default ``operator``)
source     the id of a registered source
relying    the id of a registered relying party
reviewer   a name for the audit trail
subject    the subject's own identifier (checked for its check character)
auditor    a name for the audit trail
========== =========================================================
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt

from credo.domain.delivery import host_key
from credo.errors import AuthError
from credo.store.errors import StoreError
from credo.store.keys import KeyRing
from credo.tokens import (
    AUDIENCE,
    DEFAULT_EXPIRY,
    ISSUER,
    NEEDS_PRINCIPAL,
    ROLES,
    check_principal,
    issue_token,
    parse_expiry,
    signing_key,
    subject_kind,
)

__all__ = [
    "DEFAULT_EXPIRY",
    "NEEDS_PRINCIPAL",
    "ROLES",
    "AuthError",
    "OidcSettings",
    "Principal",
    "TokenVerifier",
    "issue_token",
    "parse_expiry",
]

ALLOW_HTTP_HOSTS = "CREDO_OIDC_ALLOW_HTTP_HOSTS"
logger = logging.getLogger("credo.api")


@dataclass(frozen=True)
class Principal:
    role: str
    id: str  # a source or relying-party id, a subject's identifier, or a name
    kind: str | None = None  # a subject's kind (person or organization); None for the other roles


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    jwks: str  # an https URL or a file path
    audience: str | None = None
    role_claim: str = "credo_role"
    principal_claim: str = "credo_principal"
    kind_claim: str = "credo_kind"

    @staticmethod
    def from_env(environ: Mapping[str, str] | None = None) -> OidcSettings | None:
        env = os.environ if environ is None else environ
        issuer, jwks = env.get("CREDO_OIDC_ISSUER"), env.get("CREDO_OIDC_JWKS")
        if not issuer and not jwks:
            return None
        if not jwks and env.get("CREDO_OIDC_CLIENT_ID"):
            return None  # only the pages sign in with it (credo.adapters.oidc): the API does not take its tokens
        if not issuer or not jwks:
            raise StoreError("set both CREDO_OIDC_ISSUER and CREDO_OIDC_JWKS to trust an OpenID Connect provider")
        _check_jwks_location(jwks, env.get(ALLOW_HTTP_HOSTS, ""))
        return OidcSettings(
            issuer,
            jwks,
            env.get("CREDO_OIDC_AUDIENCE") or None,
            env.get("CREDO_OIDC_ROLE_CLAIM") or "credo_role",
            env.get("CREDO_OIDC_PRINCIPAL_CLAIM") or "credo_principal",
            env.get("CREDO_OIDC_KIND_CLAIM") or "credo_kind",
        )


def _check_jwks_location(location: str, allow_http: str) -> None:
    """Refuse a key set that would be fetched in the clear, or from anything but https, http or a file.

    The key set is what every token from the provider is trusted by: fetched
    over plain http, anyone on the path could hand Credo their own keys. A
    deployment whose provider sits on its own network without TLS names the
    host in ``CREDO_OIDC_ALLOW_HTTP_HOSTS`` (comma-separated), as webhooks'
    receivers are named in the allowed hosts.
    """
    if "://" not in location:
        return  # a file
    parts = urlsplit(location)
    scheme = parts.scheme.lower()
    if scheme == "https" and parts.hostname:
        return
    if scheme == "http" and parts.hostname:
        allowed = {host_key(h) for h in allow_http.split(",") if h.strip()}
        if host_key(parts.hostname) in allowed:
            return
        raise StoreError(
            f"CREDO_OIDC_JWKS {location} would be fetched over plain http, where anyone on the way could swap the "
            f"provider's keys: use https, or name the host in {ALLOW_HTTP_HOSTS}={host_key(parts.hostname)} "
            "if it is on the deployment's own network"
        )
    raise StoreError(f"CREDO_OIDC_JWKS {location} is neither an https URL nor a file path")


class _Jwks:
    """The provider's public keys: fetched from its URL (cached by PyJWT) or read once from a file."""

    def __init__(self, location: str) -> None:
        self.client: jwt.PyJWKClient | None = None
        self.keys: jwt.PyJWKSet | None = None
        if "://" in location:  # https, or http to an allowed host (checked by OidcSettings.from_env)
            self.client = jwt.PyJWKClient(location, cache_keys=True, lifespan=300)
        else:
            try:
                self.keys = jwt.PyJWKSet.from_dict(json.loads(Path(location).read_text(encoding="utf-8")))
            except (OSError, ValueError, jwt.PyJWTError) as exc:
                raise StoreError(f"CREDO_OIDC_JWKS: cannot read a JWK set from {location}: {exc}") from None

    def key_for(self, token: str) -> Any:
        if self.client is not None:
            return self.client.get_signing_key_from_jwt(token).key
        kid = jwt.get_unverified_header(token).get("kid")
        assert self.keys is not None
        for key in self.keys.keys:
            if kid is None or key.key_id == kid:
                return key.key
        raise AuthError("the token's key is not in the provider's key set")


class TokenVerifier:
    """Checks a bearer token: Credo's own (HS256, ``iss`` credo) or the configured provider's."""

    CACHE = 10_000  # verified tokens remembered (until they expire), so a busy caller is not re-verified each time

    def __init__(self, ring: KeyRing, oidc: OidcSettings | None = None) -> None:
        self.ring = ring  # the keys it was made with: a rotation makes a new verifier
        self.keys = {version: signing_key(ring, version) for version in ring.versions}
        self.oidc = oidc
        self.jwks = _Jwks(oidc.jwks) if oidc is not None else None
        self._verified: dict[str, tuple[Principal, float]] = {}

    def verify(self, token: str) -> Principal:
        """The token's principal; a token verified before is taken from memory until its ``exp``."""
        known = self._verified.get(token)
        if known is not None and time.time() < known[1]:
            return known[0]
        principal, expires = self._verify(token)
        if len(self._verified) >= self.CACHE:
            self._verified.clear()
        self._verified[token] = (principal, expires)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        """The principal and expiry of a token that verifies; AuthError (401) for any other token, whatever it holds.

        A token is the attacker's input: whatever PyJWT, the key lookup or the
        claims make fail (an algorithm the key does not fit, a ``kid`` that is
        a list, an ``exp`` of 1e400), the answer is that it does not verify.
        """
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            header = jwt.get_unverified_header(token)
        except Exception:  # any failure to read it: not a JWT
            raise AuthError("the bearer token is not a valid JWT") from None
        try:
            if unverified.get("iss") == ISSUER:
                principal = self._own(token, header)
            elif self.oidc is not None and unverified.get("iss") == self.oidc.issuer:
                principal = self._provider(token)
            else:
                raise AuthError("the token's issuer is not trusted")
            return principal, float(unverified["exp"])
        except AuthError:
            raise
        except jwt.PyJWKClientConnectionError:
            logger.warning("the OpenID provider's key set could not be fetched")
            raise AuthError("the token cannot be verified now: the provider's keys could not be fetched") from None
        except Exception as exc:  # whatever a hostile token makes the library raise: not verified
            logger.info("a token did not verify: %s", type(exc).__name__)
            raise AuthError("the token's signature or claims do not verify") from None

    def _own(self, token: str, header: Mapping[str, Any]) -> Principal:
        try:
            key = self.keys[int(header.get("kid", ""))]
        except (KeyError, ValueError, TypeError):
            raise AuthError("the token was signed with a key this store no longer has") from None
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["HS256"],
                issuer=ISSUER,
                audience=AUDIENCE,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("the token has expired") from None
        except jwt.PyJWTError:
            raise AuthError("the token's signature or claims do not verify") from None
        return self._principal(claims.get("role"), claims.get("sub"), claims.get("kind"))

    def _provider(self, token: str) -> Principal:
        assert self.oidc is not None and self.jwks is not None
        try:
            claims = jwt.decode(
                token,
                self.jwks.key_for(token),
                algorithms=["RS256", "ES256", "PS256", "EdDSA"],
                issuer=self.oidc.issuer,
                audience=self.oidc.audience,
                options={"require": ["exp", "iss"], "verify_aud": self.oidc.audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("the token has expired") from None
        except jwt.PyJWTError:
            raise AuthError("the token's signature or claims do not verify") from None
        principal = claims.get(self.oidc.principal_claim, claims.get("sub"))
        return self._principal(claims.get(self.oidc.role_claim), principal, claims.get(self.oidc.kind_claim))

    @staticmethod
    def _principal(role: object, principal: object, kind: object = None) -> Principal:
        if not isinstance(role, str) or not isinstance(principal, str):
            raise AuthError("the token carries no role or principal")
        if kind is not None and not isinstance(kind, str):
            raise AuthError("the token's kind is not valid")
        try:
            name = check_principal(role, principal)
            return Principal(role, name, subject_kind(name, kind) if role == "subject" else None)
        except StoreError:
            raise AuthError("the token's role, principal or kind is not valid") from None
