"""The ``credo`` command line. Each command is a few lines over a service."""

from __future__ import annotations

import typer

from credo.cli import batch_cmd, demo_cmd, rulebook_cmd

__all__ = ["app", "main"]

app = typer.Typer(
    name="credo",
    help="Credo: published rules, explained scores, due process.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(rulebook_cmd.app, name="rulebook")
app.command("batch")(batch_cmd.batch)
app.command("explain")(batch_cmd.explain)
app.command("demo")(demo_cmd.demo)


def main() -> None:
    app()
