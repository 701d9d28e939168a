"""Signing in to the pages with an OpenID Connect provider the tests start: the authorization-code flow with
PKCE through the real app, and every way it must fail (state, ID token, nonce, audience, verifier, identity)
ending on a plain page without a session, and without the identity in the log."""

from __future__ import annotations

import http.client
import logging
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import sqlalchemy as sa

from credo.adapters.oidc import OidcClient, OidcError, Provider, challenge
from credo.api.auth import OidcSettings
from credo.domain.identifiers import mask_identifier
from credo.errors import StoreError
from credo.store.bootstrap import init_store, open_store
from credo.store.tables import audit_log
from tests.apisupport import PERSON, TODAY, Api, api_over
from tests.oidcprovider import CLIENT_ID, CLIENT_SECRET, NAME, TestProvider, running_provider

REDIRECT = "http://testserver/signin/oidc/callback"
REVIEWER = {"sub": "u-rita", "credo_role": "reviewer", "credo_principal": "rita"}


@pytest.fixture(scope="module")
def provider() -> Iterator[TestProvider]:
    with running_provider() as running:
        yield running


@pytest.fixture(scope="module")
def served(provider: TestProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    folder = tmp_path_factory.mktemp("oidc")
    environ = {"CREDO_TODAY": TODAY, **provider.environ(REDIRECT)}
    store = open_store(f"sqlite:///{folder / 'credo.db'}", environ=environ)
    init_store(store)
    with api_over(store) as api:
        yield api
    store.engine.dispose()


@pytest.fixture
def api(served: Api, provider: TestProvider) -> Api:
    served.client.cookies.clear()
    provider.reset(dict(REVIEWER))
    return served


def at_provider(url: str) -> str:
    """What the browser does at the provider: ask its authorization address, get where to go back to."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    try:
        connection.request("GET", f"{parts.path}?{parts.query}")
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 302, answer.status
        return str(answer.getheader("Location"))
    finally:
        connection.close()


def local(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.path}?{parts.query}"


def start(api: Api) -> str:
    begun = api.client.get("/signin/oidc/start", follow_redirects=False)
    assert begun.status_code == 303, begun.text
    return str(begun.headers["location"])


def sign_in(api: Api) -> Any:
    """The whole flow: the button, the provider, back to the callback; the callback's answer."""
    return api.client.get(local(at_provider(start(api))), follow_redirects=False)


def signins(api: Api) -> list[Any]:
    with api.store.begin() as connection:
        return list(connection.execute(sa.select(audit_log).where(audit_log.c.action == "signin")).all())


def test_the_sign_in_page_offers_the_provider(api: Api) -> None:
    page = api.client.get("/signin")
    assert f"Sign in with {NAME}" in page.text and 'href="/signin/oidc/start"' in page.text
    assert f"使用 {NAME} 登录" in api.client.get("/signin?lang=zh").text


def test_the_flow_signs_in_with_pkce_and_is_audited_with_its_method(api: Api, provider: TestProvider) -> None:
    before = len(signins(api))
    begun = api.client.get("/signin/oidc/start", follow_redirects=False)
    location = urllib.parse.urlsplit(begun.headers["location"])
    asked = dict(urllib.parse.parse_qsl(location.query))
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{provider.issuer}/authorize"
    assert asked["client_id"] == CLIENT_ID and asked["redirect_uri"] == REDIRECT and asked["scope"] == "openid"
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
    assert len(asked["state"]) >= 32 and len(asked["nonce"]) >= 32
    cookie = begun.headers["set-cookie"]
    assert "credo_oidc=" in cookie and "HttpOnly" in cookie and "Path=/signin/oidc" in cookie
    assert asked["state"] not in cookie and asked["nonce"] not in cookie  # kept encrypted

    back = api.client.get(local(at_provider(begun.headers["location"])), follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == "/account"
    cookies = back.headers.get_list("set-cookie")
    assert any(c.startswith("credo_session=") for c in cookies)
    assert any(c.startswith('credo_oidc=""') and "Max-Age=0" in c for c in cookies)  # used once, then gone
    page = api.client.get("/account").text
    assert "You are signed in" in page and "rita" in page
    entries = signins(api)
    assert len(entries) == before + 1
    assert (entries[-1].actor_role, entries[-1].actor, entries[-1].detail) == ("reviewer", "rita", {"method": "oidc"})
    assert provider.refused == []


def test_a_subject_signs_in_by_the_identifier_its_provider_vouches_for(api: Api, provider: TestProvider) -> None:
    provider.reset({"sub": "u-1", "credo_role": "subject", "credo_principal": PERSON, "credo_kind": "person"})
    assert sign_in(api).headers["location"] == "/account"
    page = api.client.get("/account").text
    assert mask_identifier(PERSON) in page and PERSON not in page


def test_a_state_that_does_not_match_the_start_is_refused(api: Api) -> None:
    back = at_provider(start(api))
    tampered = local(back).replace("state=", "state=x")
    refused = api.client.get(tampered, follow_redirects=False)
    assert refused.headers["location"] == "/signin/oidc/problem/expired"
    page = api.client.get("/signin/oidc/problem/expired")
    assert page.status_code == 400 and "took too long" in page.text
    assert "credo_session" not in api.client.cookies


def test_coming_back_without_the_cookie_of_the_start_is_refused(api: Api) -> None:
    back = at_provider(start(api))
    api.client.cookies.clear()  # another browser, or the cookie ran out
    refused = api.client.get(local(back), follow_redirects=False)
    assert refused.headers["location"] == "/signin/oidc/problem/expired"


def test_a_person_who_says_no_at_the_provider_is_not_signed_in(api: Api, provider: TestProvider) -> None:
    provider.deny = True
    refused = sign_in(api)
    assert refused.headers["location"] == "/signin/oidc/problem/denied"
    page = api.client.get(refused.headers["location"])
    assert page.status_code == 403 and f"{NAME} did not sign you in" in page.text


def test_an_error_from_the_provider_is_logged_only_as_an_oauth_error_code(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start(api)).query))["state"]
    with caplog.at_level(logging.INFO):
        refused = api.client.get(f"/signin/oidc/callback?state={state}&error={PERSON}", follow_redirects=False)
    assert refused.headers["location"] == "/signin/oidc/problem/denied"
    assert "another error" in ours(caplog) and PERSON not in ours(caplog)


