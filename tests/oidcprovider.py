"""A small OpenID Connect provider the tests start on a local port: discovery, key set, authorize, token.

It signs one configured person in without asking (``user``), gives a code bound to the client, the redirect
address, the nonce and the PKCE challenge (S256 only), and exchanges it once for an ID token signed with RS256,
only with the client's secret and the verifier of that challenge. A test may make it refuse (``deny``), or
hand out a token that must not verify (``tamper`` changes the claims, ``foreign_key`` signs with a key not in
its set).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID = "credo-pages"
CLIENT_SECRET = "provider-secret-for-tests"
NAME = "Test ID"
_KEY = RSAKey.generate_key(2048, parameters={"kid": "test-1"})
_OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "test-1"})  # same kid, not in the key set


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    nonce: str | None
    challenge: str


@dataclass
class TestProvider:
    """What the provider does; a test changes ``user``, ``deny``, ``tamper`` or ``foreign_key`` as it needs."""

    __test__ = False  # not a test class, for pytest

    issuer: str = ""
    redirect_uris: set[str] = field(default_factory=set)
    user: dict[str, Any] = field(default_factory=dict)
    deny: bool = False
    tamper: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    foreign_key: bool = False
    grants: dict[str, Grant] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)  # why token requests were refused

    def reset(self, user: dict[str, Any]) -> None:
        self.user, self.deny, self.tamper, self.foreign_key = user, False, None, False
        self.refused.clear()

    def environ(self, redirect: str) -> dict[str, str]:
        """The settings that make ``credo serve`` sign in with this provider."""
        self.redirect_uris.add(redirect)
        return {
            "CREDO_OIDC_ISSUER": self.issuer,
            "CREDO_OIDC_CLIENT_ID": CLIENT_ID,
            "CREDO_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "CREDO_OIDC_REDIRECT_URL": redirect,
            "CREDO_OIDC_NAME": NAME,
            "CREDO_OIDC_ALLOW_HTTP_HOSTS": "127.0.0.1",
        }

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        }

    def authorize(self, query: dict[str, str]) -> str:
        """Where the browser goes next: back to the client with a code (or an error), or an error of our own."""
        redirect = query.get("redirect_uri", "")
        if query.get("client_id") != CLIENT_ID or redirect not in self.redirect_uris:
            raise ValueError("unknown client or redirect address")
        back: dict[str, str] = {"state": query.get("state", "")}
        if self.deny:
            back["error"] = "access_denied"
        elif (
            query.get("response_type") != "code"
            or "openid" not in query.get("scope", "").split()
            or query.get("code_challenge_method") != "S256"
            or not query.get("code_challenge")
        ):
            back["error"] = "invalid_request"
        else:
            code = secrets.token_urlsafe(24)
            self.grants[code] = Grant(CLIENT_ID, redirect, query.get("nonce"), query["code_challenge"])
            back["code"] = code
        return f"{redirect}?{urllib.parse.urlencode(back)}"

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict[str, Any]]:
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if authorization != expected:
            return self._refuse(401, "invalid_client")
        grant = self.grants.pop(form.get("code", ""), None)  # a code is good once
        if grant is None or form.get("grant_type") != "authorization_code":
            return self._refuse(400, "invalid_grant")
        if form.get("redirect_uri") != grant.redirect_uri:
            return self._refuse(400, "invalid_grant: redirect_uri")
        verifier = form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not verifier or digest != grant.challenge:
            return self._refuse(400, "invalid_grant: code_verifier")
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300, **self.user}
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        if self.tamper is not None:
            claims = self.tamper(claims)
        key = _OTHER_KEY if self.foreign_key else _KEY
        id_token = jwt.encode({"alg": "RS256", "kid": "test-1"}, claims, key)
        return 200, {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "id_token": id_token}

    def _refuse(self, status: int, why: str) -> tuple[int, dict[str, Any]]:
        self.refused.append(why)
        return status, {"error": why.split(":", maxsplit=1)[0]}


def _handler(provider: TestProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            if parts.path == "/.well-known/openid-configuration":
                self._json(200, provider.discovery())
            elif parts.path == "/jwks":
                self._json(200, KeySet([_KEY]).as_dict(private=False))
            elif parts.path == "/authorize":
                try:
                    where = provider.authorize(dict(urllib.parse.parse_qsl(parts.query)))
                except ValueError:
                    self._json(400, {"error": "invalid_request"})
                    return
                self.send_response(302)
                self.send_header("Location", where)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            if urllib.parse.urlsplit(self.path).path != "/token":
                self._json(404, {"error": "not_found"})
                return
            self._json(*provider.token(form, self.headers.get("Authorization", "")))

        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    return Handler


@contextmanager
def running_provider() -> Iterator[TestProvider]:
    """The provider on a free local port, for as long as the block runs."""
    provider = TestProvider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    provider.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
