"""Faults of a running ``credo serve`` (a child process) under pushes and decisions.

- killed with SIGKILL in the middle of them, then started again: every push
  answered 200 is stored exactly once, every decision answered is in the
  decisions log, the audit chain verifies, and the new server works;
- on PostgreSQL, its connections killed (``pg_terminate_backend``) under
  load: requests in flight get a 503 problem, never a 500, and the same
  server goes on answering afterwards.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from credo.api.auth import issue_token
from credo.store.bootstrap import Store, init_store, open_store
from tests.apisupport import BANK, OTHER_PERSON, PERSON, SOURCE, TODAY, api_over, prepare, record
from tests.conftest import Backend
from tests.serving import PENALTY, Traffic, call, check_store, serving
from tests.storebackends import PG_URL, postgres_schema


def _ready(store: Store) -> tuple[str, str]:
    """The test rulebook, sources and bank; a first record for each subject; (source token, bank token)."""
    prepare(store)
    with store.begin() as connection:
        ring = store.keys(connection)
    source = issue_token(ring, "source", SOURCE, now=dt.datetime.now(dt.UTC))
    bank = issue_token(ring, "relying", BANK, now=dt.datetime.now(dt.UTC))
    return source, bank


def _first_records(port: int, source: str) -> None:
    for n, subject in enumerate((PERSON, OTHER_PERSON)):
        status, body = call(port, "POST", "/v1/records", source, [record(f"first-{n}", subject=subject)])
        assert status == 200, body


def test_a_server_killed_during_pushes_and_decisions_loses_nothing_it_answered(
    backend: Backend, tmp_path: Path
) -> None:
    store = backend.open()
    init_store(store)
    try:
        source, bank = _ready(store)
        log = tmp_path / "serve.log"
        with serving(backend.url, backend.environ, log) as served:
            _first_records(served.port, source)
            traffic = Traffic(served.port, source, bank, [PERSON, OTHER_PERSON])
            with traffic.running(pushers=3, deciders=3):
                traffic.wait_for(pushes=40, decisions=40)
                served.kill()  # with requests in flight: the threads never stop sending
        assert set(traffic.statuses) <= {200, 0}, traffic.problems[:3]  # 0: the answer the kill cut off
        check_store(store, traffic)
        with serving(backend.url, backend.environ, log) as again:  # a restart: the store opens as it was left
            after = Traffic(again.port, source, bank, [PERSON, OTHER_PERSON], prefix="G")
            with after.running():
                after.wait_for(pushes=5, decisions=5)
        assert set(after.statuses) == {200}, after.problems[:3]
        check_store(store, after)
        check_store(store, traffic)
    finally:
        store.engine.dispose()


def test_postgresql_connections_killed_under_load_give_503_then_the_server_recovers(tmp_path: Path) -> None:
    name = f"credo_fault_{secrets.token_hex(4)}"  # the server's connections, and only them, carry this name
    with postgres_schema() as schema_url:
        url = f"{schema_url}&application_name={name}"
        environ = {"CREDO_KEY_FILE": str(tmp_path / "credo.keys")}
        store = open_store(url, environ=environ)
        init_store(store)
        admin = sa.create_engine(PG_URL)
        try:
            source, bank = _ready(store)
            with serving(url, environ, tmp_path / "serve.log") as served:
                _first_records(served.port, source)
                traffic = Traffic(served.port, source, bank, [PERSON, OTHER_PERSON])
                with traffic.running(pushers=3, deciders=3):
                    traffic.wait_for(pushes=20, decisions=20)
                    killed = 0
                    for _ in range(5):
                        killed += _terminate(admin, name)
                        time.sleep(0.2)
                    traffic.wait_for(pushes=len(traffic.pushed) + 20, decisions=len(traffic.decided) + 20)
                assert killed > 0, "no connection of the server was found to kill"
                assert set(traffic.statuses) <= {200, 503}, (traffic.statuses, _errors(served.log))
                assert all(p["code"] == "unavailable" for p in traffic.problems), traffic.problems[:3]
                later = Traffic(served.port, source, bank, [PERSON, OTHER_PERSON], prefix="G")
                with later.running():
                    later.wait_for(pushes=10, decisions=10)
                assert set(later.statuses) == {200}, later.problems[:3]  # the same server, no restart
            check_store(store, traffic)
            check_store(store, later)
        finally:
            admin.dispose()
            store.engine.dispose()


def _terminate(admin: sa.Engine, application: str) -> int:
    with admin.connect() as connection:
        return len(
            connection.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :name"),
                {"name": application},
            ).all()
        )


def _errors(log: Path) -> list[str]:
    """What the server logged of its internal errors (the exception's type and the route, nothing more)."""
    return [line for line in log.read_text(errors="replace").splitlines() if "ERROR" in line][-5:]


class _KillNextCheckout:
    """A pool listener: the next connection handed out has its server process terminated first (then disarms).

    The request that took it finds it dead at its first statement, whichever path that statement takes
    (SQLAlchemy or the driver's own cursor).
    """

    def __init__(self, admin: sa.Engine) -> None:
        self.admin, self.armed, self.fired = admin, False, 0

    def __call__(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if not self.armed:
            return
        self.armed = False
        pid = dbapi_connection.info.backend_pid
        with self.admin.connect() as connection:
            connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            for _ in range(200):  # until it is gone (bounded: 10 s)
                alive = connection.execute(sa.text("SELECT 1 FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid})
                if alive.first() is None:
                    break
                time.sleep(0.05)
        self.fired += 1


@pytest.mark.parametrize(
    ("method", "path", "role", "body"),
    [
        ("GET", f"/v1/decisions/{PENALTY}?subject={PERSON}", "relying", None),
        ("POST", "/v1/records", "source", [record("K-1")]),
        ("GET", "/v1/me/report", "subject", None),
        ("GET", "/v1/me/notices", "subject", None),
        ("GET", "/v1/me/disputes", "subject", None),
        ("GET", "/v1/disputes", "reviewer", None),
    ],
)
def test_a_connection_killed_under_a_request_is_a_503_problem_and_the_next_request_works(
    tmp_path: Path, method: str, path: str, role: str, body: Any
) -> None:
    with postgres_schema() as url:
        store = open_store(url, environ={"CREDO_KEY_FILE": str(tmp_path / "credo.keys"), "CREDO_TODAY": TODAY})
        init_store(store)
        admin = sa.create_engine(PG_URL)
        try:
            with api_over(store) as api:
                api.push(record("J-1"))
                principal = {"relying": BANK, "source": SOURCE, "subject": PERSON, "reviewer": "rita"}[role]
                headers = api.headers(role, principal)
                assert api.client.request(method, path, json=body, headers=headers).status_code in (200, 201)
                killer = _KillNextCheckout(admin)
                event.listen(store.engine, "checkout", killer)
                killer.armed = True
                answer = api.client.request(method, path, json=body, headers=headers)
                assert killer.fired == 1
                assert (answer.status_code, answer.json()["code"]) == (503, "unavailable"), answer.text
                assert answer.headers["content-type"] == "application/problem+json"
                again = api.client.request(method, path, json=body, headers=headers)
                assert again.status_code in (200, 201), again.text  # the same app: no restart
        finally:
            admin.dispose()
            store.engine.dispose()
