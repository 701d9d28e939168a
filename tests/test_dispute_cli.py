"""``credo dispute list | show | decide``: a reviewer at the command line reads the statement before deciding, and
decides under their own name (issue 11, finding 25)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from credo.cli.app import app
from credo.store.bootstrap import init_store, open_store
from credo.store.tables import audit_log
from tests.apisupport import PERSON, SOURCE, TODAY, Api, api_over, record

STATEMENT = "The amount was [bold]1,500[/bold], not 150,000."


pytestmark = pytest.mark.usefixtures("wide_terminal")


@pytest.fixture
def disputed(tmp_path: Path) -> Iterator[tuple[Api, str, str]]:
    url = f"sqlite:///{tmp_path / 'credo.db'}"
    store = open_store(url, environ={"CREDO_TODAY": TODAY})
    init_store(store)
    with api_over(store) as running:
        running.push(record("J-1", amount=150000))
        opened = running.client.post(
            "/v1/me/disputes",
            json={"source": SOURCE, "record_id": "J-1", "statement": STATEMENT},
            headers=running.headers("subject", PERSON),
        )
        assert opened.status_code == 201, opened.text
        yield running, opened.json()["dispute_id"], url
    store.engine.dispose()


def credo(url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--db", url, *args], env={"CREDO_TODAY": TODAY, "COLUMNS": "300"})
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def _last_entry(api: Api) -> tuple[str, str, str, int | None]:
    with api.store.begin() as connection:
        row = connection.execute(sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(1)).one()
    return row.actor_role, row.actor, row.action, row.subject_id


def test_the_list_shows_each_statement_as_written(disputed: tuple[Api, str, str]) -> None:
    _, dispute_id, url = disputed
    code, out, _ = credo(url, "dispute", "list")
    assert code == 0 and dispute_id in out
    assert STATEMENT in out  # markup in it shown, not applied
    listed = json.loads(credo(url, "dispute", "list", "--json")[1])
    assert [(d["dispute_id"], d["statement"]) for d in listed] == [(dispute_id, STATEMENT)]


def test_show_gives_the_statement_and_the_record_under_review_audited(disputed: tuple[Api, str, str]) -> None:
    api, dispute_id, url = disputed
    code, out, _ = credo(url, "dispute", "show", dispute_id)
    assert code == 0, out
    assert dispute_id in out and STATEMENT in out and f"{SOURCE}/J-1" in out
    assert "court.judgment_default" in out and "150000" in out.replace(",", "")
    role, _, action, subject = _last_entry(api)
    assert (role, action) == ("reviewer", "dispute.read") and subject is not None
    shown = json.loads(credo(url, "dispute", "show", dispute_id, "--json")[1])
    over_api = api.client.get(f"/v1/disputes/{dispute_id}", headers=api.headers("reviewer", "rita")).json()
    assert shown == over_api  # the same view as a reviewer's over the API
    code, _, err = credo(url, "dispute", "show", "nope")
    assert (code, err) == (1, "error: no dispute nope\n")


def test_a_reviewer_decides_under_their_own_name(disputed: tuple[Api, str, str]) -> None:
    api, dispute_id, url = disputed
    code, _, err = credo(
        url, "dispute", "decide", dispute_id, "--outcome", "upheld", "--reasons", "r", "--reviewer", "Rita Q"
    )
    assert code == 1 and "reviewer" in err
    code, out, _ = credo(
        url, "dispute", "decide", dispute_id, "--outcome", "upheld", "--reasons", "checked", "--reviewer", "rita"
    )
    assert code == 0, out
    assert _last_entry(api)[:3] == ("reviewer", "rita", "dispute.decide")
    mine = api.client.get("/v1/me/disputes", headers=api.headers("subject", PERSON)).json()
    assert mine[0]["decided_by"] == "rita"