def ours(caplog: pytest.LogCaptureFixture) -> str:
    """What Credo logged (not the test client's own log of the URLs it asked for)."""
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("credo"))


def _claims(**changed: Any) -> Any:
    return lambda claims: {**claims, **changed}


@pytest.mark.parametrize(
    "tamper",
    [
        _claims(nonce="another-nonce"),
        _claims(aud="another-client"),
        _claims(aud=["another-client", CLIENT_ID]),  # several audiences, no azp naming this client
        _claims(iss="http://127.0.0.1:1"),
        _claims(exp=1_000_000_000),
        lambda claims: {k: v for k, v in claims.items() if k != "nonce"},
        None,  # signed with a key that is not in the provider's set
    ],
    ids=["nonce", "audience", "audiences", "issuer", "expired", "no-nonce", "foreign-key"],
)
def test_an_id_token_that_does_not_verify_signs_no_one_in(
    api: Api, provider: TestProvider, tamper: Any, caplog: pytest.LogCaptureFixture
) -> None:
    provider.tamper, provider.foreign_key = tamper, tamper is None
    with caplog.at_level(logging.INFO):
        refused = sign_in(api)
    assert refused.headers["location"] == "/signin/oidc/problem/failed"
    assert "credo_session" not in api.client.cookies
    logged = ours(caplog)
    assert "a sign-in with the OpenID provider failed" in logged and "rita" not in logged
    page = api.client.get("/signin/oidc/problem/failed")
    assert page.status_code == 400 and "could not be checked" in page.text


