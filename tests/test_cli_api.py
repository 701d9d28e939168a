"""``credo token``, ``credo relying`` and ``credo serve`` as an operator uses them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import jwt
import sqlalchemy as sa
from typer.testing import CliRunner

from credo.cli.app import app
from credo.store.tables import audit_log
from tests.apisupport import API_YAML, BANK, PERSON, SOURCE, record

runner = CliRunner()


def credo(db: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", f"sqlite:///{db}", *args], env={"CREDO_TODAY": "2026-06-30", **(env or {})})
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def prepared(tmp_path: Path) -> Path:
    db = tmp_path / "credo.db"
    book = tmp_path / "book.yaml"
    book.write_text(API_YAML, encoding="utf-8")
    assert credo(db, "init")[0] == 0
    assert credo(db, "rulebook", "publish", str(book))[0] == 0
    assert credo(db, "rulebook", "activate", "2026.1")[0] == 0
    assert credo(db, "source", "add", SOURCE, "--category", "court.*")[0] == 0
    return db


def test_relying_parties_are_registered_for_measures_the_rulebook_defines(tmp_path: Path) -> None:
    db = prepared(tmp_path)
    code, out, _ = credo(
        db, "relying", "add", BANK, "--measure", "loan-fast-track", "--measure", "high-consumption-restriction"
    )
    assert (code, out) == (0, f"relying party {BANK} registered for loan-fast-track, high-consumption-restriction\n")
    code, _, err = credo(db, "relying", "add", "shop", "--measure", "loan-fast-trak")
    assert code == 1 and "defines no measure loan-fast-trak" in err
    code, _, err = credo(db, "relying", "add", BANK, "--measure", "loan-fast-track")
    assert (code, err) == (1, f"error: relying party {BANK} is already registered\n")
    listed = json.loads(credo(db, "relying", "list", "--json")[1])
    assert listed == [
        {"id": BANK, "title": BANK, "measures": ["loan-fast-track", "high-consumption-restriction"], "enabled": True}
    ]
    assert credo(db, "relying", "disable", BANK)[1] == f"relying party {BANK} disabled\n"
    code, out, _ = credo(db, "audit", "verify")
    assert code == 0 and "intact" in out


def test_a_token_is_printed_alone_and_bad_roles_or_principals_are_refused(tmp_path: Path) -> None:
    db = prepared(tmp_path)
    code, out, _ = credo(db, "token", "issue", "subject", PERSON, "--expires", "8h")
    assert code == 0 and out.count("\n") == 1
    claims = jwt.decode(out.strip(), options={"verify_signature": False})
    assert (claims["role"], claims["sub"], claims["exp"] - claims["iat"]) == ("subject", PERSON, 8 * 3600)
    assert credo(db, "token", "issue", "king")[2] == (
        "error: unknown role 'king': one of operator, source, relying, reviewer, subject, auditor\n"
    )
    assert "needs a principal" in credo(db, "token", "issue", "relying")[2]
    code, _, err = credo(db, "token", "issue", "subject", PERSON[:-1] + "X")
    assert code == 1 and "valid identifier" in err and PERSON[:-1] not in err
    assert "not a duration" in credo(db, "token", "issue", "operator", "--expires", "soon")[2]
    assert "m is ambiguous" in credo(db, "token", "issue", "operator", "--expires", "1m")[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_credo_serve_answers_over_http_and_logs_no_identifier(tmp_path: Path) -> None:
    db = prepared(tmp_path)
    credo(db, "relying", "add", BANK, "--measure", "high-consumption-restriction")
    source_token = credo(db, "token", "issue", "source", SOURCE)[1].strip()
    bank_token = credo(db, "token", "issue", "relying", BANK)[1].strip()
    port = _free_port()
    env = {**os.environ, "CREDO_TODAY": "2026-06-30"}
    server = subprocess.Popen(
        [sys.executable, "-m", "credo", "--db", f"sqlite:///{db}", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # Start-up imports the whole app: seconds on a busy machine. A generous deadline, not a measurement.
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, "credo serve exited before it answered"
                assert time.monotonic() < deadline, "credo serve did not answer within 60 s"
                time.sleep(0.1)
        push = urllib.request.Request(
            f"{base}/v1/records",
            data=json.dumps([record("J-1")]).encode(),
            headers={"Authorization": f"Bearer {source_token}", "Content-Type": "application/json"},
        )
        assert json.load(urllib.request.urlopen(push, timeout=10))["new"] == 1
        ask = urllib.request.Request(
            f"{base}/v1/decisions/high-consumption-restriction?subject={PERSON}",
            headers={"Authorization": f"Bearer {bank_token}"},
        )
        assert json.load(urllib.request.urlopen(ask, timeout=10))["applies"] is True
        try:
            urllib.request.urlopen(f"{base}/v1/decisions/high-consumption-restriction?subject={PERSON}", timeout=10)
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
            assert exc.headers["Content-Type"] == "application/problem+json"
        docs = urllib.request.urlopen(f"{base}/v1/docs", timeout=10).read().decode()
        assert "Credo API" in docs
    finally:
        server.terminate()
        out, err = server.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}/v1/docs" in err
    assert PERSON not in out + err
    assert credo(db, "audit", "verify")[1].startswith("the audit trail is intact: ")


def test_command_line_reads_and_writes_are_in_the_audit_trail(tmp_path: Path) -> None:
    db = prepared(tmp_path)
    rows = tmp_path / "records.jsonl"
    rows.write_text(json.dumps({**record("J-1"), "source": SOURCE}) + "\n", encoding="utf-8")
    assert credo(db, "ingest", str(rows))[0] == 0
    assert credo(db, "score", PERSON)[0] == 0
    assert credo(db, "explain", PERSON)[0] == 0
    assert credo(db, "refresh")[0] == 0
    assert credo(db, "token", "issue", "subject", PERSON)[0] == 0
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as connection:
        rows_ = connection.execute(
            sa.select(
                audit_log.c.actor_role,
                audit_log.c.actor,
                audit_log.c.action,
                audit_log.c.subject_id,
                audit_log.c.detail,
            )
        ).all()
    engine.dispose()
    actions = [r.action for r in rows_]
    assert actions == [
        "rulebook.publish", "rulebook.activate", "source.add", "records.ingest", "score.read", "explanation.read",
        "refresh", "token.issue",
    ]  # fmt: skip
    assert all(r.actor_role == "operator" and r.actor.startswith("cli:") for r in rows_)
    reads = [r for r in rows_ if r.action.endswith(".read")]
    assert all(r.subject_id is not None for r in reads)
    assert rows_[3].detail["new"] == 1
    assert PERSON not in str(rows_)  # a subject token's principal is not written
