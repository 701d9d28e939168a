"""Every read of personal data is in the audit trail (issue 11, finding 4).

A route says whether it reads personal data (``x-credo-reads-personal-data``
in the OpenAPI document, from :func:`credo.api.context.role_extra`); a command
says so with :func:`credo.cli.store_ctx.reads_personal_data`. The walks below
call each of them, with personal data in the store, as each role allowed, and
fail on one that reads personal data without appending an audit entry; every
route must say it, one way or the other, and every marked command must be
walked.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from credo.cli.app import app
from credo.store.bootstrap import init_store, open_store
from credo.store.tables import audit_log
from tests.apisupport import BANK, OTHER_SOURCE, PERSON, PRINCIPALS, SOURCE, TODAY, Api, api_over, record

MARK = "x-credo-reads-personal-data"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, str, str]]:
    """A store holding a listed subject, an open dispute, an address, a quarantined row and a decision."""
    path: Path = tmp_path_factory.mktemp("reads") / "credo.db"
    store = open_store(f"sqlite:///{path}", environ={"CREDO_TODAY": TODAY, "CREDO_WEBHOOK_ALLOW_HOSTS": "127.0.0.1"})
    init_store(store)
    with api_over(store) as running:
        running.push(record("J-1"), record("J-2"), record("bad", subject_id="x"))
        me = running.headers("subject", PERSON)
        opened = running.client.post(
            "/v1/me/disputes", json={"source": SOURCE, "record_id": "J-2", "statement": "not mine"}, headers=me
        )
        assert opened.status_code == 201, opened.text
        assert running.client.put("/v1/me/contact", json={"email": "me@example.org"}, headers=me).status_code == 200
        assert running.decide("high-consumption-restriction").status_code == 200
        yield running, opened.json()["dispute_id"], f"sqlite:///{path}"
    store.engine.dispose()


def _entries(api: Api) -> int:
    with api.store.begin() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one())


def _url(path: str, dispute_id: str) -> str:
    values = {
        "{measure_id}": "high-consumption-restriction",
        "{list_id}": "dishonest-judgment-debtors",
        "{dispute_id}": dispute_id,
        "{source}": SOURCE,
        "{record_id}": "J-1",
        "{source_id}": OTHER_SOURCE,
        "{relying_id}": BANK,
        "{party_kind}": "relying",
        "{party_id}": BANK,
        "{delivery_id}": "1",
    }
    for name, value in values.items():
        path = path.replace(name, value)
    return path


def test_every_route_says_whether_it_reads_personal_data(api: tuple[Api, str, str]) -> None:
    spec = api[0].client.get("/v1/openapi.json").json()
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            assert isinstance(op.get(MARK), bool), f"{method} {path} does not say whether it reads personal data"


def test_every_route_that_reads_personal_data_is_audited(api: tuple[Api, str, str]) -> None:
    client, dispute_id = api[0], api[1]
    spec = client.client.get("/v1/openapi.json").json()
    walked = 0
    for path, methods in spec["paths"].items():
        if "get" not in methods:
            continue  # writes are audited as writes (tests/test_api.py and the audit helper's tests)
        op = methods["get"]
        for role in op["x-credo-roles"]:
            params = {p["name"]: PERSON for p in op.get("parameters", []) if p["name"] == "subject"}
            headers = client.headers(role, PRINCIPALS[role]) if role != "public" else {}
            before = _entries(client)
            response = client.client.get(_url(path, dispute_id), params=params, headers=headers)
            assert response.status_code == 200, (path, role, response.text)
            audited = _entries(client) > before
            if op[MARK]:
                assert audited, f"GET {path} as {role} reads personal data and left no audit entry"
            walked += 1
    assert walked >= 15


# Arguments that make each command that reads personal data show some (the store of the fixture).
COMMAND_ARGS: dict[str, list[str]] = {
    "score": ["score", PERSON],
    "explain": ["explain", PERSON],
    "quarantine list": ["quarantine", "list"],
    "dispute list": ["dispute", "list"],
    "dispute show": ["dispute", "show", "{dispute_id}"],
    "delivery list": ["delivery", "list"],
}


def _marked(group: Any, prefix: str = "") -> Iterator[str]:
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _marked(command, f"{prefix}{name} ")
        elif getattr(command.callback, "reads_personal_data", False):
            yield f"{prefix}{name}"


def test_every_command_that_reads_personal_data_is_audited(api: tuple[Api, str, str]) -> None:
    client, dispute_id, url = api
    root = typer.main.get_command(app)
    marked = sorted(_marked(root))
    assert {"dispute list", "quarantine list", "score", "explain"} <= set(marked)
    for name in marked:
        assert name in COMMAND_ARGS, f"credo {name} reads personal data: give the walk its arguments"
        args = [a.replace("{dispute_id}", dispute_id) for a in COMMAND_ARGS[name]]
        before = _entries(client)
        result = CliRunner().invoke(app, ["--db", url, *args], env={"CREDO_TODAY": TODAY})
        assert result.exit_code == 0, (name, result.output)
        assert _entries(client) > before, f"credo {name} reads personal data and left no audit entry"
