"""How commands reach the store: the global ``--db`` option, and who acts at the command line."""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer

from credo.services.actor import Actor
from credo.services.scores import Reader
from credo.store.bootstrap import Store, open_store

__all__ = ["cli_actor", "cli_operator", "cli_reader", "db_option", "open_from", "reads_personal_data"]

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
