"""Every write is in the audit trail: each command of the CLI, run against a store, and what it changed.

The walk runs every leaf command of ``credo`` (a new command fails
:func:`test_every_command_is_walked_or_exempt_with_a_reason` until it is
walked here or exempted with its reason), fingerprints every table before and
after each one, and requires that a command that changed any table also
appended to the audit trail. So the next write path that forgets its entry
is caught whatever table it writes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import runpy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from credo.cli.app import app
from credo.domain.disputes import Filing
from credo.store.audit import verify
from credo.store.bootstrap import Store
from credo.store.disputes import open_dispute
from credo.store.rulebooks import rulebook_at
from credo.store.tables import audit_log, deliveries, disputes, metadata, store_meta, subjects
from tests.batchio import write_records
from tests.conftest import Backend
from tests.support import BASE_YAML, PERSON
from tests.test_store_ingest import row

ROOT = Path(__file__).resolve().parents[1]
GEN = runpy.run_path(str(ROOT / "scripts" / "gen-cli-docs"))
TODAY = "2026-06-30"

# Rows of store_meta that are bookkeeping, not a write to audit, and why.
BOOKKEEPING = {
    "audit_head": "the audit trail's own head: what the walk checks",
    "delivery_cursor": "how far the last delivery pass looked for owed messages; each message sent is audited",
}
# Commands the walk does not run, and why.
EXEMPT = {
    "credo serve": "a server: its writes are the API's, each route audited (tests/test_audit.py, the API tests)",
}


@dataclass
class Step:
    args: tuple[str, ...]
    setup: Callable[[Store], tuple[str, ...]] | None = None  # done before, outside the measure; returns more args


def leaf_commands() -> set[str]:
    return {path for path, command, _ in GEN["commands"]() if not hasattr(command, "list_commands")}


def fingerprint(store: Store) -> dict[str, str]:
    """Every table's rows, hashed (the audit trail and the bookkeeping rows left out)."""
    prints = {}
    with store.begin() as connection:
        for table in metadata.sorted_tables:
            if table is audit_log:
                continue
            query = sa.select(table)
            if table is store_meta:
                query = query.where(store_meta.c.name.not_in(BOOKKEEPING))
            rows = sorted(repr(tuple(r)) for r in connection.execute(query))
            prints[table.name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return prints


def audit_count(store: Store) -> int:
    with store.begin() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one())


def a_dispute(store: Store) -> tuple[str, ...]:
    """Open a dispute on the person's record, as the subject would over the API."""
    day = dt.date.fromisoformat(TODAY)
    with store.begin() as connection:
        ring = store.keys(connection)
        subject_id = connection.execute(
            sa.select(subjects.c.id).where(subjects.c.subject_key == ring.subject_key(PERSON, "person"))
        ).scalar_one()
        _, book = rulebook_at(connection, day)
        now = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)
        filing = Filing("tax-authority", "1", "not mine")
        opened = open_dispute(connection, ring, book, subject_id, filing, today=day, now=now)
    return (opened.dispute_id,)


def the_dispute(store: Store) -> tuple[str, ...]:
    """The walk's one dispute (decided by then): showing it reads, and writes nothing but its audit entry."""
    with store.begin() as connection:
        return (str(connection.execute(sa.select(sa.func.max(disputes.c.dispute_id))).scalar_one()),)


def a_failed_delivery(store: Store) -> tuple[str, ...]:
    """A webhook message Credo gave up on (the walk's receiver never answers; giving up takes days)."""
    now = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)
    with store.begin() as connection:
        ring = store.keys(connection)
        values = {
            "channel": "webhook", "party_kind": "relying", "party_id": "city-bank", "event_key": "e-1",
            "event_type": "decision.changed", "payload_enc": ring.encrypt(b"{}"), "state": "failed", "attempts": 9,
            "next_attempt_at": None, "last_error": "no answer", "created_at": now, "subject_id": None,
        }  # fmt: skip
        delivery_id = connection.execute(sa.insert(deliveries).values(values)).inserted_primary_key[0]
    return (str(delivery_id),)


