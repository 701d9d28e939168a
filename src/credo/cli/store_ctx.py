"""How commands reach the store: the global ``--db`` option, and store errors as one line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from credo.cli.console import fail
from credo.store.bootstrap import Store, open_store
from credo.store.errors import StoreError

__all__ = ["open_from", "store_errors"]


@contextmanager
def open_from(ctx: typer.Context) -> Iterator[Store]:
    """The store the global ``--db`` option (or ``CREDO_DB``) names; its connections close at the end."""
    db = ctx.find_root().obj.get("db") if isinstance(ctx.find_root().obj, dict) else None
    with store_errors():
        store = open_store(db)
    try:
        yield store
    finally:
        store.engine.dispose()


@contextmanager
def store_errors() -> Iterator[None]:
    """Turn a :class:`StoreError` into ``error: ...`` and exit 1; messages never hold identifiers."""
    try:
        yield
    except StoreError as exc:
        fail(str(exc))
