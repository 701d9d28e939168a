"""Every route x every role x every standing of the principal, read from the OpenAPI document.

Allowed callers whose principal is registered and enabled get in; everyone else is refused: another role (403), no
token (401), a source or relying party that is disabled or was never registered (403). Operators, reviewers and
auditors have no registry (a valid token stands in for registration); a subject is registered by a valid identifier,
so one Credo holds nothing about still gets in (and then finds nothing).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from credo.api.auth import ROLES
from credo.store.bootstrap import init_store, open_store
from credo.store.relying import add_relying, disable_relying
from credo.store.sources import add_source, disable_source
from tests.apisupport import (
    BANK,
    NOW,
    OTHER_PERSON,
    OTHER_SOURCE,
    PERSON,
    PRINCIPALS,
    SOURCE,
    TODAY,
    Api,
    api_over,
    record,
)

# Each role's principals by standing: (principal, whether it stands as registered and enabled).
STANDINGS: dict[str, list[tuple[str, bool]]] = {
    "source": [(SOURCE, True), ("closed-court", False), ("never-registered", False)],
    "relying": [(BANK, True), ("closed-bank", False), ("never-registered", False)],
    "subject": [(PERSON, True), (OTHER_PERSON, True)],  # OTHER_PERSON: valid, but Credo holds nothing about it
    "operator": [("alice", True), ("someone-else", True)],
    "auditor": [("audit", True), ("another-office", True)],
    "reviewer": [("bob", True), ("carol", True)],
}
# Path parameter values that let an allowed caller through the route's own checks (so 403 means the role).
PATH_VALUES = {
    "measure_id": "loan-fast-track",
    "source": SOURCE,
    "record_id": "J-1",
    "source_id": OTHER_SOURCE,
    "relying_id": "nobody",
    "list_id": "honour-roll",
    "dispute_id": "00000000-0000-0000-0000-000000000000",
    "party_kind": "relying",
    "party_id": "nobody",
    "delivery_id": "1",
}
BODIES: dict[tuple[str, str], Any] = {
    ("post", "/v1/records"): [record("J-2")],
    ("post", "/v1/sources"): {"id": "new-source", "categories": ["loan.*"]},
    ("post", "/v1/relying"): {"id": "new-party", "measures": ["loan-fast-track"]},
    ("post", "/v1/sources/{source_id}/categories"): {"categories": ["misc.*"]},
    ("post", "/v1/me/disputes"): {"source": SOURCE, "record_id": "J-1", "statement": "not mine"},
    ("post", "/v1/me/repairs"): {"source": SOURCE, "record_id": "J-1", "statement": "paid"},
    ("post", "/v1/me/consent"): {"given": True},
    ("post", "/v1/disputes/{dispute_id}/decision"): {"outcome": "upheld", "reasons": "checked"},
    ("put", "/v1/me/contact"): {"email": "someone@example.org"},
    ("put", "/v1/webhooks/{party_kind}/{party_id}"): {"url": "https://hooks.example/credo"},
}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    path: Path = tmp_path_factory.mktemp("roles") / "credo.db"
    store = open_store(f"sqlite:///{path}", environ={"CREDO_TODAY": TODAY})
    init_store(store)
    with api_over(store) as running:
        running.push(record("J-1"))
        with store.begin() as connection:
            add_source(connection, "closed-court", ["court.*"], NOW)
            disable_source(connection, "closed-court")
            add_relying(connection, "closed-bank", ["loan-fast-track"], {"loan-fast-track"}, NOW)
            disable_relying(connection, "closed-bank")
        yield running
    store.engine.dispose()


def operations(api: Api) -> list[tuple[str, str, list[str], dict[str, Any]]]:
    spec = api.client.get("/v1/openapi.json").json()
    return [
        (method, path, op["x-credo-roles"], op)
        for path, methods in spec["paths"].items()
        for method, op in methods.items()
    ]


def test_every_route_declares_its_roles(api: Api) -> None:
    ops = operations(api)
    assert len(ops) >= 18
    for method, path, allowed, _ in ops:
        assert allowed, f"{method} {path} declares no roles"
        assert set(allowed) <= {*ROLES, "public"}, (method, path, allowed)
        assert path.startswith("/v1/")


def _call(api: Api, method: str, path: str, op: dict[str, Any], role: str | None, *, principal: str = "") -> int:
    url = path
    for name, value in PATH_VALUES.items():
        url = url.replace("{" + name + "}", value)
    assert "{" not in url, f"no test value for a parameter of {path}"
    params = {p["name"]: PERSON for p in op.get("parameters", []) if p["in"] == "query" and p["name"] == "subject"}
    headers = api.headers(role, principal or PRINCIPALS[role]) if role is not None else {}
    body = BODIES.get((method, path))
    response = api.client.request(method.upper(), url, params=params, headers=headers, json=body)
    assert response.status_code < 500, (method, path, role, response.text)
    return response.status_code


def test_the_full_role_by_route_matrix(api: Api) -> None:
    cells = 0
    for method, path, allowed, op in operations(api):
        for role in (*ROLES, None):
            status = _call(api, method, path, op, role)
            cells += 1
            if "public" in allowed or role in allowed:
                assert status not in (401, 403), (method, path, role, status)
            elif role is None:
                assert status == 401, (method, path, role, status)
            else:
                assert status == 403, (method, path, role, status)
    assert cells == len(operations(api)) * (len(ROLES) + 1)


def test_only_registered_and_enabled_principals_get_in(api: Api) -> None:
    """The same matrix for every standing: a disabled or unknown source or party is 403 on each of its routes."""
    cells = 0
    for method, path, allowed, op in operations(api):
        for role, principals in STANDINGS.items():
            for principal, standing in principals:
                status = _call(api, method, path, op, role, principal=principal)
                cells += 1
                if "public" in allowed or (role in allowed and standing):
                    assert status not in (401, 403), (method, path, role, principal, status)
                else:
                    assert status == 403, (method, path, role, principal, status)
    assert cells == len(operations(api)) * sum(len(p) for p in STANDINGS.values())
