"""``--engine NAME``: any registered scoring engine, the same option for ``credo batch`` and ``credo rescore``."""

from __future__ import annotations

import typer

from credo import engines

DEFAULT_ENGINE = "duckdb"


def engine_option(what: str) -> str:
    """An ``--engine`` option whose help lists the registered engines (``what``: the command's use of it)."""
    listed = ", ".join(engines.names())
    return typer.Option(  # type: ignore[no-any-return]
        DEFAULT_ENGINE,
        "--engine",
        help=f"The scoring engine {what}: {listed}. python is the reference scorer: slow (thousands of records "
        "a second), for checks and small files; it cannot rescore a store.",
    )
