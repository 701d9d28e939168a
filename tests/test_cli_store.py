"""``credo init``, ``source``, ``rulebook publish/activate/list`` and ``keys rotate`` over a real store."""

from __future__ import annotations

import json
import os
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from credo.cli.app import app
from credo.cli.store_ctx import cli_actor
from credo.store.audit import verify
from credo.store.bootstrap import open_store
from credo.store.database import resolve_url
from credo.store.tables import audit_log
from tests.batchio import write_records
from tests.conftest import Backend
from tests.support import BASE_YAML, PERSON
from tests.test_store_ingest import row

runner = CliRunner()


def credo(backend: Backend, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", backend.url, *args], env=backend.environ)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_the_store_commands_end_to_end(backend: Backend, tmp_path: Path) -> None:
    code, out, _ = credo(backend, "init")
    assert code == 0 and "created" in out
    assert credo(backend, "init")[1].count("fit this database") == 1

    assert credo(backend, "source", "add", "tax-authority", "--category", "tax.*", "--legal-basis", "Tax Law")[0] == 0
    code, _, err = credo(backend, "source", "add", "tax-authority", "--category", "tax.*")
    assert (code, err) == (1, "error: source tax-authority is already registered\n")
    assert credo(backend, "source", "allow", "tax-authority", "--category", "court.fine", "--category", "tax.*")[1] == (
        "source tax-authority may report tax.*, court.fine\n"
    )
    code, _, err = credo(backend, "source", "allow", "nobody", "--category", "tax.*")
    assert (code, err) == (1, "error: no source nobody is registered\n")
    assert "not valid" in credo(backend, "source", "allow", "tax-authority", "--category", "Tax!")[2]
    assert credo(backend, "source", "disable", "tax-authority")[1] == "source tax-authority disabled\n"
    listed = json.loads(credo(backend, "source", "list", "--json")[1])
    assert listed == [
        {"id": "tax-authority", "title": "tax-authority", "legal_basis": "Tax Law",
         "categories": ["tax.*", "court.fine"], "enabled": False}
    ]  # fmt: skip
    assert "tax-authority" in credo(backend, "source", "list")[1]

    book = tmp_path / "book.yaml"
    book.write_text(BASE_YAML, encoding="utf-8")
    assert credo(backend, "rulebook", "publish", str(book))[1].startswith("version 2026.1 published (sha256 ")
    assert "nothing changed" in credo(backend, "rulebook", "publish", str(book))[1]
    book.write_text(BASE_YAML.replace("A rulebook for tests.", "Other."), encoding="utf-8")
    code, _, err = credo(backend, "rulebook", "publish", str(book))
    assert code == 1 and "already published with other content" in err
    assert credo(backend, "rulebook", "activate", "2026.1", "--from", "2026-02-01")[1] == (
        "version 2026.1 in force from 2026-02-01\n"
    )
    assert "2026-02-01" in credo(backend, "rulebook", "list")[1]

    code, out, _ = credo(backend, "keys", "rotate")
    assert code == 0 and "from version 1 to 2" in out

    # Every official act is in the audit chain, with its actor, and the chain verifies.
    store = open_store(backend.url, environ=backend.environ)
    try:
        with store.begin() as connection:
            acts = [(r.action, r.actor) for r in connection.execute(sa.select(audit_log).order_by(audit_log.c.id))]
            assert verify(connection).intact
    finally:
        store.engine.dispose()
    actor = cli_actor()
    for action in (
        "source.add",
        "source.allow",
        "source.disable",
        "rulebook.publish",
        "rulebook.activate",
        "keys.rotate",
    ):
        assert (action, actor) in acts, action


def test_store_errors_are_one_line_without_a_traceback(backend: Backend, tmp_path: Path) -> None:
    code, _, err = credo(backend, "source", "list")
    assert code == 1 and len(err.splitlines()) == 1 and "run credo init" in err
    credo(backend, "init")
    code, _, err = credo(backend, "rulebook", "publish", str(tmp_path / "missing.yaml"))
    assert code == 1 and err.startswith("error: cannot read") and len(err.splitlines()) == 1
    code, _, err = credo(backend, "source", "add", "x", "--category", "Speech!")
    assert code == 1 and len(err.splitlines()) == 1 and "is not valid" in err


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    backend = Backend("sqlite", f"sqlite:///{tmp_path / 'credo.db'}", {})
    credo(backend, "init")
    os.chmod(tmp_path / "credo.db.keys", 0o644)
    code, _, err = credo(backend, "keys", "rotate")
    assert code == 1 and "readable or writable by others (mode 0644)" in err and "chmod 600" in err


def test_the_database_comes_from_credo_db_without_an_option(tmp_path: Path) -> None:
    env = {"CREDO_DB": str(tmp_path / "elsewhere.db")}
    result = runner.invoke(app, ["init"], env=env)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "elsewhere.db").exists() and (tmp_path / "elsewhere.db.keys").exists()
    result = runner.invoke(app, ["--db", "mysql://u@h/db", "source", "list"])
    assert result.exit_code == 1 and "unsupported database 'mysql'" in result.stderr


