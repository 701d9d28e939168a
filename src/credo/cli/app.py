"""The ``credo`` command line. Each command is a few lines over a service."""

from __future__ import annotations

from typing import Annotated

import typer

from credo.cli import (
    api_cmd,
    batch_cmd,
    delivery_cmd,
    demo_cmd,
    dispute_cmd,
    ingest_cmd,
    purge_cmd,
    rescore_cmd,
    rulebook_cmd,
    score_cmd,
    signin_cmd,
    source_cmd,
    store_cmd,
)
from credo.cli.errors import OneLineErrors

__all__ = ["app", "main"]

app = typer.Typer(
    name="credo",
    cls=OneLineErrors,  # every error as one line, here and nowhere else (cli/errors.py)
    help="Credo: published rules, explained scores, due process.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global_options(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="URL",
            help="The store: sqlite:///FILE or postgresql+psycopg://USER@HOST/DB "
            "(default: $CREDO_DB, else sqlite:///credo.db in the working directory).",
        ),
    ] = None,
) -> None:
    """Credo: published rules, explained scores, due process."""
    ctx.obj = {"db": db}


app.command("init")(store_cmd.init)
app.add_typer(source_cmd.app, name="source")
app.add_typer(rulebook_cmd.app, name="rulebook")
app.add_typer(store_cmd.keys_app, name="keys")
app.command("ingest")(ingest_cmd.ingest)
app.add_typer(ingest_cmd.quarantine_app, name="quarantine")
app.command("batch")(batch_cmd.batch)
app.command("explain")(batch_cmd.explain)
app.command("score")(score_cmd.score)
app.command("refresh")(score_cmd.refresh)
app.command("rescore")(rescore_cmd.rescore)
app.command("purge")(purge_cmd.purge_cmd)
app.command("demo")(demo_cmd.demo)
app.command("serve")(api_cmd.serve)
app.add_typer(api_cmd.token_app, name="token")
app.command("signin-link")(signin_cmd.signin_link)
app.add_typer(api_cmd.relying_app, name="relying")
app.add_typer(api_cmd.audit_app, name="audit")
app.add_typer(dispute_cmd.app, name="dispute")
app.command("deliver")(delivery_cmd.deliver)
app.add_typer(delivery_cmd.webhook_app, name="webhook")
app.add_typer(delivery_cmd.delivery_app, name="delivery")


def main() -> None:
    app()
