"""Every write through the API is in the audit trail: every operation of the OpenAPI document, called as allowed.

As tests/test_audit_writes.py does for the CLI: each operation is called by
a caller it allows, with a request that succeeds, every table is
fingerprinted before and after, and an operation that changed a table must
have appended to the audit trail. A new route fails
:func:`test_every_operation_is_walked` until it is walked here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from credo.store.audit import verify
from credo.store.bootstrap import init_store, open_store
from tests.apisupport import API_YAML, BANK, PERSON, SOURCE, TODAY, Api, api_over, record
from tests.conftest import Backend
from tests.test_audit_writes import a_failed_delivery, audit_count, fingerprint

REPAIRABLE = API_YAML.replace("    counts_for: 5y\n", "    counts_for: 5y\n    repair_after: 30d\n", 1)
assert REPAIRABLE != API_YAML


@dataclass
class Call:
    method: str
    route: str  # the OpenAPI path template
    role: str | None  # None: public
    principal: str | None = None
    body: Any = None
    params: dict[str, str] = field(default_factory=dict)
    values: Callable[[Api, dict[str, Any]], dict[str, str]] | None = None  # path values from what came before


def dispute_of(_api: Api, seen: dict[str, Any]) -> dict[str, str]:
    return {"dispute_id": seen["dispute_id"]}


def failed_delivery(api: Api, _seen: dict[str, Any]) -> dict[str, str]:
    return {"delivery_id": a_failed_delivery(api.store)[0]}


ME = {"role": "subject", "principal": PERSON}
OPS = {"role": "operator", "principal": "alice"}
HOOK = {"party_kind": "relying", "party_id": BANK}

CALLS = [
    Call("post", "/v1/records", "source", SOURCE, [record("J-1"), record("J-2", resolved_on="2026-04-01"), "bad"]),
    Call("get", "/v1/decisions/{measure_id}", "relying", BANK, params={"subject": PERSON},
         values=lambda _a, _s: {"measure_id": "high-consumption-restriction"}),
    Call("get", "/v1/me/report", **ME),
    Call("get", "/v1/me/notices", **ME),
    Call("get", "/v1/me/consent", **ME),
    Call("post", "/v1/me/consent", **ME, body={"given": True}),
    Call("put", "/v1/me/contact", **ME, body={"email": "someone@example.org"}),
    Call("get", "/v1/me/contact", **ME),
    Call("post", "/v1/me/disputes", **ME, body={"source": SOURCE, "record_id": "J-1", "statement": "not mine"}),
    Call("post", "/v1/me/repairs", **ME, body={"source": SOURCE, "record_id": "J-2", "statement": "paid"}),
    Call("get", "/v1/me/disputes", **ME),
    Call("get", "/v1/source/disputes", "source", SOURCE),
    Call("get", "/v1/disputes", "reviewer", "rita"),
    Call("get", "/v1/disputes/{dispute_id}", "reviewer", "rita", values=dispute_of),
    Call("post", "/v1/disputes/{dispute_id}/decision", "reviewer", "rita",
         body={"outcome": "upheld", "reasons": "checked"}, values=dispute_of),
    Call("delete", "/v1/me/contact", **ME),
    Call("put", "/v1/webhooks/{party_kind}/{party_id}", **OPS, body={"url": "http://127.0.0.1:9/hook"},
         values=lambda _a, _s: HOOK),
    Call("post", "/v1/webhooks/{party_kind}/{party_id}/rotate-secret", **OPS, body={}, values=lambda _a, _s: HOOK),
    Call("get", "/v1/webhooks", **OPS),
    Call("get", "/v1/deliveries", **OPS),
    Call("post", "/v1/deliveries/{delivery_id}/retry", **OPS, values=failed_delivery),
    Call("delete", "/v1/webhooks/{party_kind}/{party_id}", **OPS, values=lambda _a, _s: HOOK),
    Call("get", "/v1/rulebook", None),
    Call("get", "/v1/rulebook/versions", None),
    Call("get", "/v1/lists/{list_id}", None, params={"subject": PERSON},
         values=lambda _a, _s: {"list_id": "dishonest-judgment-debtors"}),
    Call("get", "/v1/sources", **OPS),
    Call("post", "/v1/sources", **OPS, body={"id": "new-source", "categories": ["traffic.*"]}),
    Call("post", "/v1/sources/{source_id}/categories", **OPS, body={"categories": ["court.*"]},
         values=lambda _a, _s: {"source_id": "new-source"}),
    Call("post", "/v1/sources/{source_id}/disable", **OPS, values=lambda _a, _s: {"source_id": "new-source"}),
    Call("get", "/v1/relying", **OPS),
    Call("post", "/v1/relying", **OPS, body={"id": "new-party", "measures": ["loan-fast-track"]}),
    Call("post", "/v1/relying/{relying_id}/disable", **OPS, values=lambda _a, _s: {"relying_id": "new-party"}),
    Call("get", "/v1/quarantine", **OPS),
    Call("post", "/v1/quarantine/retry", **OPS),
    Call("get", "/v1/stats", **OPS),
    Call("post", "/v1/rescore", **OPS),
    Call("post", "/v1/records/{source}/{record_id}/withdraw", "source", SOURCE,
         values=lambda _a, _s: {"source": SOURCE, "record_id": "J-2"}),
    Call("get", "/v1/audit/verify", "auditor", "audit-office"),
    Call("get", "/v1/audit/entries", "auditor", "audit-office"),
]  # fmt: skip


@pytest.fixture
def api(backend: Backend) -> Iterator[Api]:
    """The API over a store whose rulebook allows early repair (so every route has a request that succeeds)."""
    environ = {**backend.environ, "CREDO_TODAY": TODAY, "CREDO_WEBHOOK_ALLOW_HOSTS": "127.0.0.1"}
    store = open_store(backend.url, environ=environ)
    init_store(store)
    with api_over(store, book=REPAIRABLE) as running:
        yield running
    store.engine.dispose()


def test_every_operation_is_walked(api: Api) -> None:
    spec = api.client.get("/v1/openapi.json").json()
    documented = {(method, path) for path, methods in spec["paths"].items() for method in methods}
    walked = {(call.method, call.route) for call in CALLS}
    assert documented - walked == set(), "walk the new operation in CALLS"
    assert walked <= documented


def test_every_operation_that_writes_appends_to_the_audit_trail(api: Api) -> None:
    seen: dict[str, Any] = {}
    unaudited, wrote = [], set()
    for call in CALLS:
        url = call.route.format(**(call.values(api, seen) if call.values else {}))
        headers = {} if call.role is None else api.headers(call.role, call.principal)
        before, entries = fingerprint(api.store), audit_count(api.store)
        response = api.client.request(call.method.upper(), url, json=call.body, params=call.params, headers=headers)
        assert response.is_success, (call.method, call.route, response.status_code, response.text)
        if call.route == "/v1/me/disputes" and call.method == "post":
            seen["dispute_id"] = response.json()["dispute_id"]
        after = fingerprint(api.store)
        changed = sorted(name for name in after if after[name] != before[name])
        if changed:
            wrote.add((call.method, call.route))
        if changed and audit_count(api.store) == entries:
            unaudited.append((call.method, call.route, changed))
    with api.store.begin() as connection:
        assert verify(connection).intact
    # Every write of the walk wrote (a rescore recomputes what real time keeps: it finds nothing to change).
    writes = {(c.method, c.route) for c in CALLS if c.method != "get"} - {("post", "/v1/rescore")}
    assert writes <= wrote, f"the walk's writes did not all change the store: {writes - wrote}"
    assert not unaudited, f"operations that wrote without an audit entry (method, route, tables): {unaudited}"