def test_a_category_pattern_the_rulebook_in_force_does_not_know_is_refused(backend: Backend, tmp_path: Path) -> None:
    book = tmp_path / "book.yaml"
    book.write_text(BASE_YAML, encoding="utf-8")
    assert credo(backend, "init")[0] == 0
    assert credo(backend, "source", "add", "early", "--category", "court")[0] == 0  # no rulebook yet: nothing to check
    assert credo(backend, "rulebook", "publish", str(book))[0] == 0
    assert credo(backend, "rulebook", "activate", "2026.1", "--from", "2026-01-01")[0] == 0
    code, out, err = credo(backend, "source", "add", "court", "--category", "court")
    assert (code, out, err) == (
        1,
        "",
        "error: category pattern 'court' matches no category the rulebook in force knows: did you mean court.*?\n",
    )
    assert credo(backend, "source", "add", "court", "--category", "court.*")[0] == 0
    code, _, err = credo(backend, "source", "allow", "court", "--category", "loan.*")
    assert code == 1
    assert err.startswith(
        "error: category pattern 'loan.*' matches no category the rulebook in force knows: it knows 4"
    )
    assert "loan" not in credo(backend, "source", "list")[1]


def test_a_lost_key_file_is_to_be_restored_and_init_does_not_replace_it(backend: Backend, tmp_path: Path) -> None:
    """A populated store whose key file is gone: no command says "run credo init", and init refuses."""
    backend.environ["CREDO_TODAY"] = "2026-06-30"
    book = tmp_path / "book.yaml"
    book.write_text(BASE_YAML, encoding="utf-8")
    records = write_records(tmp_path / "r.csv", [row("1"), row("2", source="nobody")])
    for args in (
        ("init",),
        ("rulebook", "publish", str(book)),
        ("rulebook", "activate", "2026.1"),
        ("source", "add", "tax-authority", "--category", "tax.*"),
        ("ingest", str(records)),
    ):
        assert credo(backend, *args)[0] == 0, args
    store = open_store(backend.url, environ=backend.environ)
    key_file = store.key_file()
    store.engine.dispose()
    saved = key_file.read_bytes()
    key_file.unlink()

    code, _, err = credo(backend, "quarantine", "list")
    assert code == 1 and len(err.splitlines()) == 1
    assert "run credo init" not in err
    assert "restore" in err and str(key_file) in err

    code, _, err = credo(backend, "init")
    assert code == 1 and len(err.splitlines()) == 1
    assert "restore" in err and str(key_file) in err
    assert not key_file.exists()  # no new keys were made for a store whose data other keys hold

    key_file.write_bytes(saved)
    key_file.chmod(0o600)
    assert credo(backend, "quarantine", "list")[0] == 0
    assert credo(backend, "init")[0] == 0


def test_store_commands_before_init_leave_no_file_behind(tmp_path: Path) -> None:
    path = tmp_path / "credo.db"
    backend = Backend("sqlite", f"sqlite:///{path}", {})
    for args in (("source", "list"), ("quarantine", "list"), ("audit", "verify"), ("score", PERSON)):
        code, _, err = credo(backend, *args)
        assert code == 1, args
        assert err.startswith(f"error: there is no store at {path}: run credo init to create it, ")
        assert err.endswith("or name another with --db or CREDO_DB\n")
    assert sorted(tmp_path.iterdir()) == []
    assert credo(backend, "init")[0] == 0
    assert credo(backend, "source", "list")[0] == 0


def test_a_postgres_url_is_taken_as_postgresql(backend: Backend) -> None:
    assert resolve_url("postgres://credo@db.example/credo").render_as_string() == (
        "postgresql+psycopg://credo@db.example/credo"
    )
    assert resolve_url("postgres+psycopg://credo@db.example/credo").drivername == "postgresql+psycopg"
    if backend.name != "postgresql":
        return
    short = Backend("postgresql", backend.url.replace("postgresql+psycopg://", "postgres://", 1), backend.environ)
    assert short.url.startswith("postgres://")
    assert credo(short, "init")[0] == 0
    assert credo(short, "source", "add", "court", "--category", "court.*")[0] == 0
    assert "court" in credo(backend, "source", "list")[1]
