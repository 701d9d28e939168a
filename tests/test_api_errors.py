"""Bad requests get RFC 9457 problems with stable codes, never a 500; tokens are checked strictly."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from credo.api.app import create_app
from credo.store.bootstrap import init_store, open_store
from credo.store.push import MAX_RECORDS
from tests.apisupport import BANK, OTHER_PERSON, PERSON, SOURCE, TODAY, Api, api_over, record


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    store = open_store(f"sqlite:///{tmp_path / 'credo.db'}", environ={"CREDO_TODAY": TODAY})
    init_store(store)
    with api_over(store) as running:
        yield running
    store.engine.dispose()


def problem(response: object, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"] == f"urn:credo:problem:{code}"
    assert isinstance(body["title"], str) and isinstance(body["detail"], str)
    return body


def test_malformed_and_misshapen_bodies(api: Api) -> None:
    headers = {**api.headers("source", SOURCE), "Content-Type": "application/json"}
    problem(api.client.post("/v1/records", content=b"[{", headers=headers), 400, "malformed-json")
    problem(api.client.post("/v1/records", content=b"\xff\xfe", headers=headers), 400, "malformed-json")
    problem(api.client.post("/v1/records", content=b'{"a": 1}', headers=headers), 422, "invalid-request")
    problem(api.client.post("/v1/records", content=b"[]", headers=headers), 422, "invalid-request")
    lines = {**headers, "Content-Type": "application/x-ndjson"}
    body = problem(
        api.client.post("/v1/records", content=b'{"a": 1}\nnot json\n', headers=lines), 400, "malformed-json"
    )
    assert body["detail"] == "line 2 is not valid JSON"
    xml = {**headers, "Content-Type": "application/xml"}
    problem(api.client.post("/v1/records", content=b"<a/>", headers=xml), 415, "unsupported-media-type")
    op = api.headers("operator")
    problem(api.client.post("/v1/sources", json={"id": 5}, headers=op), 422, "invalid-request")
    problem(
        api.client.post("/v1/sources", content=b"{", headers={**op, "Content-Type": "application/json"}),
        400,
        "malformed-json",
    )


def test_wrong_types_in_a_record_are_rejected_per_record(api: Api) -> None:
    answer = api.push(
        record("T-1", amount=True),
        record("T-2", occurred_on=20260301),
        record("T-3", category=["a"]),
        ["not", "an", "object"],  # type: ignore[arg-type]
        record("x" * 201),
    )
    assert [r["reason"] for r in answer["results"]] == [
        "amount must be a number or decimal text",
        "occurred_on is not a valid date (YYYY-MM-DD)",
        "category must be text or a whole number",
        "record is not a JSON object",
        "record_id is longer than 200 characters",
    ]


def test_oversized_bodies_and_too_many_records(api: Api, tmp_path: Path) -> None:
    small = open_store(api.store.url.render_as_string(hide_password=False), environ={"CREDO_TODAY": TODAY})
    with TestClient(create_app(small, max_body=1000)) as client:
        big = json.dumps([record(f"B-{i}") for i in range(40)])
        problem(
            client.post(
                "/v1/records",
                content=big,
                headers={**api.headers("source", SOURCE), "Content-Type": "application/json"},
            ),
            413,
            "payload-too-large",
        )
    small.engine.dispose()
    many = [record(f"M-{i}") for i in range(MAX_RECORDS + 1)]
    body = problem(
        api.client.post("/v1/records", json=many, headers=api.headers("source", SOURCE)), 413, "payload-too-large"
    )
    assert str(MAX_RECORDS) in str(body["detail"])


def test_unknown_routes_methods_and_parameters(api: Api) -> None:
    problem(api.client.get("/v1/nothing-here"), 404, "not-found")
    problem(api.client.delete("/v1/rulebook"), 405, "method-not-allowed")
    body = problem(
        api.client.get("/v1/decisions/loan-fast-track", headers=api.headers("relying", BANK)), 422, "invalid-request"
    )
    assert body["errors"] == [{"where": "query.subject", "problem": "Field required"}]
    problem(
        api.client.get("/v1/audit/entries", params={"limit": "lots"}, headers=api.headers("auditor")),
        422,
        "invalid-request",
    )


def test_tokens_missing_forged_expired_or_from_another_store(api: Api, tmp_path: Path) -> None:
    url = "/v1/decisions/loan-fast-track"
    params = {"subject": PERSON}
    problem(api.client.get(url, params=params), 401, "unauthenticated")
    problem(api.client.get(url, params=params, headers={"Authorization": "Basic abc"}), 401, "unauthenticated")
    problem(api.client.get(url, params=params, headers={"Authorization": "Bearer not-a-jwt"}), 401, "unauthenticated")
    good = api.token("relying", BANK)
    head, claims, sig = good.split(".")
    tampered = f"{head}.{claims[:-2]}AA.{sig}"
    problem(api.client.get(url, params=params, headers={"Authorization": f"Bearer {tampered}"}), 401, "unauthenticated")
    expired = api.token("relying", BANK, expires=dt.timedelta(seconds=-10))
    body = problem(
        api.client.get(url, params=params, headers={"Authorization": f"Bearer {expired}"}), 401, "unauthenticated"
    )
    assert body["detail"] == "the token has expired"
    other = open_store(f"sqlite:///{tmp_path / 'other.db'}")
    init_store(other)
    foreign = Api(other, api.client).token("relying", BANK)
    other.engine.dispose()
    problem(api.client.get(url, params=params, headers={"Authorization": f"Bearer {foreign}"}), 401, "unauthenticated")
    accepted = api.client.get(url, params=params, headers={"Authorization": f"Bearer {good}"})
    assert accepted.status_code == 200, accepted.text  # past the token check: answered as a subject with no records


def test_a_deployments_own_openid_provider_is_trusted_when_configured(tmp_path: Path) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}))
    env = {
        "CREDO_TODAY": TODAY,
        "CREDO_OIDC_ISSUER": "https://id.example.test",
        "CREDO_OIDC_JWKS": str(tmp_path / "jwks.json"),
        "CREDO_OIDC_AUDIENCE": "credo",
    }
    store = open_store(f"sqlite:///{tmp_path / 'credo.db'}", environ=env)
    init_store(store)
    now = dt.datetime.now(dt.UTC)

    def token(**extra: object) -> str:
        claims = {"iss": "https://id.example.test", "aud": "credo", "sub": "u-1", "exp": now + dt.timedelta(hours=1),
                  "credo_role": "auditor", "credo_principal": "audit-office", **extra}  # fmt: skip
        return jwt.encode(claims, private, algorithm="RS256", headers={"kid": "k1"})

    with api_over(store) as running:
        ok = running.client.get("/v1/audit/verify", headers={"Authorization": f"Bearer {token()}"})
        assert ok.status_code == 200, ok.text
        wrong_aud = running.client.get("/v1/audit/verify", headers={"Authorization": f"Bearer {token(aud='other')}"})
        problem(wrong_aud, 401, "unauthenticated")
        other_role = running.client.get("/v1/stats", headers={"Authorization": f"Bearer {token(credo_role='subject')}"})
        problem(other_role, 401, "unauthenticated")  # a subject principal must be a valid identifier
        entries = running.client.get("/v1/audit/entries", headers={"Authorization": f"Bearer {token()}"}).json()
    store.engine.dispose()
    assert entries[-1]["actor"] == "audit-office"


def test_server_logs_hold_no_identifier(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    api.push(record("J-1"))
    api.decide("high-consumption-restriction")
    api.client.get("/v1/lists/honour-roll", params={"subject": PERSON})
    api.client.get("/v1/me/report", headers=api.headers("subject", PERSON))
    server_side = [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]  # httpx: the client
    assert server_side
    assert not [m for m in server_side if PERSON in m]


def test_metrics_count_requests_by_route_records_and_decisions(api: Api) -> None:
    api.push(record("J-1"), record("J-2", subject_kind="x"))
    api.decide("high-consumption-restriction")
    api.decide("high-consumption-restriction")
    text = api.client.get("/metrics").text
    assert 'credo_http_requests_total{method="GET",route="/v1/decisions/{measure_id}",status="200"} 2.0' in text
    assert 'credo_records_pushed_total{outcome="new"} 1.0' in text
    assert "credo_records_rejected_total 1.0" in text
    assert 'credo_decisions_total{applies="true",measure="high-consumption-restriction"} 2.0' in text
    assert 'credo_http_request_seconds_bucket{le="0.02",method="GET",route="/v1/decisions/{measure_id}"}' in text
    assert PERSON not in text
    assert api.client.get("/healthz").json() == {"status": "ok"}


def test_the_reference_page_is_served_locally(api: Api) -> None:
    page = api.client.get("/v1/docs")
    assert page.status_code == 200
    assert "/v1/docs/openapi-page.js" in page.text
    assert "http" not in page.text.replace("/v1/openapi.json", "").split("<script")[1]  # no script from elsewhere
    script = api.client.get("/v1/docs/openapi-page.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "x-credo-roles" in script.text


def test_deep_nesting_and_large_bodies_on_any_route(api: Api) -> None:
    deep = "[" * 5000 + "]" * 5000
    headers = {**api.headers("source", SOURCE), "Content-Type": "application/json"}
    problem(api.client.post("/v1/records", content=deep, headers=headers), 400, "malformed-json")
    lines = {**headers, "Content-Type": "application/x-ndjson"}
    problem(api.client.post("/v1/records", content=deep, headers=lines), 400, "malformed-json")
    op = {**api.headers("operator"), "Content-Type": "application/json"}
    problem(api.client.post("/v1/relying", content=deep, headers=op), 400, "malformed-json")
    huge = json.dumps({"id": "x", "measures": ["loan-fast-track"], "title": "t" * (5 * 1024 * 1024)})
    problem(api.client.post("/v1/relying", content=huge, headers=op), 413, "payload-too-large")


def test_problems_name_the_route_never_the_path_as_sent(api: Api) -> None:
    unknown = problem(api.client.get(f"/v1/subjects/{PERSON}"), 404, "not-found")
    assert "instance" not in unknown
    assert PERSON not in json.dumps(unknown)
    missing = problem(
        api.client.post(f"/v1/records/{SOURCE}/CASE-77/withdraw", headers=api.headers("source", SOURCE)),
        404,
        "not-found",
    )
    assert missing["instance"] == "/v1/records/{source}/{record_id}/withdraw"
    assert "CASE-77" not in json.dumps(missing)
    gone = problem(api.client.post("/v1/relying/nobody/disable", headers=api.headers("operator")), 404, "not-found")
    assert gone["detail"] == "no relying party nobody is registered"


def test_values_the_store_cannot_hold_are_rejected_not_failed(api: Api) -> None:
    """Each bad record is rejected with the reasons of file ingestion; the good ones in the same push are stored."""
    fields = json.dumps(record("A-1"))[:-1]  # the record without its closing brace
    huge = f'[{fields}, "amount": 1{"0" * 400}}}]'  # a JSON number of 401 digits
    headers = {**api.headers("source", SOURCE), "Content-Type": "application/json"}
    answer = api.client.post("/v1/records", content=huge, headers=headers).json()
    assert answer["results"][0]["reason"] == "amount is larger than 1000000000000000"
    bad = [
        record("A-2", occurred_on="9999-12-31"),
        record("A-3\x00"),
        record("A-4", reference="a\u2028b"),
        record("A-5", occurred_on="0001-01-01"),
        record("A-6", resolved_on="1899-12-31"),
        record("A-7", amount="9" * 400),
        record("A-8", amount=1e300),
        record("A-9", reference="\ud800"),
        record("A-10", category="tax.\x1b[2J"),
        record("A-11", occurred_on="2999-12-31", amount=10**15),
    ]
    answer = api.client.post("/v1/records", content=json.dumps(bad), headers=headers).json()  # \ud800 escaped
    assert [r.get("reason") for r in answer["results"]] == [
        "occurred_on must be between 1900-01-01 and 2999-12-31",
        "record_id contains a control character or a lone surrogate",
        None,
        "occurred_on must be between 1900-01-01 and 2999-12-31",
        "resolved_on must be between 1900-01-01 and 2999-12-31",
        "amount is larger than 1000000000000000",
        "amount is larger than 1000000000000000",
        "reference contains a control character or a lone surrogate",
        "category contains a control character or a lone surrogate",
        None,
    ]
    assert api.client.get("/v1/quarantine", headers=api.headers("operator")).status_code == 200
    line = json.dumps(record("A-12", reference="line\u2028separator"), ensure_ascii=False)
    lines = {**headers, "Content-Type": "application/x-ndjson"}
    assert api.client.post("/v1/records", content=line.encode(), headers=lines).json()["new"] == 1


def test_a_record_naming_a_field_twice_is_refused_as_ambiguous(api: Api) -> None:
    """Python's JSON keeps the last value, DuckDB's (credo ingest) the first: neither is taken."""
    fields = json.dumps(record("D-1"))[:-1]
    body = f'[{fields}, "amount": 5, "amount": 500}}, {json.dumps(record("D-2"))}]'
    headers = {**api.headers("source", SOURCE), "Content-Type": "application/json"}
    answer = api.client.post("/v1/records", content=body, headers=headers).json()
    assert [r.get("reason") for r in answer["results"]] == [
        "record names a field more than once (duplicate keys are ambiguous)",
        None,
    ]
    lines = {**headers, "Content-Type": "application/x-ndjson"}
    answer = api.client.post("/v1/records", content=f'{fields}, "record_id": "D-3"}}', headers=lines).json()
    assert answer["results"][0]["reason"] == "record names a field more than once (duplicate keys are ambiguous)"
    nan = f'[{fields}, "amount": NaN}}]'
    problem(api.client.post("/v1/records", content=nan, headers=headers), 400, "malformed-json")


def test_a_disabled_party_learns_nothing_about_subjects(api: Api) -> None:
    api.push(record("J-1"))
    assert api.client.post(f"/v1/relying/{BANK}/disable", headers=api.headers("operator")).status_code == 200
    known, unknown = api.decide("loan-fast-track"), api.decide("loan-fast-track", subject=OTHER_PERSON)
    assert (known.status_code, unknown.status_code) == (403, 403)
    assert known.json()["detail"] == unknown.json()["detail"] == f"relying party {BANK} is disabled"


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forged(header: object, claims: object, signature: bytes = b"sig") -> str:
    """A token put together by hand: any header and claims, as an attacker would send them."""
    part = [_b64(json.dumps(x).encode()) for x in (header, claims)]
    return f"{part[0]}.{part[1]}.{_b64(signature)}"


def test_a_token_that_cannot_be_verified_is_401_whatever_it_claims(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}))
    iss = "https://id.example.test"
    env = {"CREDO_TODAY": TODAY, "CREDO_OIDC_ISSUER": iss, "CREDO_OIDC_JWKS": str(tmp_path / "jwks.json")}
    store = open_store(f"sqlite:///{tmp_path / 'credo.db'}", environ=env)
    init_store(store)
    exp = int((dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).timestamp())
    claims = {"iss": iss, "sub": "u-1", "exp": exp, "credo_role": "auditor", "credo_principal": "audit-office"}
    ec_key = ec.generate_private_key(ec.SECP256R1())
    hostile = [
        jwt.encode(claims, ec_key, algorithm="ES256", headers={"kid": "k1"}),  # the provider's kid, another algorithm
        jwt.encode(claims, ec_key, algorithm="ES256"),  # no kid
        jwt.encode(claims, "secret-of-my-own-32-bytes-long!!", algorithm="HS256", headers={"kid": "k1"}),
        _forged({"alg": "none", "typ": "JWT", "kid": "k1"}, claims, b""),
        _forged({"alg": "ES256", "kid": "k1"}, claims),
        _forged({"alg": "EdDSA", "kid": "k1"}, claims),
        _forged({"alg": "RS256", "kid": ["k1"]}, claims),
        _forged({"alg": "RS256", "kid": {"a": 1}}, claims),
        _forged({"alg": "RS256", "kid": "k1", "crit": ["b64"]}, claims),
        _forged({"alg": "RS256", "kid": "k1"}, {**claims, "exp": "tomorrow"}),
        _forged({"alg": "RS256", "kid": "k1"}, {**claims, "exp": 1e400}),
        _forged({"alg": "RS256", "kid": "k1"}, {k: v for k, v in claims.items() if k != "exp"}),
        _forged({"alg": "RS256", "kid": "k1"}, [1, 2]),
        _forged(["RS256"], claims),
        _forged({"alg": 7, "kid": "k1"}, claims),
        _forged({"alg": "HS256", "kid": "1"}, {**claims, "iss": "credo", "exp": "soon"}),
        _forged({"alg": "HS256", "kid": ["1"]}, {**claims, "iss": "credo"}),
        _forged({"alg": "HS256", "kid": "99999999999999999999999"}, {**claims, "iss": "credo"}),
    ]
    with api_over(store) as running:
        for token in hostile:
            answer = running.client.get("/v1/audit/verify", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 401, (jwt.get_unverified_header(token) if "." in token else token, answer.text)
    store.engine.dispose()


def test_a_key_set_over_plain_http_is_refused_unless_its_host_is_allowed(tmp_path: Path) -> None:
    from credo.api.auth import OidcSettings
    from credo.store.errors import StoreError

    env = {"CREDO_OIDC_ISSUER": "https://id.example.test", "CREDO_OIDC_JWKS": "http://id.internal:8080/jwks"}
    with pytest.raises(StoreError, match=r"CREDO_OIDC_JWKS.*plain http.*CREDO_OIDC_ALLOW_HTTP_HOSTS"):
        OidcSettings.from_env(env)
    store = open_store(f"sqlite:///{tmp_path / 'credo.db'}", environ={"CREDO_TODAY": TODAY, **env})
    init_store(store)
    with pytest.raises(StoreError, match="plain http"):
        create_app(store)
    store.engine.dispose()
    for other in ("other.internal", "id.internal.evil"):
        with pytest.raises(StoreError, match="plain http"):
            OidcSettings.from_env({**env, "CREDO_OIDC_ALLOW_HTTP_HOSTS": other})
    allowed = OidcSettings.from_env({**env, "CREDO_OIDC_ALLOW_HTTP_HOSTS": "other.internal, ID.internal"})
    assert allowed is not None and allowed.jwks == env["CREDO_OIDC_JWKS"]
    assert OidcSettings.from_env({**env, "CREDO_OIDC_JWKS": "https://id.example.test/jwks"}) is not None
    for odd in ("ftp://id.internal/jwks", "file:///etc/jwks.json", "HTTP://id.internal/jwks"):
        with pytest.raises(StoreError, match="CREDO_OIDC_JWKS"):
            OidcSettings.from_env({**env, "CREDO_OIDC_JWKS": odd})