@pytest.mark.parametrize(
    "user",
    [
        {"sub": "u-2"},  # no role
        {"sub": "u-3", "credo_role": "emperor", "credo_principal": "x"},
        {"sub": "u-4", "credo_role": "subject", "credo_principal": PERSON[:-1] + "0"},  # a wrong check character
    ],
    ids=["no-role", "unknown-role", "bad-identifier"],
)
def test_an_identity_with_no_valid_role_is_refused_without_logging_it(
    api: Api, provider: TestProvider, user: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    provider.reset(user)
    before = len(signins(api))
    with caplog.at_level(logging.INFO):
        refused = sign_in(api)
    assert refused.headers["location"] == "/signin/oidc/problem/unknown"
    assert len(signins(api)) == before
    logged = ours(caplog)
    assert "no valid Credo role" in logged and PERSON[:-1] not in logged and "u-" not in logged
    page = api.client.get("/signin/oidc/problem/unknown")
    assert page.status_code == 403 and "not given a role" in page.text


def test_the_provider_refuses_a_code_without_its_verifier(api: Api, provider: TestProvider) -> None:
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(at_provider(start(api))).query))["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": CLIENT_ID}
    stolen = httpx2.post(f"{provider.issuer}/token", data=form, auth=(CLIENT_ID, CLIENT_SECRET))
    assert stolen.status_code == 400 and provider.refused == ["invalid_grant: code_verifier"]


def test_the_client_sends_the_verifier_of_its_challenge(provider: TestProvider) -> None:
    provider.reset(dict(REVIEWER))
    client = OidcClient(Provider.from_env(provider.environ(REDIRECT)) or pytest.fail("not configured"))
    begun = client.begin()
    assert dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(begun.url).query))["code_challenge"] == challenge(
        begun.verifier
    )
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(at_provider(begun.url)).query))["code"]
    with pytest.raises(OidcError, match="answered 400"):
        client.finish(code, "not-the-verifier-" + begun.verifier, begun.nonce)
    assert provider.refused == ["invalid_grant: code_verifier"]
    assert (
        challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )  # RFC 7636, appendix B


def test_a_provider_out_of_reach_ends_on_a_plain_page(tmp_path: Path, provider: TestProvider) -> None:
    environ = {"CREDO_TODAY": TODAY, **provider.environ(REDIRECT), "CREDO_OIDC_ISSUER": "http://127.0.0.1:9"}
    store = open_store(f"sqlite:///{tmp_path / 'credo.db'}", environ=environ)
    init_store(store)
    with api_over(store) as api:
        refused = api.client.get("/signin/oidc/start", follow_redirects=False)
        assert refused.headers["location"] == "/signin/oidc/problem/unavailable"
        page = api.client.get(refused.headers["location"])
        assert page.status_code == 502 and "cannot be reached" in page.text
    store.engine.dispose()


def test_without_a_provider_there_is_no_button(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'credo.db'}", environ={"CREDO_TODAY": TODAY})
    init_store(store)
    with api_over(store) as api:
        assert "/signin/oidc/start" not in api.client.get("/signin").text
        off = api.client.get("/signin/oidc/start", follow_redirects=False)
        assert off.headers["location"] == "/signin/oidc/problem/off"
        assert api.client.get("/signin/oidc/callback?code=x&state=y").url.path == "/signin/oidc/problem/off"
    store.engine.dispose()


def test_the_settings_are_checked_and_the_secret_is_never_shown() -> None:
    base = {
        "CREDO_OIDC_ISSUER": "https://id.example",
        "CREDO_OIDC_CLIENT_ID": "credo",
        "CREDO_OIDC_REDIRECT_URL": "https://credo.example/signin/oidc/callback",
        "CREDO_OIDC_CLIENT_SECRET": "hush",
    }
    provider = Provider.from_env(base)
    assert provider is not None and provider.name == "id.example" and "hush" not in repr(provider)
    assert Provider.from_env({}) is None
    with pytest.raises(StoreError, match="CREDO_OIDC_REDIRECT_URL"):
        Provider.from_env({k: v for k, v in base.items() if k != "CREDO_OIDC_REDIRECT_URL"})
    with pytest.raises(StoreError, match="not an https address"):
        Provider.from_env({**base, "CREDO_OIDC_ISSUER": "http://id.example"})
    assert OidcSettings.from_env(base) is None  # only the pages sign in with it: the API takes none of its tokens
    with pytest.raises(StoreError, match="set both"):
        OidcSettings.from_env({k: v for k, v in base.items() if k != "CREDO_OIDC_CLIENT_ID"})
