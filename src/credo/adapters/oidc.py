"""Signing in to the pages with an OpenID Connect provider: the authorization-code flow with PKCE (S256).

The provider is configured from the environment (:meth:`Provider.from_env`, docs/web.md, "Signing in with
OpenID Connect"); its endpoints and key set are discovered from ``{issuer}/.well-known/openid-configuration``
when first needed. :meth:`OidcClient.begin` makes a fresh state, nonce and PKCE verifier and the address to
send the person to; :meth:`OidcClient.finish` exchanges the code the provider sent back, with the verifier,
at the token endpoint and verifies the ID token it gets (signature against the provider's key set, issuer,
audience, expiry, nonce) with joserfc. What the token says is mapped to a role and principal by the services
(:func:`credo.services.signin.sign_in_verified`), not here.

The provider is reached over https only, or over plain http to a host named in
``CREDO_OIDC_ALLOW_HTTP_HOSTS`` (a provider on the deployment's own network, or the tests' own). The client
secret is never logged nor shown; an :class:`OidcError` says what failed without any claim's value.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from credo.domain.delivery import host_key
from credo.errors import CredoError, StoreError

__all__ = ["Begun", "OidcClient", "OidcError", "Provider"]

ALGORITHMS = ("RS256", "ES256", "PS256", "EdDSA")  # asymmetric only: a provider's key set is public
TIMEOUT = 10.0  # seconds for one request to the provider
REFRESH = 3600.0  # seconds the discovery document and key set are kept before they are read again
LEEWAY = 60  # seconds of clock difference allowed on the ID token's times
MAX_ANSWER = 1_000_000  # bytes read from the provider at most


class OidcError(CredoError):
    """The sign-in with the provider did not complete; ``str()`` says which step failed, never a claim's value."""

    def __init__(self, message: str, *, unavailable: bool = False) -> None:
        super().__init__(message)
        self.unavailable = unavailable  # the provider could not be reached (rather than refusing or lying)


@dataclass(frozen=True)
class Provider:
    """How to reach the provider, and which of its claims name a Credo role, principal and kind."""

    issuer: str
    client_id: str
    redirect_url: str  # this server's /signin/oidc/callback as the provider knows it
    name: str  # shown on the sign-in button
    client_secret: str | None = field(default=None, repr=False)  # None: a public client (PKCE only)
    role_claim: str = "credo_role"
    principal_claim: str = "credo_principal"
    kind_claim: str = "credo_kind"
    allow_http: frozenset[str] = frozenset()

    @staticmethod
    def from_env(environ: Mapping[str, str] | None = None) -> Provider | None:
        """The provider the pages sign in with (``CREDO_OIDC_CLIENT_ID`` turns it on), or None."""
        environ = os.environ if environ is None else environ
        client_id = environ.get("CREDO_OIDC_CLIENT_ID")
        if not client_id:
            return None
        issuer, redirect = environ.get("CREDO_OIDC_ISSUER"), environ.get("CREDO_OIDC_REDIRECT_URL")
        if not issuer or not redirect:
            raise StoreError(
                "signing in with an OpenID Connect provider needs CREDO_OIDC_ISSUER and CREDO_OIDC_REDIRECT_URL "
                "as well as CREDO_OIDC_CLIENT_ID"
            )
        allow = frozenset(host_key(h) for h in environ.get("CREDO_OIDC_ALLOW_HTTP_HOSTS", "").split(",") if h.strip())
        provider = Provider(
            issuer.rstrip("/"),
            client_id,
            redirect,
            environ.get("CREDO_OIDC_NAME") or urllib.parse.urlsplit(issuer).hostname or issuer,
            environ.get("CREDO_OIDC_CLIENT_SECRET") or None,
            environ.get("CREDO_OIDC_ROLE_CLAIM") or "credo_role",
            environ.get("CREDO_OIDC_PRINCIPAL_CLAIM") or "credo_principal",
            environ.get("CREDO_OIDC_KIND_CLAIM") or "credo_kind",
            allow,
        )
        provider.check_address("CREDO_OIDC_ISSUER", provider.issuer)
        if urllib.parse.urlsplit(redirect).scheme not in ("https", "http"):
            raise StoreError(f"CREDO_OIDC_REDIRECT_URL {redirect} is not an http(s) address")
        return provider

    def check_address(self, setting: str, address: str) -> None:
        """Refuse an address of the provider's that is not https (or http to an allowed host)."""
        parts = urllib.parse.urlsplit(address)
        if parts.hostname and (
            parts.scheme == "https" or (parts.scheme == "http" and host_key(parts.hostname) in self.allow_http)
        ):
            return
        raise StoreError(
            f"{setting} {address} is not an https address (plain http only to a host named in "
            "CREDO_OIDC_ALLOW_HTTP_HOSTS)"
        )


@dataclass(frozen=True)
class Begun:
    """A sign-in just begun: what to keep until the provider sends the person back, and where to send them."""

    state: str
    nonce: str
    verifier: str
    url: str


@dataclass(frozen=True)
class _Discovered:
    authorization: str
    token: str
    jwks: str
    read_at: float


