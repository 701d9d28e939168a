"""The audit trail's hash chain: intact when untouched, broken at the first edited, inserted or removed entry."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from credo.cli.app import app
from credo.store import audit as audit_mod
from credo.store.audit import GENESIS, AuditEntry, append, entry_hash, verify
from credo.store.bootstrap import Store
from credo.store.tables import audit_log, store_meta
from tests.apisupport import SOURCE, Api, record
from tests.conftest import Backend

NOW = dt.datetime(2026, 6, 30, 12, 0, 0, 123456, tzinfo=dt.UTC)


def fill(store: Store, n: int = 5) -> None:
    with store.begin() as connection:
        append(
            connection,
            [AuditEntry("relying", "city-bank", "decision", "measure m", i, {"applies": i % 2 == 0}) for i in range(n)],
            NOW,
        )


def report(store: Store) -> tuple[bool, int | None, str | None]:
    with store.begin() as connection:
        r = verify(connection)
    return r.intact, r.broken_at, r.problem


def test_an_untouched_chain_verifies_and_links_each_entry_to_the_one_before(store: Store) -> None:
    fill(store)
    fill(store, 2)
    with store.begin() as connection:
        rows = connection.execute(sa.select(audit_log).order_by(audit_log.c.id)).all()
        checked = verify(connection)
    assert [r.id for r in rows] == [1, 2, 3, 4, 5, 6, 7]
    assert bytes(rows[0].prev_hash) == bytes(32)
    assert all(bytes(b.prev_hash) == bytes(a.hash) for a, b in itertools.pairwise(rows))
    assert (checked.intact, checked.entries, checked.head) == (True, 7, bytes(rows[-1].hash))


def test_an_edited_entry_is_named(store: Store) -> None:
    fill(store)
    with store.begin() as connection:
        connection.execute(sa.update(audit_log).where(audit_log.c.id == 3).values(purpose="nothing to see"))
    assert report(store) == (False, 3, "its content does not match its hash (edited)")


def test_an_edit_that_recomputes_the_entrys_own_hash_breaks_the_next_link(store: Store) -> None:
    fill(store)
    with store.begin() as connection:
        row = connection.execute(sa.select(audit_log).where(audit_log.c.id == 3)).one()
        forged = AuditEntry(row.actor_role, "someone-else", row.action, row.purpose, row.subject_id, row.detail)
        digest = entry_hash(3, row.at, forged, bytes(row.prev_hash))
        connection.execute(sa.update(audit_log).where(audit_log.c.id == 3).values(actor="someone-else", hash=digest))
    assert report(store) == (False, 4, "its previous hash is not the hash of the entry before it")


def test_a_deleted_entry_is_named(store: Store) -> None:
    fill(store)
    with store.begin() as connection:
        connection.execute(sa.delete(audit_log).where(audit_log.c.id == 2))
    assert report(store) == (False, 2, "entry 2 is missing (next is 3)")


def test_an_inserted_entry_breaks_the_chain_after_it(store: Store) -> None:
    fill(store)
    with store.begin() as connection:
        rows = connection.execute(sa.select(audit_log).where(audit_log.c.id >= 3).order_by(audit_log.c.id.desc())).all()
        for row in rows:  # make room at 3 by renumbering, as a forger would
            connection.execute(sa.update(audit_log).where(audit_log.c.id == row.id).values(id=row.id + 1))
        prev = connection.execute(sa.select(audit_log.c.hash).where(audit_log.c.id == 2)).scalar_one()
        fake = AuditEntry("operator", "mallory", "source.add", "operation", None, {})
        connection.execute(
            sa.insert(audit_log).values(
                id=3, at=NOW, actor_role="operator", actor="mallory", action="source.add", subject_id=None,
                purpose="operation", detail={}, prev_hash=bytes(prev), hash=entry_hash(3, NOW, fake, bytes(prev)),
            )
        )  # fmt: skip
    assert report(store) == (False, 4, "its previous hash is not the hash of the entry before it")


def test_entries_cut_off_the_end_show_against_the_head(store: Store) -> None:
    fill(store)
    with store.begin() as connection:
        connection.execute(sa.delete(audit_log).where(audit_log.c.id >= 4))
    intact, broken_at, problem = report(store)
    assert (intact, broken_at) == (False, 4)
    assert problem == "the head names entry 5: entries after 3 were removed"
    with store.begin() as connection:
        connection.execute(sa.update(store_meta).where(store_meta.c.name == "audit_head").values(value="x"))
    assert report(store)[0] is False


def test_concurrent_writers_keep_one_chain(store: Store) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for _ in range(10):
                with store.begin() as connection:
                    append(connection, [AuditEntry("cli", f"w{n}", "x", "test")], dt.datetime.now(dt.UTC))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with store.begin() as connection:
        checked = verify(connection)
    assert (checked.intact, checked.entries) == (True, 40)


def test_credo_audit_verify_names_the_first_broken_entry_and_exits_1(store: Store, backend: Backend) -> None:
    runner = CliRunner()
    fill(store)
    result = runner.invoke(app, ["--db", backend.url, "audit", "verify"], env=backend.environ)
    assert result.exit_code == 0
    assert result.stdout.startswith("the audit trail is intact: 5 entries; head ")
    with store.begin() as connection:
        connection.execute(sa.update(audit_log).where(audit_log.c.id == 2).values(detail={"applies": True}))
    result = runner.invoke(app, ["--db", backend.url, "audit", "verify"], env=backend.environ)
    assert result.exit_code == 1
    assert result.stderr == (
        "error: the audit trail is broken at entry 2: its content does not match its hash (edited) "
        "(1 entries verified before it)\n"
    )


def slip_in_after_the_head(store: Store) -> None:
    """Append one well-chained entry behind the head's back, as a forger with table access would."""
    with store.begin() as connection:
        last = connection.execute(sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(1)).first()
        fake = AuditEntry("operator", "mallory", "source.add", "operation", None, {})
        next_id, prev = (1, GENESIS) if last is None else (last.id + 1, bytes(last.hash))
        connection.execute(
            sa.insert(audit_log).values(
                id=next_id, at=NOW, actor_role="operator", actor="mallory", action="source.add", subject_id=None,
                purpose="operation", detail={}, prev_hash=prev,
                hash=entry_hash(next_id, NOW, fake, prev),
            )
        )  # fmt: skip