def steps(tmp_path: Path) -> list[Step]:
    book = tmp_path / "book.yaml"
    book.write_text(BASE_YAML.replace('version: "2026.1"', 'version: "2026.1-walk"'), encoding="utf-8")
    records = write_records(
        tmp_path / "r.csv", [row("1"), row("2", amount="20000"), row("3", source="bank", category="traffic.violation")]
    )
    out, scores = tmp_path / "out", tmp_path / "scores.csv"
    return [
        Step(("init",)),
        Step(("rulebook", "check", str(book))),
        Step(("rulebook", "publish", str(book))),
        Step(("rulebook", "activate", "2026.1-walk")),
        Step(("rulebook", "list",)),
        Step(("source", "add", "tax-authority", "--category", "tax.*")),
        Step(("source", "allow", "tax-authority", "--category", "tax.*", "--category", "court.*")),
        Step(("source", "list",)),
        Step(("ingest", str(records))),
        Step(("quarantine", "list",)),
        Step(("source", "add", "bank", "--category", "traffic.*")),
        Step(("quarantine", "retry",)),
        Step(("score", PERSON)),
        Step(("explain", PERSON)),
        Step(("refresh",)),
        Step(("rescore",)),
        Step(("relying", "add", "city-bank", "--measure", "loan-fast-track")),
        Step(("relying", "list",)),
        Step(("token", "issue", "relying", "city-bank")),
        Step(("signin-link", "reviewer", "rita")),
        Step(("webhook", "allow-host", "127.0.0.1")),
        Step(("webhook", "set", "relying", "city-bank", "http://127.0.0.1:9/hook")),
        Step(("webhook", "rotate-secret", "relying", "city-bank")),
        Step(("webhook", "list",)),
        Step(("deliver",)),
        Step(("delivery", "list",)),
        Step(("delivery", "retry",), a_failed_delivery),
        Step(("webhook", "remove", "relying", "city-bank")),
        Step(("webhook", "disallow-host", "127.0.0.1")),
        Step(("dispute", "list",)),
        Step(("dispute", "decide", "--outcome", "upheld", "--reasons", "checked"), a_dispute),
        Step(("dispute", "show",), the_dispute),
        Step(("batch", "--records", str(records), "--rulebook", str(book), "--as-of", TODAY, "--out", str(scores))),
        Step(("explain", PERSON, "--records", str(records), "--rulebook", str(book), "--as-of", TODAY)),
        Step(("purge", "--dry-run")),
        Step(("purge",)),
        Step(("keys", "rotate")),
        Step(("relying", "disable", "city-bank")),
        Step(("source", "disable", "bank")),
        Step(("demo", "--people", "200", "--organizations", "20", "--out", str(out))),
        Step(("audit", "verify")),
    ]  # fmt: skip


def command_of(args: tuple[str, ...]) -> str:
    groups = {"rulebook", "source", "quarantine", "relying", "token", "webhook", "delivery", "dispute", "keys", "audit"}
    return "credo " + " ".join(args[:2] if args[0] in groups else args[:1])


def test_every_command_is_walked_or_exempt_with_a_reason(tmp_path: Path) -> None:
    walked = {command_of(step.args) for step in steps(tmp_path)}
    assert leaf_commands() - walked - set(EXEMPT) == set(), "walk the new command in steps(), or exempt it"
    assert walked <= leaf_commands()


def test_every_command_that_writes_appends_to_the_audit_trail(backend: Backend, tmp_path: Path) -> None:
    environ = {**backend.environ, "CREDO_TODAY": TODAY}
    runner = CliRunner()
    store = backend.open()
    unaudited = []
    try:
        for step in steps(tmp_path):
            args = step.args
            if step.setup is not None:
                extra = step.setup(store)
                args = (*args[:2], *extra, *args[2:])
            before = fingerprint(store) if args != ("init",) else None
            entries = audit_count(store) if before is not None else 0
            result = runner.invoke(app, ["--db", backend.url, *args], env=environ)
            assert result.exit_code == 0, (args, result.stdout, result.stderr, result.exception)
            if before is None:
                continue
            after = fingerprint(store)
            changed = sorted(name for name in after if after[name] != before[name])
            if changed and audit_count(store) == entries:
                unaudited.append((" ".join(args[:2]), changed))
        with store.begin() as connection:
            assert verify(connection).intact
    finally:
        store.engine.dispose()
    assert not unaudited, f"commands that wrote without an audit entry (command, tables changed): {unaudited}"