class OidcClient:
    """The pages' client of one provider: discovery and key set kept for :data:`REFRESH` seconds."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self._lock = threading.Lock()
        self._discovered: _Discovered | None = None
        self._keys: tuple[KeySet, float] | None = None

    def begin(self) -> Begun:
        """A new state, nonce and PKCE verifier, and the provider's authorization address asking for a code."""
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        query = {
            "response_type": "code",
            "client_id": self.provider.client_id,
            "redirect_uri": self.provider.redirect_url,
            "scope": "openid",
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge(verifier),
            "code_challenge_method": "S256",
        }
        endpoint = self._discovery().authorization
        separator = "&" if "?" in endpoint else "?"
        return Begun(state, nonce, verifier, f"{endpoint}{separator}{urllib.parse.urlencode(query)}")

    def finish(self, code: str, verifier: str, nonce: str) -> dict[str, Any]:
        """The verified claims of the ID token the code is exchanged for (OidcError if anything does not hold)."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.provider.redirect_url,
            "code_verifier": verifier,
            "client_id": self.provider.client_id,
        }
        headers = {}
        if self.provider.client_secret is not None:  # client_secret_basic (RFC 6749, 2.3.1)
            pair = f"{_quote(self.provider.client_id)}:{_quote(self.provider.client_secret)}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        answer = self._post(self._discovery().token, form, headers)
        id_token = answer.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError("the provider's token answer carries no ID token")
        return self._verified(id_token, nonce)

    def _verified(self, id_token: str, nonce: str) -> dict[str, Any]:
        try:
            token = self._decode(id_token, refresh=False)
        except JoseError as exc:
            if not _unknown_key(exc):
                raise OidcError(f"the ID token does not verify ({type(exc).__name__})") from None
            try:  # the provider may have rotated its keys since they were read
                token = self._decode(id_token, refresh=True)
            except JoseError as again:
                raise OidcError(f"the ID token does not verify ({type(again).__name__})") from None
        claims = dict(token.claims)
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY,
            iss={"essential": True, "value": self.provider.issuer},
            aud={"essential": True, "value": self.provider.client_id},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise OidcError(f"the ID token's claims do not hold ({type(exc).__name__})") from None
        audience = claims["aud"]
        if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != self.provider.client_id:
            raise OidcError("the ID token names other audiences and was not issued to this client (azp)")
        return claims

    def _decode(self, id_token: str, *, refresh: bool) -> jwt.Token:
        return jwt.decode(id_token, self._key_set(refresh=refresh), algorithms=list(ALGORITHMS))

    def _discovery(self) -> _Discovered:
        with self._lock:
            found = self._discovered
        if found is not None and time.monotonic() - found.read_at < REFRESH:
            return found
        document = self._get(f"{self.provider.issuer}/.well-known/openid-configuration")
        if document.get("issuer") != self.provider.issuer:
            raise OidcError("the provider's discovery document names another issuer")
        addresses: list[str] = []
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = document.get(name)
            if not isinstance(value, str):
                raise OidcError(f"the provider's discovery document has no {name}")
            try:
                self.provider.check_address(name, value)
            except StoreError as exc:
                raise OidcError(str(exc)) from None
            addresses.append(value)
        found = _Discovered(addresses[0], addresses[1], addresses[2], time.monotonic())
        with self._lock:
            self._discovered = found
        return found

    def _key_set(self, *, refresh: bool) -> KeySet:
        with self._lock:
            kept = self._keys
        if kept is not None and not refresh and time.monotonic() - kept[1] < REFRESH:
            return kept[0]
        try:
            keys = KeySet.import_key_set(self._get(self._discovery().jwks))  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError):
            raise OidcError("the provider's key set cannot be read") from None
        with self._lock:
            self._keys = (keys, time.monotonic())
        return keys

    def _get(self, address: str) -> dict[str, Any]:
        return _json_answer(urllib.request.Request(address, headers={"Accept": "application/json"}))

    def _post(self, address: str, form: Mapping[str, str], headers: Mapping[str, str]) -> dict[str, Any]:
        body = urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(
            address,
            data=body,
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json", **headers},
        )
        return _json_answer(request)


def challenge(verifier: str) -> str:
    """The PKCE S256 code challenge of a verifier (RFC 7636, 4.2): BASE64URL(SHA256(verifier)), unpadded."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _quote(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _unknown_key(exc: JoseError) -> bool:
    return type(exc).__name__ in ("InvalidKeyIdError", "MissingKeyError")


def _json_answer(request: urllib.request.Request) -> dict[str, Any]:
    """The provider's JSON object answer; OidcError when it cannot be reached or answers otherwise."""
    where = urllib.parse.urlsplit(request.full_url).path or "/"
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            body = answer.read(MAX_ANSWER + 1)
    except urllib.error.HTTPError as exc:
        with exc:
            raise OidcError(f"the provider answered {exc.code} at {where}") from None
    except (OSError, urllib.error.URLError):
        raise OidcError(f"the provider cannot be reached at {where}", unavailable=True) from None
    if len(body) > MAX_ANSWER:
        raise OidcError(f"the provider's answer at {where} is too long")
    try:
        value = json.loads(body)
    except ValueError:
        raise OidcError(f"the provider's answer at {where} is not JSON") from None
    if not isinstance(value, dict):
        raise OidcError(f"the provider's answer at {where} is not a JSON object")
    return value
