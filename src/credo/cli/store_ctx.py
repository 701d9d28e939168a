"""How commands reach the store: the global ``--db`` option, the actor at the command line, the audit entry."""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from sqlalchemy import Connection

from credo.services.actor import Actor, operation
from credo.services.scores import Reader
from credo.store.audit import append
from credo.store.bootstrap import Store, open_store

__all__ = ["audit_cli", "cli_actor", "db_option", "open_from", "reads_personal_data", "store_errors"]

F = TypeVar("F", bound=Callable[..., Any])


def db_option(ctx: typer.Context) -> str | None:
    """The global ``--db`` option as given on the command line (None: not given)."""
    root = ctx.find_root().obj
    return root.get("db") if isinstance(root, dict) else None


@contextmanager
def open_from(ctx: typer.Context) -> Iterator[Store]:
    """The store the global ``--db`` option (or ``CREDO_DB``) names; its connections close at the end.

    A :class:`~credo.errors.StoreError` raised in the block (an inconsistent audit trail met by a write,
    say) goes on to the ``credo`` group, which prints it as one ``error:`` line (:mod:`credo.cli.errors`).
    """
    store = open_store(db_option(ctx))
    try:
        yield store
    finally:
        store.engine.dispose()


@contextmanager
def store_errors() -> Iterator[None]:
    """Nothing any more: the ``credo`` group prints every ``CredoError`` as one line (:mod:`credo.cli.errors`).

    Kept only while ``batch_cmd`` and ``rescore_cmd``, changed on other branches of issue 12, still use it;
    remove it with their last use.
    """
    yield


def cli_actor() -> str:
    """How the audit trail names a person at the command line: ``cli:`` and the OS user."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}"[:100]


def reads_personal_data(command: F) -> F:
    """Mark a command that shows personal data: every run that finds some appends an audit entry.

    tests/test_personal_reads.py walks every command so marked and fails on one that leaves no entry.
    """
    command.reads_personal_data = True  # type: ignore[attr-defined]
    return command


def cli_operator() -> Actor:
    """An operator at the command line, as the audit trail names them."""
    return Actor("operator", cli_actor())


def cli_reader() -> Reader:
    """An operator looking a subject up at the command line, as the audit trail names the read."""
    return Reader(cli_operator(), "command line lookup")


def audit_cli(connection: Connection, store: Store, action: str, detail: Mapping[str, Any]) -> None:
    """Append an operator's command-line action to the audit trail, in the command's transaction, last."""
    append(connection, [operation(cli_operator(), action, detail)], store.clock())