def test_an_entry_slipped_in_after_the_head_is_found(store: Store) -> None:
    fill(store)
    slip_in_after_the_head(store)
    assert report(store) == (False, 6, "entries after 5 were not appended through the head")
    with store.begin() as connection:
        checked = verify(connection)
        fifth = connection.execute(sa.select(audit_log.c.hash).where(audit_log.c.id == 5)).scalar_one()
    assert (checked.entries, checked.head) == (5, bytes(fifth))


def test_a_write_over_an_inconsistent_chain_is_one_clear_line_naming_audit_verify(
    store: Store, backend: Backend
) -> None:
    fill(store)
    slip_in_after_the_head(store)
    runner = CliRunner()
    result = runner.invoke(
        app, ["--db", backend.url, "source", "add", "court", "--category", "court.*"], env=backend.environ
    )
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("error: the audit trail is inconsistent")
    assert "credo audit verify" in result.stderr
    assert result.stderr.count("\n") == 1
    with store.begin() as connection:  # nothing of the command was stored
        assert connection.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one() == 6


def test_the_api_answers_a_write_over_an_inconsistent_chain_with_a_503_problem(api: Api) -> None:
    api.push(record("r-1"))
    slip_in_after_the_head(api.store)
    pushed = api.client.post("/v1/records", json=[record("r-2")], headers=api.headers("source", SOURCE))
    decided = api.decide("loan-fast-track")
    for response in (pushed, decided):
        assert response.status_code == 503, response.text
        problem = response.json()
        assert problem["code"] == "audit-inconsistent"
        assert "credo audit verify" in problem["detail"]
    verified = api.client.get("/v1/audit/verify", headers=api.headers("auditor", "audit-office"))
    assert verified.status_code == 200
    assert verified.json()["intact"] is False


def test_entries_appended_while_verify_walks_are_not_taken_for_tampering(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that commits while verify runs (PostgreSQL's statements see it at once, SQLite's snapshot not)."""
    fill(store)
    walk = audit_mod._rows
    appended = []

    def a_write_then_rows(connection: sa.Connection, after: int = 0) -> Iterator[Any]:
        if not appended:
            appended.append(True)
            fill(store, 2)  # another transaction, committed after verify's began
        yield from walk(connection, after)

    monkeypatch.setattr(audit_mod, "_rows", a_write_then_rows)
    with store.begin() as connection:
        checked = verify(connection)
    assert checked.intact and checked.entries in {5, 7}
    assert report(store) == (True, None, None)
