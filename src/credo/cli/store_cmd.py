"""``credo init`` and ``credo keys rotate``: create the store and keep its keys."""

from __future__ import annotations

import typer

from credo.cli.console import out
from credo.cli.store_ctx import cli_operator, open_from
from credo.services import keys
from credo.store.bootstrap import init_store

keys_app = typer.Typer(help="Manage the keys that hash and encrypt identifiers.", no_args_is_help=True)


def init(ctx: typer.Context) -> None:
    """Create the database (or upgrade it to the newest schema) and its keys; safe to run again."""
    with open_from(ctx) as store:
        report = init_store(store)
    out.print(f"database {report.url}: schema up to date", markup=False, soft_wrap=True)
    made = "created" if report.created_keys else "found, and they fit this database"
    out.print(f"keys {report.key_source}: {made}", markup=False, soft_wrap=True)
    if report.created_keys:
        out.print("keep the key file safe and apart from database backups: without it no subject can be found")


@keys_app.command("rotate")
def rotate(ctx: typer.Context) -> None:
    """Make a new key version and re-hash and re-encrypt every identifier in one transaction; then drop the old keys."""
    with open_from(ctx) as store:
        report = keys.rotate(store, cli_operator())
    out.print(
        f"keys rotated from version {report.old_version} to {report.new_version}: "
        f"{report.subjects} subject(s) and {report.quarantined} quarantined row(s) re-encrypted; old keys removed",
        markup=False,
        soft_wrap=True,
    )
